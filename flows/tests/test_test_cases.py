"""Rehearsing test cases (flows.test_cases) and the site's side of SPEC §14."""

from __future__ import annotations

import json

from django.urls import reverse

from flows.models import CachedResponse, FlowTestCase
from flows.test_cases import answer_from_step, case_from_execution, rehearse
from flows.tests.factories import assign, end, make_finished_execution, make_flow, queue_execution, webhook
from flows.worker import Worker
from phonon.lib.testing.http_server import Reply
from webhooks.models import Endpoint, EndpointRequest

JSON = {"Content-Type": "application/json"}


def case(flow, **fields) -> FlowTestCase:
    return FlowTestCase(account=flow.account, flow=flow, name="Case", **fields)


def test_a_pinned_timeout_takes_the_failure_line(loopback_allowed):
    flow = make_flow(
        loopback_allowed, webhook("w1", "https://api.example.com/x", ok="ok", failed="end"), assign("ok", x="1"), end()
    )
    pinned = case(
        flow,
        responses={"w1": {"status_code": None, "headers": {}, "body": "", "error_reason": "TIMEOUT"}},
        expect={"path": ["w1", "end"], "variables": {"$flow.key.error_reason": "TIMEOUT"}},
    )

    result = rehearse(pinned, {"start": flow.start, "widgets": flow.widgets}, account=flow.account)

    assert result["passed"] is True, result["differences"]


def test_a_rehearsal_answers_once_from_the_pin_past_retries_cache_and_breaker(loopback_allowed):
    flow = make_flow(
        loopback_allowed,
        webhook(
            "w1",
            "https://api.example.com/x",
            ok="ok",
            failed="end",
            retries={"count": 3, "on": ["SERVER_ERROR"]},
            cache={"ttl": 60, "key": "$call.cli", "stale_on_error": True},
        ),
        assign("ok", x="1"),
        end(),
    )
    pinned = case(
        flow,
        call={"cli": "+15550100"},
        responses={"w1": {"status_code": 503, "headers": {}, "body": ""}},
        expect={"path": ["w1", "end"], "variables": {"$flow.key.error_reason": "SERVER_ERROR"}},
    )

    result = rehearse(pinned, {"start": flow.start, "widgets": flow.widgets}, account=flow.account)

    assert result["passed"] is True, result["differences"]
    # No cache entry, circuit or health row came of it: a rehearsal touches no shared state.
    assert not CachedResponse.objects.exists()
    assert not Endpoint.objects.exists() and not EndpointRequest.objects.exists()


def test_a_no_wait_widget_still_needs_its_pinned_answer(loopback_allowed):
    flow = make_flow(loopback_allowed, webhook("w1", "https://api.example.com/x", wait_for_response=False), end())

    result = rehearse(
        case(flow, expect={"path": ["w1", "end"]}), {"start": "w1", "widgets": flow.widgets}, account=flow.account
    )

    assert result["passed"] is False
    assert [d["message"] for d in result["differences"]] == [
        "Webhook widget w1 has no pinned answer; add one to the case's responses."
    ]


def test_a_case_from_an_execution_pins_each_answer_with_its_content_type(loopback_allowed, server):
    server.reply("/x", Reply(status=404, body="<e>nope</e>", headers={"Content-Type": "application/xml"}))
    flow = make_flow(
        loopback_allowed, webhook("w1", server.url("/x"), ok="end", failed="sorry"), assign("sorry", x="1"), end()
    )
    queue_execution(flow)
    assert Worker(worker_id="w").run_one_execution(probe_first=False)
    execution = flow.executions.get()

    made = case_from_execution(execution, name="Not found")

    assert made.responses == {
        "w1": {"status_code": 404, "headers": {"Content-Type": "application/xml"}, "body": "<e>nope</e>"}
    }
    assert made.expect["path"] == ["w1", "sorry", "end"]
    assert made.expect["variables"]["$flow.key.error_reason"] == "CLIENT_ERROR"
    assert "$flow.key.response_duration" not in made.expect["variables"]
    assert rehearse(made, {"start": flow.start, "widgets": flow.widgets}, account=flow.account)["passed"] is True


def test_an_answer_too_large_to_keep_cannot_be_pinned_from_the_execution():
    step = {"widget": "w1", "type": "webhook", "status_code": 200, "response_body_kept": False}
    try:
        answer_from_step(step)
    except ValueError as error:
        assert "Widget w1's answer was too large to keep whole" in str(error)
    else:
        raise AssertionError("a truncated answer was pinned")


def test_the_execution_page_shows_the_revision_and_saves_a_test_case(alice_client, acme):
    execution = make_finished_execution(acme)

    page = alice_client.get(reverse("flows:execution-detail", args=[execution.pk])).content.decode()

    assert "revision 1" in page and "Save as test case" in page
    response = alice_client.post(reverse("flows:execution-save-test-case", args=[execution.pk]), {"name": "Hi"})
    assert response.status_code == 302
    assert FlowTestCase.objects.get().name == "Hi"


