"""A webhook widget's basic-auth password (SPEC §6): write-only, answered as "***", and "***" sent back keeps it."""

from __future__ import annotations

import base64
import json

from django.urls import reverse

from flows.models import Flow
from flows.tests.factories import end, webhook
from flows.widgets.webhook import run_webhook_widget
from phonon.encryption import decrypt_secret
from phonon.lib.testing.http_server import Reply

FLOWS = "/api/v1/flows/"
PASSWORD = "pa55-w0rd"


def flow_body(url="https://api.example.com/orders", **auth):
    widget = webhook("w1", url, auth={"type": "basic", "username": "u1", **auth})
    return {"name": "Basic", "start": "w1", "widgets": [widget, end()]}


def stored_password(flow_id: int) -> str | None:
    encrypted = Flow.objects.get(pk=flow_id).widgets[0]["config"]["auth"].get("password_encrypted")
    return decrypt_secret(encrypted) if encrypted else None


def shown_auth(answer) -> dict:
    return answer.json()["widgets"][0]["config"]["auth"]


def test_a_stored_password_is_answered_as_stars(alice_api):
    created = alice_api.post(FLOWS, flow_body(password=PASSWORD), format="json")
    without = alice_api.post(FLOWS, flow_body(), format="json")

    assert created.status_code == 201, created.json()
    assert shown_auth(created) == {"type": "basic", "username": "u1", "password": "***", "password_set": True}
    assert shown_auth(alice_api.get(f"{FLOWS}{without.json()['id']}/")) == {
        "type": "basic",
        "username": "u1",
        "password": "",
        "password_set": False,
    }
    assert PASSWORD not in created.content.decode()


def test_stars_patched_back_keep_the_password_a_call_sends(alice_api, loopback_allowed, server):
    server.reply("/orders", Reply(body="{}", headers={"Content-Type": "application/json"}))
    flow_id = alice_api.post(FLOWS, flow_body(server.url("/orders"), password=PASSWORD), format="json").json()["id"]

    patched = alice_api.patch(f"{FLOWS}{flow_id}/", flow_body(server.url("/orders"), password="***"), format="json")

    assert patched.status_code == 200, patched.json()
    assert stored_password(flow_id) == PASSWORD
    outcome = run_webhook_widget(Flow.objects.get(pk=flow_id).widgets[0]["config"], {}, account=loopback_allowed)
    sent = server.requests[0].headers["Authorization"]
    assert sent == "Basic " + base64.b64encode(f"u1:{PASSWORD}".encode()).decode()
    assert PASSWORD not in json.dumps(outcome.step) and sent not in json.dumps(outcome.step)


def test_stars_for_a_widget_without_a_stored_password_are_refused(alice_api):
    new = alice_api.post(FLOWS, flow_body(password="***"), format="json")
    flow_id = alice_api.post(FLOWS, flow_body(), format="json").json()["id"]
    existing = alice_api.put(f"{FLOWS}{flow_id}/", flow_body(password="***"), format="json")

    for refused in (new, existing):
        assert refused.status_code == 400
        assert refused.json() == {
            "widgets.w1.config.auth.password": [
                'Widget w1: the password "***" stands for a stored one and this widget has none; '
                "type it, or leave it blank for none."
            ]
        }
    assert stored_password(flow_id) is None


def test_a_get_put_round_trip_keeps_the_password_and_changes_nothing(alice_api):
    flow_id = alice_api.post(FLOWS, flow_body(password=PASSWORD), format="json").json()["id"]
    shown = alice_api.get(f"{FLOWS}{flow_id}/").json()

    again = alice_api.put(f"{FLOWS}{flow_id}/", shown, format="json")

    assert again.status_code == 200, again.json()
    assert shown_auth(again)["password"] == "***"
    assert stored_password(flow_id) == PASSWORD
    history = alice_api.get(f"{FLOWS}{flow_id}/revisions/").json()
    assert history[0]["number"] == 2 and history[0]["changes"]["changed"] == {}


def test_a_changed_password_shows_in_the_revision_diff_as_stars_only(alice_api):
    flow_id = alice_api.post(FLOWS, flow_body(password=PASSWORD), format="json").json()["id"]
    alice_api.patch(f"{FLOWS}{flow_id}/", flow_body(password="n3w-secret"), format="json")

    diff = alice_api.get(f"{FLOWS}{flow_id}/revisions/2/")

    assert diff.json()["widgets"]["w1"] == [{"path": "config.auth.password_encrypted", "old": "***", "new": "***"}]
    assert PASSWORD not in diff.content.decode() and "n3w-secret" not in diff.content.decode()


def test_the_designer_shows_stars_and_keeps_the_password_they_stand_for(alice_client, alice_api):
    flow_id = alice_api.post(FLOWS, flow_body(password=PASSWORD), format="json").json()["id"]
    encrypted = Flow.objects.get(pk=flow_id).widgets[0]["config"]["auth"]["password_encrypted"]
    designer = reverse("flows:designer", args=[flow_id])

    page = alice_client.get(designer).content.decode()
    saved = alice_client.post(designer, json.dumps(flow_body(password="***")), content_type="application/json")

    assert PASSWORD not in page and encrypted not in page
    assert '"password": "***"' in page
    assert saved.status_code == 200, saved.json()
    assert saved.json()["flow"]["widgets"][0]["config"]["auth"]["password"] == "***"
    assert stored_password(flow_id) == PASSWORD
