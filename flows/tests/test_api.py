"""`/api/v1/flows/` and `/api/v1/executions/`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from flows.models import Execution, Flow
from flows.tests.factories import assign, end, make_flow, queue_execution, webhook

FLOWS = "/api/v1/flows/"
EXECUTIONS = "/api/v1/executions/"


def flow_body(**changes):
    return {
        "name": "Greeting",
        "flow_end_webhook": True,
        "start": "a1",
        "widgets": [assign("a1", greeting="hello $call.cli"), end()],
        **changes,
    }


# --- flows -------------------------------------------------------------------------------------


def test_it_creates_a_flow_in_the_tokens_account(alice_api, acme):
    response = alice_api.post(FLOWS, flow_body(), format="json")

    assert response.status_code == 201, response.json()
    flow = Flow.objects.get(pk=response.json()["id"])
    assert flow.account == acme
    assert [w["id"] for w in response.json()["widgets"]] == ["a1", "end"]


def test_a_widget_label_is_written_and_read_back_with_the_id_unchanged(alice_api):
    widgets = [assign("a1", greeting="hello") | {"label": "Greet the caller"}, end()]

    response = alice_api.post(FLOWS, flow_body(widgets=widgets), format="json")

    assert response.status_code == 201, response.json()
    shown = alice_api.get(f"{FLOWS}{response.json()['id']}/").json()["widgets"][0]
    assert (shown["id"], shown["label"]) == ("a1", "Greet the caller")
    too_long = [assign("a1", greeting="hello") | {"label": "x" * 61}, end()]
    refused = alice_api.post(FLOWS, flow_body(widgets=too_long), format="json")
    assert refused.status_code == 400
    assert "widgets.a1.label" in str(refused.json())


def test_it_answers_the_validation_errors_by_dotted_path(alice_api):
    body = flow_body(start="nowhere")

    response = alice_api.post(FLOWS, body, format="json")

    assert response.status_code == 400
    assert "start" in response.json()
    assert Flow.objects.count() == 0


def test_it_hides_basic_auth_passwords_and_keeps_them_on_update(alice_api, acme):
    widget = webhook(
        "w1",
        "https://api.example.com/orders",
        auth={"type": "basic", "username": "u", "password": "s3cret-pw"},
    )
    body = flow_body(start="w1", widgets=[widget, end()])
    created = alice_api.post(FLOWS, body, format="json")
    assert created.status_code == 201, created.json()
    assert "s3cret-pw" not in created.content.decode()

    renamed = alice_api.patch(f"{FLOWS}{created.json()['id']}/", {"name": "Renamed"}, format="json")

    assert renamed.status_code == 200, renamed.json()
    flow = Flow.objects.get(pk=created.json()["id"])
    assert flow.name == "Renamed"
    assert flow.widgets[0]["config"]["auth"].get("password_encrypted")


def test_put_replaces_the_flow(alice_api, acme):
    flow = make_flow(acme)

    response = alice_api.put(f"{FLOWS}{flow.pk}/", flow_body(name="Replaced"), format="json")

    assert response.status_code == 200, response.json()
    flow.refresh_from_db()
    assert flow.name == "Replaced" and flow.flow_end_webhook is True


def a_flow_with_basic_auth(alice_api) -> dict:
    widget = webhook(
        "w1", "https://api.example.com/orders", ok="a1", auth={"type": "basic", "username": "u", "password": "pw"}
    )
    created = alice_api.post(FLOWS, flow_body(start="w1", widgets=[widget, assign("a1", x="1"), end()]), format="json")
    assert created.status_code == 201, created.json()
    return alice_api.get(f"{FLOWS}{created.json()['id']}/").json()


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_flows_own_get_body_writes_back_unchanged(alice_api, method):
    shown = a_flow_with_basic_auth(alice_api)
    assert {"id", "created_at", "updated_at"} <= set(shown)

    response = getattr(alice_api, method)(f"{FLOWS}{shown['id']}/", shown, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["widgets"] == shown["widgets"]
    assert response.json()["id"] == shown["id"]
    flow = Flow.objects.get(pk=shown["id"])
    assert flow.widgets[0]["config"]["auth"].get("password_encrypted")  # the password is kept


def test_read_only_fields_are_ignored_on_write_but_unknown_ones_refused(alice_api):
    shown = a_flow_with_basic_auth(alice_api)
    url = f"{FLOWS}{shown['id']}/"

    moved = alice_api.put(url, {**shown, "id": 999_999, "created_at": "2000-01-01T00:00:00Z"}, format="json")
    unknown = alice_api.put(url, {**shown, "colour": "red"}, format="json")

    assert moved.status_code == 200, moved.json()
    assert moved.json()["id"] == shown["id"] and moved.json()["created_at"] == shown["created_at"]
    assert not Flow.objects.filter(pk=999_999).exists()
    assert unknown.status_code == 400
    assert list(unknown.json()) == ["colour"]


def test_a_viewer_can_read_flows_but_not_write(bob_api, acme):
    flow = make_flow(acme)

    assert bob_api.get(f"{FLOWS}{flow.pk}/").status_code == 200
    assert bob_api.post(FLOWS, flow_body(), format="json").status_code == 403
    assert bob_api.delete(f"{FLOWS}{flow.pk}/").status_code == 403
    assert Flow.objects.filter(pk=flow.pk).exists()


def test_another_accounts_flow_is_not_found(charlie_api, acme):
    flow = make_flow(acme)

    assert charlie_api.get(f"{FLOWS}{flow.pk}/").status_code == 404
    assert charlie_api.delete(f"{FLOWS}{flow.pk}/").status_code == 404
    assert charlie_api.get(FLOWS).json()["results"] == []


# --- executions --------------------------------------------------------------------------------


def execution_body(target, **changes):
    return {
        "flow": target.pk,
        "call": {"cli": "+15550100", "did": "+15550199", "incoming": True, "duration": 42},
        "user_keys": {"order": "1001"},
        "recordings": [{"file_name": "call.wav", "public_url": "https://files.example.com/call.wav"}],
        **changes,
    }


def test_posting_an_execution_queues_it_and_answers_202(alice_api, acme):
    flow = make_flow(acme)

    response = alice_api.post(EXECUTIONS, execution_body(flow), format="json")

    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "queued"
    execution = Execution.objects.get(pk=response.json()["id"])
    assert execution.account == acme and execution.flow == flow
    assert execution.user_keys == {"order": "1001"}
    assert execution.call["duration"] == 42
    assert response["Location"].endswith(reverse("execution-detail", kwargs={"pk": execution.pk}))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"call": {"cli": "1", "colour": "red"}}, "call"),
        ({"call": {"cli": {"nested": "no"}}}, "call"),
        ({"call": {"incoming": "maybe"}}, "call"),
        ({"call": ["not", "an", "object"]}, "call"),
        ({"user_keys": {"first name": "x"}}, "user_keys"),
        ({"user_keys": {"list": [1, 2]}}, "user_keys"),
        ({"recordings": [{"file_name": "a.wav"}]}, "recordings"),
        ({"recordings": [{"file_name": "a.wav", "public_url": "javascript:alert(1)"}]}, "recordings"),
        ({"flow": 999999}, "flow"),
    ],
)
def test_it_refuses_a_malformed_execution(alice_api, acme, changes, field):
    response = alice_api.post(EXECUTIONS, execution_body(make_flow(acme), **changes), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Execution.objects.count() == 0


def test_an_execution_of_another_accounts_flow_is_refused_like_a_missing_flow(charlie_api, acme):
    flow = make_flow(acme)

    foreign = charlie_api.post(EXECUTIONS, execution_body(flow), format="json")
    missing = charlie_api.post(EXECUTIONS, {**execution_body(flow), "flow": flow.pk + 1000}, format="json")

    assert (foreign.status_code, missing.status_code) == (400, 400)
    assert foreign.json() == {"flow": [f"No flow with id {flow.pk} in this account."]}
    assert missing.json() == {"flow": [f"No flow with id {flow.pk + 1000} in this account."]}
    assert Execution.objects.count() == 0


def test_a_viewer_cannot_start_an_execution(bob_api, acme):
    response = bob_api.post(EXECUTIONS, execution_body(make_flow(acme)), format="json")

    assert response.status_code == 403
    assert Execution.objects.count() == 0


def test_the_detail_shows_the_outcome_and_the_flow_end_webhook(alice_api, acme):
    execution = queue_execution(make_flow(acme))
    Execution.objects.filter(pk=execution.pk).update(
        status="completed", variables={"$flow.key.x": "1"}, steps=[{"widget": "a1", "line": "0"}]
    )

    body = alice_api.get(f"{EXECUTIONS}{execution.pk}/").json()

    assert body["id"] == str(execution.pk)
    assert body["status"] == "completed"
    assert body["variables"] == {"$flow.key.x": "1"}
    assert body["steps"] == [{"widget": "a1", "line": "0"}]
    assert body["flow_end_webhook"] is None
    assert {"flow", "failure_reason", "created_at", "started_at", "finished_at"} <= set(body)


def test_the_list_filters_by_flow_status_and_time(alice_api, acme):
    one, two = make_flow(acme, name="One"), make_flow(acme, name="Two")
    old = queue_execution(one)
    Execution.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3), status="failed")
    recent = queue_execution(one)
    other = queue_execution(two)

    def ids(query: str) -> set[str]:
        response = alice_api.get(f"{EXECUTIONS}?{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids(f"flow={one.pk}") == {str(old.pk), str(recent.pk)}
    assert ids("status=failed") == {str(old.pk)}
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert ids(f"since={since}") == {str(recent.pk), str(other.pk)}
    assert ids(f"until={(timezone.now() - timedelta(days=2)).date().isoformat()}") == {str(old.pk)}
    assert alice_api.get(f"{EXECUTIONS}?status=sleeping").status_code == 400


def test_until_takes_a_whole_day_or_an_inclusive_date_time_and_names_the_format_when_neither(alice_api, acme):
    execution = queue_execution(make_flow(acme))
    moment = datetime(2026, 11, 1, 23, 30, tzinfo=UTC)
    Execution.objects.filter(pk=execution.pk).update(created_at=moment)

    def listed(query: str) -> bool:
        response = alice_api.get(f"{EXECUTIONS}?{query}")
        assert response.status_code == 200, response.json()
        return bool(response.json()["results"])

    assert listed("until=2026-11-01")  # the day's last half hour is in it
    assert not listed("until=2026-10-31")
    assert listed("until=2026-11-01T23:30:00Z")  # a date-time end is inclusive
    assert not listed("until=2026-11-01T23:29:59Z")
    assert listed("since=2026-11-01T23:30:00%2B00:00")
    refused = alice_api.get(f"{EXECUTIONS}?until=yesterday")
    assert refused.status_code == 400
    assert "YYYY-MM-DD" in str(refused.json())


def test_the_list_costs_the_same_queries_however_many_rows(alice_api, acme):
    flow = make_flow(acme)
    queue_execution(flow)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert alice_api.get(EXECUTIONS).status_code == 200
        return len(captured)

    queries_for_list()  # the first request of a test also fills per-process caches
    one = queries_for_list()
    for _ in range(4):
        queue_execution(flow)

    assert queries_for_list() == one  # the revision each row ran comes with the rows


def test_another_accounts_execution_is_not_found_nor_listed(charlie_api, acme):
    execution = queue_execution(make_flow(acme))

    assert charlie_api.get(f"{EXECUTIONS}{execution.pk}/").status_code == 404
    assert charlie_api.get(EXECUTIONS).json()["results"] == []


def test_a_call_field_sent_at_the_top_level_is_refused_naming_it_and_where_it_belongs(alice_api, acme):
    flow = make_flow(acme)

    response = alice_api.post(EXECUTIONS, {"flow": flow.pk, "cli": "+15550100", "colour": "red"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "cli": [
            'Unknown field. cli is a call field: send it inside call, e.g. {"call": {"cli": …}}. '
            "Send only: flow, call, user_keys, recordings."
        ],
        "colour": ["Unknown field. Send only: flow, call, user_keys, recordings."],
    }
    assert Execution.objects.count() == 0


def test_an_unknown_call_field_is_refused_naming_the_call_fields(alice_api, acme):
    response = alice_api.post(EXECUTIONS, execution_body(make_flow(acme), call={"clid": "+1555"}), format="json")

    assert response.status_code == 400
    assert response.json()["call"]["clid"] == [
        "Unknown field. Send only: cli, did, callee, incoming, state, start, connect_time, end_time, "
        "duration, hangup_cause."
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"cli": 15550100}, "Give text (a JSON string)."),
        ({"incoming": "yes"}, "Give true or false."),
        ({"duration": "42"}, "Give a whole number."),
        ({"duration": True}, "Give a whole number."),
    ],
)
def test_call_values_must_have_the_json_type_the_schema_names(alice_api, acme, call, message):
    response = alice_api.post(EXECUTIONS, execution_body(make_flow(acme), call=call), format="json")

    assert response.status_code == 400
    assert response.json()["call"] == {next(iter(call)): [message]}


def test_the_call_is_stored_as_sent_with_its_types(alice_api, acme):
    call = {"cli": "+15550100", "incoming": False, "duration": 0, "hangup_cause": None}

    response = alice_api.post(EXECUTIONS, execution_body(make_flow(acme), call=call), format="json")

    assert response.status_code == 202, response.json()
    assert Execution.objects.get().call == call
