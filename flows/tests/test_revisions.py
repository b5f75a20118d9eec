"""Revisions, test cases and the publish gate (SPEC §14) over the API, with real executions."""

from __future__ import annotations

import pytest

from accounts.models import AuditEntry
from flows.models import Execution, FlowRevision, FlowTestCase
from flows.revisions import save_revision
from flows.tests.factories import assign, end, make_flow, queue_execution, webhook
from flows.validation import validate_flow
from flows.worker import Worker
from phonon.lib.testing.http_server import Reply

FLOWS = "/api/v1/flows/"
ORDER = {"Content-Type": "application/json"}
MAPPINGS = [{"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": True}]


def greeting(word: str = "hello") -> dict:
    return {
        "name": "Greeting",
        "flow_end_webhook": False,
        "start": "a1",
        "widgets": [assign("a1", greeting=f"{word} $call.cli"), end()],
    }


def run_next() -> Execution:
    execution = Execution.objects.order_by("created_at").filter(status="queued").first()
    assert Worker(worker_id="test-worker").run_one_execution(probe_first=False)
    execution.refresh_from_db()
    return execution


def order_flow_body(url: str, mappings=MAPPINGS) -> dict:
    return {
        "name": "Orders",
        "flow_end_webhook": False,
        "start": "w1",
        "widgets": [
            webhook("w1", url, ok="ok", failed="sorry", mappings=mappings),
            assign("ok", said="status $flow.key.order_status"),
            assign("sorry", said="could not ask"),
            end(),
        ],
    }


@pytest.fixture
def orders(loopback_allowed, server):
    server.reply("/orders", Reply(body='{"order": {"status": "shipped"}}', headers=ORDER))
    return server


# --- numbering and which revision a call runs ---------------------------------------------------


def test_creating_a_flow_makes_revision_1_published(alice_api, alice):
    response = alice_api.post(FLOWS, greeting(), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["revision"] == 1 and response.json()["published_revision"] == 1
    revision = FlowRevision.objects.get()
    assert (revision.number, revision.created_by, revision.changes["added"]) == (1, alice, ["a1", "end"])


def test_put_makes_a_draft_that_calls_do_not_run_until_published(alice_api, acme):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]

    response = alice_api.put(f"{FLOWS}{flow_id}/", greeting("goodbye"), format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["revision"], response.json()["published_revision"]) == (2, 1)
    alice_api.post("/api/v1/executions/", {"flow": flow_id, "call": {"cli": "+1555"}}, format="json")
    execution = run_next()
    assert execution.variables["$flow.key.greeting"] == "hello +1555"
    assert execution.revision.number == 1

    published = alice_api.post(f"{FLOWS}{flow_id}/publish/", {}, format="json")
    assert published.status_code == 200, published.json()
    assert published.json() == {"published_revision": 2, "forced": False}
    alice_api.post("/api/v1/executions/", {"flow": flow_id, "call": {"cli": "+1555"}}, format="json")
    execution = run_next()
    assert execution.variables["$flow.key.greeting"] == "goodbye +1555"
    detail = alice_api.get(f"/api/v1/executions/{execution.pk}/").json()
    assert detail["revision"] == 2


def test_the_flow_page_says_whether_its_widgets_are_a_draft_and_which_revision_calls_run(alice_api, alice_client):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    assert "Published · revision 1" in alice_client.get(f"/flows/{flow_id}/").content.decode()

    alice_api.put(f"{FLOWS}{flow_id}/", greeting("goodbye"), format="json")

    page = alice_client.get(f"/flows/{flow_id}/").content.decode()
    assert "Draft · revision 2" in page and "calls run revision 1" in page


def test_the_flows_list_marks_a_flow_with_an_unpublished_draft(alice_api, alice_client):
    drafted = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    alice_api.post(FLOWS, {**greeting(), "name": "Published one"}, format="json")
    alice_api.put(f"{FLOWS}{drafted}/", greeting("goodbye"), format="json")

    page = alice_client.get("/flows/").content.decode()

    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in page.split("<tr")[1:] if "</a>" in row}
    assert 'class="badge draft"' in rows["Greeting"] and 'class="badge draft"' not in rows["Published one"]


def test_put_with_publish_true_publishes_at_once(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]

    response = alice_api.patch(f"{FLOWS}{flow_id}/", {"name": "Hi", "publish": True}, format="json")

    assert response.status_code == 200, response.json()
    assert (response.json()["revision"], response.json()["published_revision"]) == (2, 2)


def test_a_call_queued_before_a_publish_keeps_its_revision(alice_api, acme):
    flow = make_flow(acme, assign("a1", greeting="old"), end())
    execution = queue_execution(flow)
    save_revision(flow, validate_flow(greeting("new"), account=acme), account=acme, user=None, publish=True)

    execution = run_next()

    assert execution.revision.number == 1
    assert execution.variables["$flow.key.greeting"] == "old"


