"""The designer page and its JSON save endpoint (the browser tests drive the canvas itself)."""

import json
import re

import pytest
from django.urls import reverse

from flows.models import Execution, Flow
from flows.tests.factories import end, make_flow, webhook
from flows.widgets import webhook_config
from phonon.lib.testing.http_server import Reply
from webhooks import endpoints
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def wire(**changes):
    flow = {
        "name": "Order status",
        "flow_end_webhook": True,
        "start": "w1",
        "widgets": [
            webhook("w1", "https://api.example.com/orders/$call.cli", ok="w2", failed="w3"),
            end("w2"),
            end("w3"),
        ],
        "layout": {"w1": {"x": 40, "y": 60}, "w2": {"x": 320, "y": 40}, "w3": {"x": 320, "y": 220}},
    }
    flow.update(changes)
    return flow


def post_json(client, url, data):
    return client.post(url, json.dumps(data), content_type="application/json")


def test_it_renders_the_designer_with_local_files_only(alice_client):
    response = alice_client.get(reverse("flows:designer-new"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "vendor/drawflow-0.0.60/drawflow.min.js" in page
    assert "vendor/jquery-3.8.0/jquery.min.js" in page
    assert "summernote/summernote-lite.min.js" in page
    assets = re.findall(r'<(?:script|link)\b[^>]*?(?:src|href)="([^"]+)"', page)
    assert assets and all(url.startswith("/static/") for url in assets), assets


def test_the_page_gives_the_script_the_lines_and_webhook_keys_validation_uses(alice_client):
    """designer.js keeps no copies: it reads these from the page's config JSON."""
    page = alice_client.get(reverse("flows:designer-new")).content.decode()
    config = json.loads(re.search(r'<script id="designer-config" type="application/json">(.*?)</script>', page)[1])

    assert config["lines"] == {"webhook": ["0", "1"], "assign": ["0"], "end": []}
    assert set(config["webhookKeys"]["internal"]) == {"mode", "function", "method", "parameters", "notes"}
    assert set(config["webhookKeys"]["custom"]) == set(webhook_config.DEFAULTS) | {"url"}


def test_it_creates_a_flow_with_its_layout(alice_client, acme):
    response = post_json(alice_client, reverse("flows:designer-new"), wire())
    assert response.status_code == 201, response.content
    flow = Flow.objects.get(pk=response.json()["id"])
    assert flow.account == acme
    assert flow.start == "w1"
    assert flow.flow_end_webhook is True
    assert flow.widgets[0]["next"] == {"0": "w2", "1": "w3"}
    assert flow.layout["w3"] == {"x": 320.0, "y": 220.0}
    assert response.json()["designer_url"] == reverse("flows:designer", args=[flow.pk])


def test_it_drops_layout_entries_of_unknown_widgets(alice_client):
    layout = {"w1": {"x": 1, "y": 2}, "ghost": {"x": 3, "y": 4}, "w2": {"x": "left", "y": 0}}
    response = post_json(alice_client, reverse("flows:designer-new"), wire(layout=layout))
    assert Flow.objects.get(pk=response.json()["id"]).layout == {"w1": {"x": 1.0, "y": 2.0}}


def test_it_answers_400_with_errors_by_dotted_path(alice_client):
    data = wire()
    data["widgets"][0]["config"]["timeout"] = 61
    response = post_json(alice_client, reverse("flows:designer-new"), data)
    assert response.status_code == 400
    assert "widgets.w1.config.timeout" in response.json()["errors"]
    assert not Flow.objects.exists()


def test_it_refuses_notes_over_1000_visible_characters(alice_client):
    data = wire()
    data["widgets"][0]["config"]["notes"] = "<p>" + "x" * 1001 + "</p>"
    response = post_json(alice_client, reverse("flows:designer-new"), data)
    assert response.json()["errors"]["widgets.w1.config.notes"] == ["Max 1000 characters are allowed"]


def test_it_keeps_a_password_left_blank(alice_client, acme):
    flow = make_flow(
        acme,
        webhook("w1", "https://api.example.com/", auth={"type": "basic", "username": "u", "password": "s3cret"}),
        end(),
    )
    stored = flow.widgets[0]["config"]["auth"]["password_encrypted"]
    page = alice_client.get(reverse("flows:designer", args=[flow.pk])).content.decode()
    assert "s3cret" not in page and stored not in page
    data = wire(
        start="w1", widgets=[webhook("w1", "https://api.example.com/", auth={"type": "basic", "username": "u"}), end()]
    )
    response = post_json(alice_client, reverse("flows:designer", args=[flow.pk]), data)
    assert response.status_code == 200, response.content
    flow.refresh_from_db()
    assert flow.widgets[0]["config"]["auth"]["password_encrypted"] == stored
    assert response.json()["flow"]["widgets"][0]["config"]["auth"]["password_set"] is True


def test_another_accounts_flow_is_404(alice_client, globex):
    flow = make_flow(globex)
    assert alice_client.get(reverse("flows:designer", args=[flow.pk])).status_code == 404
    assert post_json(alice_client, reverse("flows:designer", args=[flow.pk]), wire()).status_code == 404
    flow.refresh_from_db()
    assert flow.name == "Order status" and flow.layout == {}


def test_viewers_read_the_diagram_but_cannot_start_one_or_save(bob_client, acme):
    flow = make_flow(acme)
    page = bob_client.get(reverse("flows:designer", args=[flow.pk]))
    assert page.status_code == 200
    assert page.context["designer_config"]["readOnly"] is True
    assert page.context["designer_config"]["registeredWebhooks"] == []
    assert b'id="save-flow"' not in page.content
    assert bob_client.get(reverse("flows:designer-new")).status_code == 403
    assert post_json(bob_client, reverse("flows:designer", args=[flow.pk]), wire()).status_code == 403


def test_it_needs_the_csrf_token(alice):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(alice)
    assert post_json(csrf_client, reverse("flows:designer-new"), wire()).status_code == 403


def test_summernote_uploads_are_refused(client):
    assert client.post(reverse("django_summernote-upload_attachment")).status_code == 403


def test_the_url_field_offers_the_accounts_registered_webhooks(alice_client, acme, globex):
    Webhook.objects.create(account=acme, name="Orders API", url="https://api.example.com/orders/", method="GET")
    Webhook.objects.create(account=globex, name="Their CRM", url="https://crm.globex.example/hook")
    page = alice_client.get(reverse("flows:designer-new")).content.decode()
    assert 'list="registered-webhooks"' in page
    assert '<option value="https://api.example.com/orders/">Orders API (GET)</option>' in page
    assert "crm.globex.example" not in page


# --- the Test button's endpoint (flows.designer.WidgetTestView) ----------------------------

TEST_URL = reverse("flows:test-widget")


def post_test(client, body):
    return client.post(TEST_URL, json.dumps(body), content_type="application/json")


def test_the_designer_tests_a_widget_with_the_session(alice_client, loopback_allowed, server):
    server.reply("/order", Reply(body='{"order": {"status": "shipped"}}', headers={"Content-Type": "application/json"}))
    mappings = [{"save_in": "$flow.key.status", "path": "data.order.status", "mandatory": True}]
    config = {"url": server.url("/order"), "method": "GET", "mappings": mappings}

    response = post_test(alice_client, {"config": config, "widget": "w1"})

    assert response.status_code == 200, response.json()
    assert response.json()["mappings"][0]["value"] == "shipped"
    assert len(server.requests) == 1


def test_the_designer_gets_field_errors_keyed_as_when_saving(alice_client, acme):
    response = post_test(alice_client, {"config": {"url": "https://api.example.com/x", "timeout": 0}, "widget": "w4"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["widgets.w4.config.timeout"]


def test_a_viewer_cannot_test_a_widget_in_the_designer(bob_client, acme):
    assert post_test(bob_client, {"config": {"url": "https://api.example.com/x"}}).status_code == 403


def test_the_designer_is_told_when_to_test_again(alice_client, acme, settings):
    settings.WIDGET_TESTS_PER_MINUTE = 1
    quick = {
        "config": {
            "url": "https://api.example.com/x",
            "headers": [{"key": "X", "value": "$call.cli", "mandatory": True}],
        }
    }
    assert post_test(alice_client, quick).status_code == 200
    refused = post_test(alice_client, quick)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60


def test_another_accounts_flow_is_not_found_by_the_designers_test(alice_client, globex):
    theirs = make_flow(globex, webhook("w1", "https://api.example.com/x"), end())
    body = {"config": {"url": "https://api.example.com/x"}, "flow": theirs.pk, "widget": "w1"}
    assert post_test(alice_client, body).status_code == 404


def test_the_designer_page_prefills_test_values_from_the_last_execution(alice_client, acme):
    flow = make_flow(acme)
    Execution.queue(flow, call={"cli": "+15550142"}, user_keys={"lang": "en"})
    page = alice_client.get(reverse("flows:designer", args=[flow.pk]))
    samples = page.context["designer_config"]["sampleVariables"]
    assert samples == {"$call.cli": "+15550142", "$user.key.lang": "en"}


def designer_config(client) -> dict:
    page = client.get(reverse("flows:designer-new")).content.decode()
    return json.loads(re.search(r'<script id="designer-config" type="application/json">(.*?)</script>', page)[1])


def test_the_resilience_section_has_its_fields_and_what_each_costs_in_waiting(alice_client):
    page = alice_client.get(reverse("flows:designer-new")).content.decode()

    for bind in ("config.retries.count", "config.idempotency_key", "config.cache.ttl", "config.cache.key"):
        assert f'data-bind="{bind}"' in page
    assert page.count('data-bind-list="config.retries.on"') == len(webhook_config.RETRY_ON)
    assert "no request and no waiting" in page and "never waits longer than the timeout" in page
    assert designer_config(alice_client)["resilienceDefaults"]["retries"]["count"] == 0


def test_the_page_lists_open_circuits_of_this_account_only(alice_client, acme, globex, settings):
    for account, origin in ((acme, "https://down.example.com:443"), (globex, "https://theirs.example.com:443")):
        for _ in range(settings.CIRCUIT_FAILURES):
            endpoints.record_outcome(account.pk, origin, failed=True, probe=False)

    assert designer_config(alice_client)["openCircuits"] == ["https://down.example.com:443"]