def test_viewers_cannot_save_test_cases_or_publish(bob_client, acme):
    execution = make_finished_execution(acme)

    assert (
        "Save as test case"
        not in bob_client.get(reverse("flows:execution-detail", args=[execution.pk])).content.decode()
    )
    assert bob_client.post(reverse("flows:execution-save-test-case", args=[execution.pk])).status_code == 403
    assert bob_client.post(reverse("flows:publish", args=[execution.flow_id])).status_code == 403
    assert bob_client.get(reverse("flows:revisions", args=[execution.flow_id])).status_code == 200
    assert FlowTestCase.objects.count() == 0


def test_a_running_execution_is_not_saved_as_a_test_case(alice_client, acme):
    execution = queue_execution(make_flow(acme))

    alice_client.post(reverse("flows:execution-save-test-case", args=[execution.pk]), {"name": "Early"})

    assert FlowTestCase.objects.count() == 0


def test_designer_saves_make_drafts(alice_client, acme):
    flow = make_flow(acme, assign("a1", greeting="hello"), end())
    body = {"name": "Order status", "start": "a1", "widgets": [assign("a1", greeting="bye"), end()]}

    answer = alice_client.post(
        reverse("flows:designer", args=[flow.pk]), json.dumps(body), content_type="application/json"
    )

    assert answer.json()["status"] == {"revision": 2, "published_revision": 1, "draft": True}
    history = alice_client.get(reverse("flows:revisions", args=[flow.pk])).json()
    assert [row["number"] for row in history["revisions"]] == [2, 1]


def test_the_site_publish_endpoint_answers_the_gate_and_bad_input(alice_client, acme):
    flow = make_flow(acme, assign("a1", greeting="hello"), end())
    FlowTestCase.objects.create(account=acme, flow=flow, name="Wrong path", expect={"path": ["nowhere"]})
    url = reverse("flows:publish", args=[flow.pk])

    assert alice_client.post(url, "[", content_type="application/json").status_code == 400
    assert alice_client.post(url, json.dumps({"force": "yes"}), content_type="application/json").status_code == 400
    assert alice_client.post(url, json.dumps({"revision": 5}), content_type="application/json").status_code == 404
    blocked = alice_client.post(url, "{}", content_type="application/json")
    assert blocked.status_code == 409 and blocked.json()["failing"][0]["name"] == "Wrong path"
    assert blocked.json()["detail"].endswith("or publish anyway.")  # the designer's words, beside its button
    forced = alice_client.post(url, json.dumps({"force": True}), content_type="application/json")
    assert forced.json() == {"revision": 1, "published_revision": 1, "draft": False}


def test_a_widget_test_result_becomes_a_test_case_expecting_what_the_draft_does(alice_client, loopback_allowed):
    flow = make_flow(
        loopback_allowed,
        webhook("w1", "https://api.example.com/x", ok="ok", mappings=[{"save_in": "$flow.key.st", "path": "data.st"}]),
        assign("ok", said="got $flow.key.st"),
        end(),
    )
    url = reverse("flows:test-case-from-widget", args=[flow.pk])
    body = {
        "name": "From the Test button",
        "widget": "w1",
        "answer": {"status_code": 200, "headers": JSON, "body": '{"st": "ok"}'},
        "call": {"cli": "+1555"},
    }

    created = alice_client.post(url, json.dumps(body), content_type="application/json")

    assert created.status_code == 201, created.json()
    saved = FlowTestCase.objects.get()
    assert saved.expect["path"] == ["w1", "ok", "end"]
    assert saved.expect["variables"]["$flow.key.st"] == "ok"
    assert rehearse(saved, {"start": flow.start, "widgets": flow.widgets}, account=flow.account)["passed"] is True
    bad = alice_client.post(url, json.dumps({**body, "widget": "zz", "name": ""}), content_type="application/json")
    assert set(bad.json()["errors"]) >= {"name", "widget"}
    for widget in (["w1"], {"id": "w1"}, 1):  # not an id at all
        odd = alice_client.post(url, json.dumps({**body, "widget": widget}), content_type="application/json")
        assert (odd.status_code, odd.json()["errors"]["widget"]) == (400, ['Name the widget by its id, e.g. "w1".'])
    bad_call = {**body, "call": {"duration": "long"}, "user_keys": {"a b": "1"}}
    refused = alice_client.post(url, json.dumps(bad_call), content_type="application/json").json()["errors"]
    assert refused["call.duration"] == ["Give a whole number."]
    assert refused["user_keys"][0].startswith("Key names may hold only letters, digits and underscores")