def test_publishing_a_revision_that_does_not_exist_is_404(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]

    response = alice_api.post(f"{FLOWS}{flow_id}/publish/", {"revision": 7}, format="json")

    assert response.status_code == 404
    assert "no revision 7" in response.json()["detail"]


def test_publish_refuses_unknown_fields_and_bad_numbers(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]

    assert "revison" in alice_api.post(f"{FLOWS}{flow_id}/publish/", {"revison": 1}, format="json").json()
    assert alice_api.post(f"{FLOWS}{flow_id}/publish/", {"revision": "x"}, format="json").status_code == 400
    assert alice_api.post(f"{FLOWS}{flow_id}/publish/", {"force": "yes"}, format="json").status_code == 400
    assert alice_api.put(f"{FLOWS}{flow_id}/", {**greeting(), "publish": "yes"}, format="json").status_code == 400


def test_rolling_back_publishes_the_old_revision_itself(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    alice_api.put(f"{FLOWS}{flow_id}/", {**greeting("bye"), "publish": True}, format="json")

    response = alice_api.post(f"{FLOWS}{flow_id}/publish/", {"revision": 1}, format="json")

    assert response.json()["published_revision"] == 1
    history = alice_api.get(f"{FLOWS}{flow_id}/revisions/").json()
    assert [(row["number"], row["published"]) for row in history] == [(2, False), (1, True)]
    assert alice_api.get(f"{FLOWS}{flow_id}/").json()["revision"] == 2  # the draft is still 2


def test_the_history_says_who_when_and_what_changed(alice_api, alice):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    body = greeting("bye")
    body["widgets"].insert(1, assign("a2", next_id="end", extra="x"))
    body["widgets"][0]["next"] = {"0": "a2"}
    alice_api.put(f"{FLOWS}{flow_id}/", body, format="json")

    latest = alice_api.get(f"{FLOWS}{flow_id}/revisions/").json()[0]

    assert latest["number"] == 2 and latest["created_by"] == "alice" and latest["created_at"]
    assert latest["changes"]["added"] == ["a2"]
    assert latest["changes"]["changed"] == {"a1": ["config.assignments", "next.0"]}
    diff = alice_api.get(f"{FLOWS}{flow_id}/revisions/2/").json()
    assert {"path": "config.assignments.0.value", "old": "hello $call.cli", "new": "bye $call.cli"} in diff["widgets"][
        "a1"
    ]
    assert alice_api.get(f"{FLOWS}{flow_id}/revisions/9/").status_code == 404


def test_restore_makes_an_old_revision_the_draft_without_publishing_it(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    alice_api.put(f"{FLOWS}{flow_id}/", {**greeting("bye"), "publish": True}, format="json")

    response = alice_api.post(f"{FLOWS}{flow_id}/restore/", {"revision": 1}, format="json")

    assert response.status_code == 201, response.json()
    assert (response.json()["revision"], response.json()["published_revision"]) == (3, 2)
    assert response.json()["widgets"][0]["config"]["assignments"][0]["value"] == "hello $call.cli"
    latest = alice_api.get(f"{FLOWS}{flow_id}/revisions/").json()[0]
    assert latest["restored_from"] == 1 and latest["changes"]["changed"] == {"a1": ["config.assignments"]}
    entry = AuditEntry.objects.latest("pk")
    assert (entry.action, entry.actor_user.username, entry.changed_fields) == ("changed", "alice", ["widgets"])
    assert entry.actor.startswith("token:")  # the token that did it, as for every API write
    assert alice_api.post(f"{FLOWS}{flow_id}/restore/", {"revision": 9}, format="json").status_code == 404


def test_viewers_cannot_publish_or_restore(alice_api, bob_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]

    assert bob_api.post(f"{FLOWS}{flow_id}/publish/", {}, format="json").status_code == 403
    assert bob_api.post(f"{FLOWS}{flow_id}/restore/", {"revision": 1}, format="json").status_code == 403
    assert bob_api.get(f"{FLOWS}{flow_id}/revisions/").status_code == 200


# --- test cases -----------------------------------------------------------------------------------


def test_a_case_from_a_real_execution_passes_then_fails_after_a_mapping_change(alice_api, alice_client, orders):
    flow_id = alice_api.post(FLOWS, order_flow_body(orders.url("/orders")), format="json").json()["id"]
    alice_api.post("/api/v1/executions/", {"flow": flow_id, "call": {"cli": "+1555"}}, format="json")
    execution = run_next()
    assert execution.variables["$flow.key.order_status"] == "shipped"

    saved = alice_client.post(f"/executions/{execution.pk}/save-as-test-case/", {"name": "Shipped order"})
    assert saved.status_code == 302
    case = FlowTestCase.objects.get()
    assert case.responses["w1"]["body"] == '{"order": {"status": "shipped"}}'
    assert case.expect["path"] == ["w1", "ok", "end"]
    requests_before = len(orders.requests_to("/orders"))

    run = alice_api.post(f"{FLOWS}{flow_id}/test-cases/run/", {}, format="json").json()["results"]
    assert [(result["name"], result["passed"]) for result in run] == [("Shipped order", True)]

    changed = [{"save_in": "$flow.key.order_status", "path": "data.order.state", "mandatory": True}]
    alice_api.put(f"{FLOWS}{flow_id}/", order_flow_body(orders.url("/orders"), changed), format="json")
    result = alice_api.post(f"{FLOWS}{flow_id}/test-cases/run/", {}, format="json").json()["results"][0]

    assert result["passed"] is False
    path = next(d for d in result["differences"] if d["what"] == "path")
    assert (path["expected"], path["got"]) == (["w1", "ok", "end"], ["w1", "sorry", "end"])
    status = next(d for d in result["differences"] if d.get("name") == "$flow.key.order_status")
    assert (status["expected"], status["got"]) == ("shipped", None)
    assert len(orders.requests_to("/orders")) == requests_before  # pinned: no network
    assert Execution.objects.count() == 1  # and no execution


def test_the_gate_refuses_a_failing_publish_naming_the_case_and_force_records_it(alice_api, orders):
    flow_id = alice_api.post(FLOWS, order_flow_body(orders.url("/orders")), format="json").json()["id"]
    case = {
        "name": "Shipped order",
        "responses": {"w1": {"status_code": 200, "headers": ORDER, "body": '{"order": {"status": "shipped"}}'}},
        "expect": {"path": ["w1", "ok", "end"], "variables": {"$flow.key.said": "status shipped"}},
    }
    assert alice_api.post(f"{FLOWS}{flow_id}/test-cases/", case, format="json").status_code == 201
    changed = [{"save_in": "$flow.key.order_status", "path": "data.nothing", "mandatory": True}]
    alice_api.put(f"{FLOWS}{flow_id}/", order_flow_body(orders.url("/orders"), changed), format="json")

    blocked = alice_api.post(f"{FLOWS}{flow_id}/publish/", {}, format="json")

    assert blocked.status_code == 409
    assert "“Shipped order”" in blocked.json()["detail"]
    assert blocked.json()["detail"].endswith('or publish with "force": true.')
    assert blocked.json()["failing"][0]["passed"] is False
    assert alice_api.get(f"{FLOWS}{flow_id}/").json()["published_revision"] == 1
    put = alice_api.put(
        f"{FLOWS}{flow_id}/", {**order_flow_body(orders.url("/orders"), changed), "publish": True}, format="json"
    )
    assert put.status_code == 409 and alice_api.get(f"{FLOWS}{flow_id}/").json()["revision"] == 2
    assert put.json()["detail"].endswith('Nothing was saved: send it without "publish" to keep it as a draft.')

    forced = alice_api.post(f"{FLOWS}{flow_id}/publish/", {"force": True}, format="json")

    assert forced.json() == {"published_revision": 2, "forced": True}
    entry = AuditEntry.objects.filter(action="published").latest("pk")
    assert (entry.actor_user.username, entry.object_repr) == (
        "alice",
        "Orders revision 2 (forced past failing test cases)",
    )
    assert entry.actor.startswith("token:")
    assert alice_api.get(f"{FLOWS}{flow_id}/revisions/").json()[0]["forced"] is True
    # Rolling back to the passing revision needs no force.
    assert alice_api.post(f"{FLOWS}{flow_id}/publish/", {"revision": 1}, format="json").json()["forced"] is False


def test_a_webhook_widget_without_a_pinned_answer_fails_the_case(alice_api, orders):
    flow_id = alice_api.post(FLOWS, order_flow_body(orders.url("/orders")), format="json").json()["id"]
    alice_api.post(f"{FLOWS}{flow_id}/test-cases/", {"name": "No answer", "expect": {"path": []}}, format="json")

    result = alice_api.post(f"{FLOWS}{flow_id}/test-cases/run/", {}, format="json").json()["results"][0]

    assert result["passed"] is False
    assert "Webhook widget w1 has no pinned answer" in result["differences"][0]["message"]
    assert orders.requests_to("/orders") == []


def test_a_case_naming_a_widget_the_draft_lacks_fails_with_that_sentence(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    case = {
        "name": "Stale",
        "responses": {"gone": {"status_code": 200, "body": "{}"}},
        "expect": {"path": ["a1", "end"]},
    }
    alice_api.post(f"{FLOWS}{flow_id}/test-cases/", case, format="json")

    response = alice_api.post(f"{FLOWS}{flow_id}/test-cases/run/", {}, format="json")

    assert response.status_code == 200
    result = response.json()["results"][0]
    assert result["passed"] is False
    assert result["differences"][0]["message"] == "The flow has no widget 'gone'; the case pins an answer for it."


def test_an_internal_widget_answers_from_its_pin_and_touches_nothing(alice_api, acme):
    widgets = [
        {
            "id": "w1",
            "type": "webhook",
            "config": {"mode": "internal", "function": "cli_pause_update", "method": "POST", "parameters": ["call"]},
            "next": {"0": "end", "1": "end"},
        },
        end(),
    ]
    body = {"name": "Pause", "flow_end_webhook": False, "start": "w1", "widgets": widgets}
    flow_id = alice_api.post(FLOWS, body, format="json").json()["id"]
    case = {
        "name": "Paused",
        "responses": {"w1": {"status_code": 200, "body": "paused"}},
        "expect": {"path": ["w1", "end"], "variables": {"$flow.key.cli_pause_update": "paused"}},
    }
    alice_api.post(f"{FLOWS}{flow_id}/test-cases/", case, format="json")

    result = alice_api.post(f"{FLOWS}{flow_id}/test-cases/run/", {}, format="json").json()["results"][0]

    assert result["passed"] is True, result["differences"]


def test_test_cases_are_crud_and_refuse_bad_input(alice_api, settings):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 100
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]
    url = f"{FLOWS}{flow_id}/test-cases/"

    too_big = alice_api.post(
        url, {"name": "Big", "responses": {"w1": {"status_code": 200, "body": "x" * 101}}}, format="json"
    )
    assert too_big.status_code == 400
    assert "WEBHOOK_MAX_RESPONSE_BYTES (100)" in too_big.json()["responses.w1.body"][0]
    bad = alice_api.post(
        url,
        {
            "name": "Bad",
            "responses": {"w1": {"status_code": 999, "headers": {"a": 1}}},
            "expect": {"path": "a1", "variables": {"greeting": 5}, "later": 1},
        },
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()) >= {
        "responses.w1.status_code",
        "responses.w1.headers",
        "expect.path",
        "expect.later",
    }
    assert "give the full name" in " ".join(bad.json()["expect.variables"])
    bad_call = alice_api.post(url, {"name": "Bad", "call": {"colour": "red"}}, format="json")
    assert bad_call.json()["call"]["colour"][0].startswith("Unknown field. Send only: cli, did,")

    created = alice_api.post(url, {"name": "Hello", "expect": {"path": ["a1", "end"]}}, format="json")
    assert created.status_code == 201, created.json()
    case_url = f"{url}{created.json()['id']}/"
    assert alice_api.get(url).json()["results"][0]["name"] == "Hello"
    assert alice_api.patch(case_url, {"name": "Hi"}, format="json").json()["name"] == "Hi"
    assert alice_api.delete(case_url).status_code == 204
    assert FlowTestCase.objects.count() == 0


def test_a_test_cases_call_is_judged_as_a_queued_calls_is(alice_api):
    flow_id = alice_api.post(FLOWS, greeting(), format="json").json()["id"]

    for call in ({"colour": "red"}, {"duration": "long"}, {"incoming": "yes"}, {"cli": ["+1555"]}, ["+1555"]):
        queued = alice_api.post("/api/v1/executions/", {"flow": flow_id, "call": call}, format="json")
        case = alice_api.post(f"{FLOWS}{flow_id}/test-cases/", {"name": "Bad", "call": call}, format="json")
        assert queued.status_code == case.status_code == 400, (call, case.json())
        assert case.json()["call"] == queued.json()["call"]
    good = {"cli": "+1555", "incoming": True, "duration": 30}
    saved = alice_api.post(f"{FLOWS}{flow_id}/test-cases/", {"name": "Good", "call": good}, format="json")
    assert saved.status_code == 201 and saved.json()["call"] == good


def test_another_accounts_flow_has_no_test_cases_to_reach(alice_api, charlie_api):
    flow_id = charlie_api.post(FLOWS, greeting(), format="json").json()["id"]

    assert alice_api.get(f"{FLOWS}{flow_id}/test-cases/").status_code == 404
    assert alice_api.post(f"{FLOWS}{flow_id}/test-cases/", {"name": "x"}, format="json").status_code == 404
    assert alice_api.post(f"{FLOWS}{flow_id}/test-cases/run/", {}, format="json").status_code == 404
    assert alice_api.get(f"{FLOWS}{flow_id}/revisions/").status_code == 404
    assert FlowTestCase.objects.count() == 0
