"""The Advanced → Webhook page, as a signed-in user."""

import json
import re

import pytest
from django.urls import reverse

from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook
from webhooks.tests.factories import CROSS_ACCOUNT_FACTORIES, make_webhook


def form_data(**overrides) -> dict:
    return {
        "name": "Orders",
        "method": "POST",
        "url": "https://93.184.215.14/hook",
        "auth_type": "none",
        "username": "",
        "password": "",
        "body_type": "none",
        "notes": "",
    } | overrides


def test_the_list_marks_the_default(alice_client, acme):
    make_webhook(acme, name="Receiver", is_default=True)
    make_webhook(acme, name="Other")
    page = alice_client.get(reverse("webhooks:list")).content.decode()
    assert "Receiver" in page and "Other" in page
    assert page.count("✓ Default") == 1
    assert page.count("Set as default") == 1


def test_the_empty_list_says_what_to_do(alice_client):
    assert "Add your first webhook" in alice_client.get(reverse("webhooks:list")).content.decode()


def test_the_add_form_defaults_to_post(alice_client):
    page = alice_client.get(reverse("webhooks:add")).content.decode()
    assert '<option value="POST" selected>' in page
    assert 'id="check-url"' in page


def test_it_adds_a_webhook_whose_url_checks_green(alice_client, acme, https_server):
    https_server.reply("/hook", Reply(status=204))
    response = alice_client.post(reverse("webhooks:add"), form_data(url=https_server.url("/hook"), is_default="on"))
    assert response.status_code == 302
    webhook = Webhook.objects.get(account=acme)
    assert webhook.is_default and webhook.method == "POST"


