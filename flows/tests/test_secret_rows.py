"""Secret header and query-parameter rows (SPEC §6, issue 14.1): encrypted, write-only, masked."""

from __future__ import annotations

import json

from django.urls import reverse

from flows.models import Flow
from flows.tests.factories import end, make_flow, webhook
from flows.widgets.webhook import run_webhook_widget
from phonon.encryption import decrypt_secret
from phonon.lib.testing.http_server import Reply

FLOWS = "/api/v1/flows/"


def secret_flow_body(url="https://api.example.com/orders", value="k3y-123"):
    widget = webhook(
        "w1",
        url,
        headers=[{"key": "X-Api-Key", "value": value, "mandatory": True, "secret": True}],
        query_params=[{"key": "token", "value": "t0k-456", "secret": True}, {"key": "n", "value": "1"}],
    )
    return {"name": "Secret", "start": "w1", "widgets": [widget, end()]}


def test_a_secret_row_is_stored_encrypted_and_answered_as_stars(alice_api):
    created = alice_api.post(FLOWS, secret_flow_body(), format="json")

    assert created.status_code == 201, created.json()
    assert "k3y-123" not in created.content.decode() and "t0k-456" not in created.content.decode()
    stored = Flow.objects.get().widgets[0]["config"]
    assert "value" not in stored["headers"][0]
    assert decrypt_secret(stored["headers"][0]["value_encrypted"]) == "k3y-123"
    assert "k3y-123" not in json.dumps(stored)
    shown = alice_api.get(f"{FLOWS}{created.json()['id']}/").json()["widgets"][0]["config"]
    assert shown["headers"] == [{"key": "X-Api-Key", "value": "***", "mandatory": True, "secret": True}]
    assert shown["query_params"][1] == {"key": "n", "value": "1", "mandatory": False, "secret": False}


def test_stars_or_a_blank_keep_the_stored_value_and_a_new_value_replaces_it(alice_api):
    flow_id = alice_api.post(FLOWS, secret_flow_body(), format="json").json()["id"]
    shown = alice_api.get(f"{FLOWS}{flow_id}/").json()
    shown["widgets"][0]["config"]["query_params"][0]["value"] = ""

    assert alice_api.put(f"{FLOWS}{flow_id}/", shown, format="json").status_code == 200
    config = Flow.objects.get().widgets[0]["config"]
    assert decrypt_secret(config["headers"][0]["value_encrypted"]) == "k3y-123"
    assert decrypt_secret(config["query_params"][0]["value_encrypted"]) == "t0k-456"

    shown["widgets"][0]["config"]["headers"][0]["value"] = "new-key"
    alice_api.put(f"{FLOWS}{flow_id}/", shown, format="json")
    assert decrypt_secret(Flow.objects.get().widgets[0]["config"]["headers"][0]["value_encrypted"]) == "new-key"


def test_stars_for_a_secret_row_with_nothing_stored_are_refused(alice_api):
    """A renamed secret row still showing "***" must not silently become an empty secret."""
    flow_id = alice_api.post(FLOWS, secret_flow_body(), format="json").json()["id"]
    shown = alice_api.get(f"{FLOWS}{flow_id}/").json()
    shown["widgets"][0]["config"]["headers"][0]["key"] = "X-Renamed"

    refused = alice_api.put(f"{FLOWS}{flow_id}/", shown, format="json")

    assert refused.status_code == 400
    assert refused.json() == {
        "widgets.w1.config.headers.0.value": [
            "Widget w1: the value \"***\" of header 'X-Renamed' stands for a stored one and no stored header has "
            "that name; type it, or leave it blank for none."
        ]
    }


def test_viewers_never_see_a_secret_on_the_flow_page(bob_client, acme):
    flow = make_flow(acme, *secret_flow_body()["widgets"])
    page = bob_client.get(reverse("flows:detail", args=[flow.pk])).content.decode()
    assert "X-Api-Key" in page
    assert "k3y-123" not in page and "t0k-456" not in page


def test_a_call_sends_the_secret_and_its_step_masks_it(loopback_allowed, server):
    server.reply("/orders", Reply(body="{}", headers={"Content-Type": "application/json"}))
    flow = make_flow(loopback_allowed, *secret_flow_body(server.url("/orders"))["widgets"])

    outcome = run_webhook_widget(flow.widgets[0]["config"], {}, account=loopback_allowed)

    received = server.requests[0]
    assert received.headers["X-Api-Key"] == "k3y-123" and "token=t0k-456" in received.path
    assert outcome.step["request_headers"]["X-Api-Key"] == "***"
    assert outcome.step["url"].endswith("?token=***&n=1")
    assert "k3y-123" not in json.dumps(outcome.step) and "t0k-456" not in json.dumps(outcome.step)


def test_the_designer_page_holds_no_secret(alice_client, acme):
    flow = make_flow(acme, *secret_flow_body()["widgets"])
    page = alice_client.get(reverse("flows:designer", args=[flow.pk])).content.decode()
    assert "k3y-123" not in page and "t0k-456" not in page
    assert '"secret": true' in page and '"secret": false' in page  # every row says which it is (SPEC §6)
