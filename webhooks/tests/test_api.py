"""/api/v1/webhooks/ and the check button over the API, end to end through the real outbound client."""

import pytest
from django.db import connection
from django.urls import reverse

from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook
from webhooks.tests.factories import make_webhook

LIST = "/api/v1/webhooks/"


def detail(webhook) -> str:
    return reverse("webhook-detail", kwargs={"pk": webhook.pk})


@pytest.fixture
def reachable_url(https_server) -> str:
    https_server.reply("/hook", Reply(status=200))
    return https_server.url("/hook")


def test_it_creates_a_webhook_whose_url_checks_green(alice_api, acme, reachable_url, https_server):
    response = alice_api.post(LIST, {"name": "Orders", "url": reachable_url}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["method"] == "POST"
    assert body["auth_type"] == "none" and body["body_type"] == "none"
    assert body["signing_secret"].startswith("whsec_")
    assert "password" not in body
    assert Webhook.objects.get(pk=body["id"]).account == acme
    assert https_server.requests_to("/hook"), "the server-side probe reached the endpoint"


def test_it_refuses_to_save_an_unreachable_url_without_http_support(alice_api, https_server):
    https_server.stop()  # nothing listens on the port any more
    response = alice_api.post(LIST, {"name": "Down", "url": https_server.url("/hook")}, format="json")
    assert response.status_code == 400
    message = response.json()["url"][0]
    assert "check did not pass" in message and ".)" not in message  # the reason's full stop is not doubled
    assert not Webhook.objects.exists()


def test_it_refuses_http_without_http_support(alice_api, server, loopback_network_allowed):
    server.reply("/hook", Reply(status=200))
    response = alice_api.post(LIST, {"name": "Plain", "url": server.url("/hook")}, format="json")
    assert response.status_code == 400
    assert "http://" in response.json()["url"][0]


def test_it_allows_http_with_http_support(alice_api, acme_with_http, server, loopback_network_allowed):
    response = alice_api.post(LIST, {"name": "Plain", "url": server.url("/hook")}, format="json")
    assert response.status_code == 201, response.json()


def test_the_policy_still_applies_with_http_support(alice_api, acme_with_http):
    response = alice_api.post(LIST, {"name": "Metadata", "url": "http://169.254.169.254/latest/"}, format="json")
    assert response.status_code == 400
    assert "link-local" in response.json()["url"][0]


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "FETCH", ""])
def test_it_refuses_a_method_outside_the_seven(alice_api, acme_with_http, method):
    response = alice_api.post(LIST, {"name": "X", "url": "https://93.184.215.14/", "method": method}, format="json")
    assert response.status_code == 400
    assert "GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD" in response.json()["method"][0]


def test_it_lists_only_the_tokens_account(alice_api, acme, globex):
    mine = make_webhook(acme)
    make_webhook(globex)
    results = alice_api.get(LIST).json()["results"]
    assert [row["id"] for row in results] == [mine.pk]


def test_another_accounts_webhook_is_404_everywhere(alice_api, globex):
    theirs = make_webhook(globex)
    for call in (alice_api.get, alice_api.put, alice_api.patch, alice_api.delete):
        assert call(detail(theirs), {"name": "mine now"}, format="json").status_code == 404
    rotate = reverse("webhook-rotate-secret", kwargs={"pk": theirs.pk})
    assert alice_api.post(rotate).status_code == 404
    assert Webhook.objects.get(pk=theirs.pk).name != "mine now"


def test_viewers_read_but_cannot_write(bob_api, acme):
    webhook = make_webhook(acme)
    assert bob_api.get(detail(webhook)).status_code == 200
    assert bob_api.post(LIST, {"name": "x", "url": "https://example.com"}, format="json").status_code == 403
    assert bob_api.patch(detail(webhook), {"name": "x"}, format="json").status_code == 403
    assert bob_api.delete(detail(webhook)).status_code == 403
    assert bob_api.post(reverse("webhook-rotate-secret", kwargs={"pk": webhook.pk})).status_code == 403


def test_viewers_do_not_see_the_signing_secret(bob_api, alice_api, acme):
    webhook = make_webhook(acme)
    assert bob_api.get(detail(webhook)).json()["signing_secret"] is None
    assert alice_api.get(detail(webhook)).json()["signing_secret"] == webhook.signing_secret


def test_setting_a_default_moves_the_mark(alice_api, acme):
    first = make_webhook(acme, is_default=True)
    second = make_webhook(acme)
    response = alice_api.patch(detail(second), {"is_default": True}, format="json")
    assert response.status_code == 200, response.json()
    assert list(Webhook.objects.filter(is_default=True).values_list("pk", flat=True)) == [second.pk]
    assert alice_api.get(detail(first)).json()["is_default"] is False


def test_the_password_is_write_only_and_encrypted_at_rest(alice_api, acme):
    webhook = make_webhook(acme)
    secret = "s3cret-p4ss-word"
    response = alice_api.patch(
        detail(webhook), {"auth_type": "basic", "username": "ops", "password": secret}, format="json"
    )
    assert response.status_code == 200, response.json()
    for answer in (response, alice_api.get(detail(webhook)), alice_api.get(LIST)):
        assert secret not in answer.content.decode()
    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM webhooks_webhook WHERE id = %s", [webhook.pk])
        (raw,) = cursor.fetchone()
    assert raw and secret not in raw
    assert Webhook.objects.get(pk=webhook.pk).password == secret