def test_save_is_refused_without_a_green_check_and_keeps_what_was_typed(alice_client, https_server):
    url = https_server.url("/hook")
    https_server.stop()
    response = alice_client.post(reverse("webhooks:add"), form_data(name="Typed name", url=url, notes="my notes"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "the check did not pass" in page
    assert 'value="Typed name"' in page and f'value="{url}"' in page and "my notes" in page
    assert not Webhook.objects.exists()


def test_http_is_refused_without_http_support(alice_client, loopback_network_allowed, server):
    response = alice_client.post(reverse("webhooks:add"), form_data(url=server.url("/")))
    assert response.status_code == 400
    assert "Plain http:// is not allowed" in response.content.decode()


def test_http_is_allowed_with_http_support(alice_client, acme_with_http, loopback_network_allowed, server):
    response = alice_client.post(reverse("webhooks:add"), form_data(url=server.url("/")))
    assert response.status_code == 302
    assert Webhook.objects.get().url == server.url("/")


def test_a_method_outside_the_seven_is_refused(alice_client):
    response = alice_client.post(reverse("webhooks:add"), form_data(method="TRACE"))
    assert response.status_code == 400
    assert "Method: &#x27;TRACE&#x27; is not allowed" in response.content.decode()


def test_the_password_is_never_rendered(alice_client, acme):
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="never-shown-1")
    page = alice_client.get(reverse("webhooks:edit", args=[webhook.pk])).content.decode()
    assert "never-shown-1" not in page
    assert "A password is stored" in page
    # Not even the one just typed, when another field fails.
    response = alice_client.post(
        reverse("webhooks:edit", args=[webhook.pk]),
        form_data(name="", url=webhook.url, auth_type="basic", username="ops", password="typed-secret-2"),
    )
    assert response.status_code == 400
    assert "typed-secret-2" not in response.content.decode()


def test_editing_with_a_blank_password_keeps_it(alice_client, acme):
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="kept")
    response = alice_client.post(
        reverse("webhooks:edit", args=[webhook.pk]),
        form_data(name="Renamed", url=webhook.url, auth_type="basic", username="ops"),
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert (webhook.name, webhook.password) == ("Renamed", "kept")


def notes_panel(page: str) -> str:
    """The notes panel of a rendered webhook form, from its <details> to its end."""
    start = page.index('<details class="panel notes-panel"')
    return page[start : page.index("</details>", start)]


def test_the_edit_page_puts_the_notes_in_the_summernote_editor(alice_client, acme):
    webhook = make_webhook(acme, notes="<p>Call <b>us</b></p>")
    page = alice_client.get(reverse("webhooks:edit", args=[webhook.pk])).content.decode()
    head = page[: page.index("</head>")]
    # jQuery, then Summernote, then the shared counter, all local and in <head>: the widget's
    # set-up script runs where the field is rendered.
    scripts = ["vendor/jquery-3.8.0/jquery.min.js", "summernote/summernote-lite.min.js", "notes/notes_editor.js"]
    positions = [head.index(script) for script in scripts]
    assert positions == sorted(positions)
    panel = notes_panel(page)
    # The textarea only carries the value for Summernote (hidden); the editor is built from it.
    assert re.search(r'<textarea name="notes"[^>]*hidden[^>]*>\s*&lt;p&gt;Call &lt;b&gt;us', panel)
    assert "initSummernote_id_notes();" in panel
    settings = json.loads(re.search(r"var settings = (\{.*\});", panel).group(1))
    toolbar_buttons = {button for _group, buttons in settings["toolbar"] for button in buttons}
    assert "bold" in toolbar_buttons and not toolbar_buttons & {"picture", "video"}
    assert 'data-notes-count-for="id_notes" data-max="1000">7 / 1000<' in panel


def test_notes_over_1000_visible_characters_are_refused_beside_the_notes_field(alice_client, acme):
    webhook = make_webhook(acme, notes="<p>kept</p>")
    response = alice_client.post(
        reverse("webhooks:edit", args=[webhook.pk]), form_data(url=webhook.url, notes="<p>" + "x" * 1001 + "</p>")
    )
    assert response.status_code == 400
    assert response.context["form"].errors == {"notes": ["Max 1000 characters are allowed"]}
    panel = notes_panel(response.content.decode())
    assert panel.startswith('<details class="panel notes-panel" id="notes-panel" open>')
    assert "<li>Max 1000 characters are allowed</li>" in panel
    assert "1001 / 1000" in panel
    webhook.refresh_from_db()
    assert webhook.notes == "<p>kept</p>"


def test_the_signing_secret_is_on_the_webhook_page_and_rotates(alice_client, acme):
    webhook = make_webhook(acme)
    old = webhook.signing_secret
    assert old in alice_client.get(reverse("webhooks:edit", args=[webhook.pk])).content.decode()
    alice_client.post(reverse("webhooks:rotate-secret", args=[webhook.pk]))
    webhook.refresh_from_db()
    assert webhook.signing_secret != old and webhook.signing_secret.startswith("whsec_")


def test_set_as_default_moves_the_mark(alice_client, acme):
    first = make_webhook(acme, is_default=True)
    second = make_webhook(acme)
    alice_client.post(reverse("webhooks:set-default", args=[second.pk]))
    assert list(Webhook.objects.filter(is_default=True)) == [second]
    first.refresh_from_db()
    assert not first.is_default


def test_delete_asks_for_confirmation(alice_client, acme):
    webhook = make_webhook(acme, name="Doomed")
    page = alice_client.get(reverse("webhooks:delete", args=[webhook.pk])).content.decode()
    assert "Delete webhook “Doomed”?" in page
    assert Webhook.objects.exists()
    alice_client.post(reverse("webhooks:delete", args=[webhook.pk]))
    assert not Webhook.objects.exists()


def test_the_check_button_answers_json(alice_client, https_server, fake_dns):
    https_server.reply("/ok", Reply(status=200))
    assert alice_client.post(reverse("webhooks:check"), {"url": https_server.url("/ok")}).json() == {
        "ok": True,
        "reason": "The URL is reachable.",
    }
    answer = alice_client.post(reverse("webhooks:check"), {"url": "https://10.1.2.3/"}).json()
    assert answer["ok"] is False and "private address" in answer["reason"]


def test_viewers_see_the_list_but_cannot_write(bob_client, acme):
    webhook = make_webhook(acme)
    assert bob_client.get(reverse("webhooks:list")).status_code == 200
    assert "Add webhook" not in bob_client.get(reverse("webhooks:list")).content.decode()
    assert bob_client.get(reverse("webhooks:add")).status_code == 403
    assert bob_client.post(reverse("webhooks:add"), form_data()).status_code == 403
    assert bob_client.get(reverse("webhooks:edit", args=[webhook.pk])).status_code == 403
    for name in ("webhooks:delete", "webhooks:set-default", "webhooks:rotate-secret"):
        assert bob_client.post(reverse(name, args=[webhook.pk])).status_code == 403
    assert bob_client.post(reverse("webhooks:check"), {"url": "https://example.com"}).status_code == 403
    assert Webhook.objects.get(pk=webhook.pk).signing_secret == webhook.signing_secret


def test_viewers_open_a_webhook_from_the_list_read_only(bob_client, acme):
    webhook = make_webhook(
        acme, name="Billing", method="PUT", auth_type="basic", username="ops", password="never-shown-3",
        notes="<p>Call <b>us</b></p>", is_default=True,
    )  # fmt: skip
    detail_url = reverse("webhooks:detail", args=[webhook.pk])
    assert f'href="{detail_url}"' in bob_client.get(reverse("webhooks:list")).content.decode()
    page = bob_client.get(detail_url).content.decode()
    for shown in ("Billing", "<code>PUT</code>", webhook.url, "Basic", "ops", "✓ Default", "<p>Call <b>us</b></p>"):
        assert shown in page
    assert "never-shown-3" not in page and "stored, never shown" in page
    assert webhook.signing_secret not in page and "Rotate secret" not in page
    assert reverse("webhooks:edit", args=[webhook.pk]) not in page


def test_owners_see_the_signing_secret_and_an_edit_link_on_the_view_page(alice_client, acme):
    webhook = make_webhook(acme)
    page = alice_client.get(reverse("webhooks:detail", args=[webhook.pk])).content.decode()
    assert f'<code id="signing-secret">{webhook.signing_secret}</code>' in page
    assert f'href="{reverse("webhooks:edit", args=[webhook.pk])}"' in page
    # The list keeps sending owners and developers to the edit page.
    edit_link = f'<a href="{reverse("webhooks:edit", args=[webhook.pk])}">'
    assert edit_link in alice_client.get(reverse("webhooks:list")).content.decode()


def test_the_view_page_renders_only_sanitised_notes(bob_client, acme):
    webhook = make_webhook(acme)
    # A row written around the rules (e.g. before they existed): the page cleans it again.
    Webhook.objects.filter(pk=webhook.pk).update(notes='<p onclick="steal()">Hi<script>alert(1)</script></p>')
    page = bob_client.get(reverse("webhooks:detail", args=[webhook.pk])).content.decode()
    assert "<p>Hi</p>" in page
    assert "steal()" not in page and "alert(1)" not in page


def test_the_view_page_is_read_only(alice_client, acme):
    webhook = make_webhook(acme, name="Kept")
    response = alice_client.post(reverse("webhooks:detail", args=[webhook.pk]), form_data(name="Changed"))
    assert response.status_code == 405
    assert Webhook.objects.get(pk=webhook.pk).name == "Kept"


@pytest.mark.parametrize("route", sorted(name for name in CROSS_ACCOUNT_FACTORIES if name.startswith("webhooks:")))
def test_another_accounts_objects_are_404_on_the_site(alice_client, globex, route):
    theirs = CROSS_ACCOUNT_FACTORIES[route](globex)
    url = reverse(route, args=[theirs.pk])
    assert alice_client.get(url).status_code == 404
    assert alice_client.post(url, form_data()).status_code == 404
    assert type(theirs).objects.filter(pk=theirs.pk).exists()