def test_a_blank_password_keeps_the_stored_one(alice_api, acme):
    webhook = make_webhook(acme, auth_type="basic", username="ops", password="kept")
    response = alice_api.put(
        detail(webhook),
        {"name": webhook.name, "url": webhook.url, "auth_type": "basic", "username": "ops2", "password": ""},
        format="json",
    )
    assert response.status_code == 200, response.json()
    webhook.refresh_from_db()
    assert (webhook.username, webhook.password) == ("ops2", "kept")


def test_basic_auth_needs_a_username(alice_api, acme):
    webhook = make_webhook(acme)
    response = alice_api.patch(detail(webhook), {"auth_type": "basic", "password": "x"}, format="json")
    assert response.status_code == 400
    assert "username" in response.json()["username"][0]


def test_notes_are_sanitised_and_limited(alice_api, acme):
    webhook = make_webhook(acme)
    response = alice_api.patch(detail(webhook), {"notes": "<b>Hi</b><script>alert(1)</script>"}, format="json")
    assert response.json()["notes"] == "<b>Hi</b>"
    response = alice_api.patch(detail(webhook), {"notes": "x" * 1001}, format="json")
    assert response.status_code == 400
    assert response.json() == {"notes": ["Max 1000 characters are allowed"]}


def test_rotating_the_secret_replaces_it(alice_api, acme):
    webhook = make_webhook(acme)
    response = alice_api.post(reverse("webhook-rotate-secret", kwargs={"pk": webhook.pk}))
    assert response.status_code == 200
    assert response.json()["signing_secret"].startswith("whsec_")
    assert response.json()["signing_secret"] != webhook.signing_secret


def test_rotating_takes_no_fields(alice_api, acme):
    """`{"overlap_hours": 0}` ignored would look like a rotation without overlap."""
    webhook = make_webhook(acme)

    response = alice_api.post(reverse("webhook-rotate-secret", kwargs={"pk": webhook.pk}), {"overlap_hours": 0})

    assert response.status_code == 400
    assert response.json() == {"overlap_hours": ["Unknown field. This action takes no fields: send {} or no body."]}
    assert Webhook.objects.get(pk=webhook.pk).signing_secret == webhook.signing_secret


def test_check_answers_ok_for_a_reachable_url(alice_api, reachable_url):
    response = alice_api.post(f"{LIST}check/", {"url": reachable_url}, format="json")
    assert response.json() == {"ok": True, "reason": "The URL is reachable.", "status_code": 200}


def test_check_counts_any_http_answer_as_reachable_but_warns_of_an_error_naming_its_code(alice_api, https_server):
    https_server.reply("/broken", Reply(status=500))
    https_server.reply("/missing", Reply(status=404))

    broken = alice_api.post(f"{LIST}check/", {"url": https_server.url("/broken")}, format="json").json()
    missing = alice_api.post(f"{LIST}check/", {"url": https_server.url("/missing")}, format="json").json()

    assert (broken["ok"], broken["status_code"]) == (True, 500)
    assert broken["warning"].startswith("The URL answered 500 Internal Server Error, a server error")
    assert (missing["ok"], missing["status_code"]) == (True, 404)
    assert missing["warning"].startswith("The URL answered 404 Not Found, a client error")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("https://127.0.0.1/", "loopback"),
        ("https://10.0.0.1/", "private"),
        ("https://[::ffff:127.0.0.1]/", "IPv4-mapped"),
        ("https://2130706433/", "unusual spelling"),
        ("ftp://example.com/", "scheme"),
        ("https://nowhere.test/", "could not be found"),
        ("https://internal.test/", "resolves to 192.168.1.1"),
        ("", "empty"),
    ],
)
def test_check_says_exactly_what_failed(alice_api, fake_dns, url, words):
    fake_dns["internal.test"] = ["192.168.1.1"]
    body = alice_api.post(f"{LIST}check/", {"url": url}, format="json").json()
    assert body["ok"] is False
    assert words in body["reason"]


def test_check_reports_a_refused_connection(alice_api, https_server):
    url = https_server.url("/")
    https_server.stop()
    body = alice_api.post(f"{LIST}check/", {"url": url}, format="json").json()
    assert body["ok"] is False and body["reason"]


def test_it_refuses_a_url_with_a_password_in_it(alice_api, acme_with_http, server, loopback_network_allowed):
    """A password in the URL would be shown to viewers, in lists and in the admin; basic auth keeps it secret."""
    server.reply("/hook", Reply(status=200))
    url = server.url("/hook").replace("://", "://alice:s3cret-pw@")
    response = alice_api.post(LIST, {"name": "Leaky", "url": url}, format="json")
    assert response.status_code == 400
    assert "user name or password" in response.json()["url"][0]
    assert not Webhook.objects.exists()


def test_a_misspelt_field_is_refused_instead_of_silently_dropped(alice_api, acme):
    webhook = make_webhook(acme)

    response = alice_api.patch(detail(webhook), {"pasword": "s3cret"}, format="json")

    assert response.status_code == 400
    assert response.json()["pasword"][0].startswith("Unknown field. Send only: name, url, method, auth_type,")


def test_what_get_answers_can_be_put_back(alice_api, acme):
    webhook = make_webhook(acme)
    shown = alice_api.get(detail(webhook)).json()

    response = alice_api.put(detail(webhook), shown, format="json")

    assert response.status_code == 200, response.json()
