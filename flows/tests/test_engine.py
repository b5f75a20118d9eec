"""The engine end to end: queued execution → worker → real local HTTP server → finished execution."""

from __future__ import annotations

import ipaddress
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from flows import engine
from flows.models import Delivery, Execution, Flow
from flows.revisions import save_revision
from flows.signals import execution_finished
from flows.tests.factories import assign, end, make_flow, queue_execution, webhook
from flows.widgets import webhook as webhook_widget
from flows.worker import Worker, claim_next_execution
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook

JSON = {"Content-Type": "application/json"}
ORDER = json.dumps({"order": {"status": "shipped", "items": [{"sku": "A1"}, {"sku": "B2"}]}})


def run(execution: Execution) -> Execution:
    assert Worker(worker_id="test-worker").run_one_execution()
    execution.refresh_from_db()
    return execution


def order_flow(account, url: str, **config) -> Flow:
    """w1 asks for the order; line 0 → ok (assign) → end, line 1 → sorry (assign) → end."""
    return make_flow(
        account,
        webhook("w1", url, ok="ok", failed="sorry", **config),
        assign("ok", said="status $flow.key.order_status"),
        assign("sorry", said="could not ask"),
        end(),
    )


MAPPINGS = [
    {"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": True},
    {"save_in": "$flow.key.skus", "path": "data.order.items[*].sku", "mandatory": False},
]


def test_it_completes_along_line_0_with_mapped_variables(loopback_allowed, server):
    server.reply("/orders/1001", Reply(body=ORDER, headers=JSON))
    flow = order_flow(loopback_allowed, server.url("/orders/$user.key.order"), mappings=MAPPINGS, persist_response=True)
    execution = queue_execution(flow)
    Execution.objects.filter(pk=execution.pk).update(user_keys={"order": "1001"})

    execution = run(execution)

    assert execution.status == "completed", execution.failure_reason
    variables = execution.variables
    assert variables["$flow.key.order_status"] == "shipped"
    assert variables["$flow.key.skus_count"] == "2"
    assert variables["$flow.key.skus_1"] == "B2"
    assert variables["$flow.key.response_status"] == "SUCCESS"
    assert variables["$flow.key.response_status_code"] == "200"
    assert variables["$flow.key.said"] == "status shipped"
    assert [(s["widget"], s["line"]) for s in execution.steps] == [("w1", "0"), ("ok", "0"), ("end", None)]
    assert execution.steps[0]["status_code"] == 200
    assert execution.steps[0]["method"] == "GET"
    assert all(step["duration"] >= 0 and step["started_at"] for step in execution.steps)
    assert execution.persisted_variables == ["$flow.key.order_status", "$flow.key.skus"]
    assert execution.started_at and execution.finished_at and execution.locked_until is None
    assert len(server.requests_to("/orders/1001")) == 1


@pytest.mark.parametrize(
    ("value", "arrives_at"),
    [("..", "/customers/%2E%2E/orders"), (".", "/customers/%2E/orders"), ("%2E%2E", "/customers/%252E%252E/orders")],
)
def test_a_value_of_dots_stays_one_path_segment_on_the_wire(value, arrives_at, loopback_allowed, server):
    server.reply("*", Reply(status=204))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/customers/$user.key.id/orders")), end())
    execution = queue_execution(flow)
    Execution.objects.filter(pk=execution.pk).update(user_keys={"id": value})

    run(execution)

    assert [request.path for request in server.requests] == [arrives_at]


def test_it_takes_line_1_when_the_endpoint_fails(loopback_allowed, server):
    server.reply("/orders", Reply(status=503, body="down"))
    execution = run(queue_execution(order_flow(loopback_allowed, server.url("/orders"))))

    assert execution.status == "completed"
    assert [(s["widget"], s["line"]) for s in execution.steps] == [("w1", "1"), ("sorry", "0"), ("end", None)]
    assert execution.variables["$flow.key.error_reason"] == "SERVER_ERROR"
    assert execution.variables["$flow.key.response_status"] == "FAILED"
    assert execution.variables["$flow.key.said"] == "could not ask"


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "reason",
    [
        "CLIENT_ERROR",
        "SERVER_ERROR",
        "REDIRECTION",
        "TIMEOUT",
        "CONNECTION_ERROR",
        "BLOCKED_DESTINATION",
        "INVALID_RESPONSE",
        "RESPONSE_TOO_LARGE",
        "MANDATORY_FIELD_MISSING",
        "MANDATORY_PARAMETER_MISSING",
    ],
)
def test_each_error_reason_leaves_on_line_1_through_the_worker(reason, loopback_allowed, server, settings):
    url, config = server.url("/answer"), {}
    if reason == "CLIENT_ERROR":
        server.reply("/answer", Reply(status=404))
    elif reason == "SERVER_ERROR":
        server.reply("/answer", Reply(status=500))
    elif reason == "REDIRECTION":
        server.reply("/answer", Reply(status=304))
    elif reason == "TIMEOUT":
        server.reply("/answer", Reply(body="late", delay=3))
        config["timeout"] = 1
    elif reason == "CONNECTION_ERROR":
        url = f"http://127.0.0.1:{closed_port()}/answer"
    elif reason == "INVALID_RESPONSE":
        server.reply("/answer", Reply(body="<not json>", headers=JSON))
        config["mappings"] = MAPPINGS
    elif reason == "RESPONSE_TOO_LARGE":
        settings.WEBHOOK_MAX_RESPONSE_BYTES = 1000
        server.reply("/answer", Reply(body="x" * 5000))
    elif reason == "MANDATORY_FIELD_MISSING":
        server.reply("/answer", Reply(body='{"order": {}}', headers=JSON))
        config["mappings"] = MAPPINGS
    elif reason == "MANDATORY_PARAMETER_MISSING":
        server.reply("/answer", Reply(body="{}"))
        config["headers"] = [{"key": "X-Order", "value": "$user.key.order", "mandatory": True}]
    flow = order_flow(loopback_allowed, url, **config)
    if reason == "BLOCKED_DESTINATION":  # allowed when saved, refused when called
        server.reply("/answer", Reply(body="{}"))
        settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)

    execution = run(queue_execution(flow))

    assert execution.status == "completed"
    assert execution.steps[0]["line"] == "1"
    assert execution.steps[0]["error_reason"] == reason
    assert execution.variables["$flow.key.error_reason"] == reason
    assert execution.variables["$flow.key.response_error"] == "true"
    assert execution.steps[1]["widget"] == "sorry"
    if reason in ("BLOCKED_DESTINATION", "MANDATORY_PARAMETER_MISSING", "CONNECTION_ERROR"):
        assert server.requests_to("/answer") == []


def test_a_request_without_waiting_goes_on_at_once_and_logs_its_outcome(loopback_allowed, server):
    server.reply("/notify", Reply(status=500, body="busy", delay=0.5))
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/notify"), ok="a1", failed="end", wait_for_response=False, method="POST"),
        assign("a1", next_id="end", after="went on"),
        end(),
    )
    execution = run(queue_execution(flow))

    assert execution.status == "completed"
    first = execution.steps[0]
    assert first["line"] == "0"  # went on along line 0 although the answer was a 500
    assert first["duration"] < 0.5  # did not wait for the answer
    assert first["background"] == "FAILED"
    assert first["background_line"] == "1"
    assert first["status_code"] == 500
    assert first["error_reason"] == "SERVER_ERROR"
    assert "$flow.key.response_status" not in execution.variables  # sets no variables
    assert execution.variables["$flow.key.after"] == "went on"
    assert len(server.requests_to("/notify")) == 1


def test_an_internal_function_puts_its_result_in_a_flow_key(loopback_allowed):
    flow = make_flow(
        loopback_allowed,
        {
            "id": "w1",
            "type": "webhook",
            "config": {"mode": "internal", "function": "cli_pause_update", "method": "POST", "parameters": ["call"]},
            "next": {"0": "end", "1": "end"},
        },
        end(),
    )
    with mock.patch(
        "webhooks.internal_functions.call_internal_function", autospec=True, return_value=(True, "paused")
    ) as call:
        execution = run(queue_execution(flow))

    assert execution.status == "completed"
    assert execution.variables["$flow.key.cli_pause_update"] == "paused"
    assert execution.steps[0]["line"] == "0"
    account, name, method, parameters = call.call_args.args
    assert (account.pk, name, method) == (loopback_allowed.pk, "cli_pause_update", "POST")
    assert parameters["$call.cli"] == "+15550100"


def test_a_flow_that_loops_forever_fails_with_a_reason(loopback_allowed, server):
    server.reply("/retry", Reply(status=500))
    flow = make_flow(
        loopback_allowed, webhook("w1", server.url("/retry"), ok="end", failed="w1"), end(), name="Retry forever"
    )
    execution = run(queue_execution(flow))

    assert execution.status == "failed"
    assert "loop" in execution.failure_reason
    assert len(execution.steps) == engine.MAX_STEPS


def test_a_missing_widget_fails_the_execution(acme):
    broken = {
        "name": "Broken",
        "flow_end_webhook": False,
        "start": "a1",
        "widgets": [assign("a1", next_id="gone", x="1")],
    }
    flow = save_revision(None, broken, account=acme, user=None).flow  # past validate_flow, as an old row could be
    execution = run(queue_execution(flow))

    assert execution.status == "failed"
    assert "'gone'" in execution.failure_reason
    assert execution.finished_at is not None


def test_an_exception_in_a_widget_fails_only_that_execution(acme):
    flow = make_flow(acme)
    with mock.patch("flows.engine.run_assign_widget", autospec=True, side_effect=RuntimeError("boom")):
        execution = run(queue_execution(flow))

    assert execution.status == "failed"
    assert "boom" in execution.failure_reason and "'a1'" in execution.failure_reason


def test_an_exception_quoting_unstorable_text_still_fails_the_execution(acme):
    flow = make_flow(acme)
    error = RuntimeError("bad \x00 \ud800")
    # The log is left out: pytest-xdist cannot send a report holding a lone surrogate.
    with (
        mock.patch("flows.engine.run_assign_widget", autospec=True, side_effect=error),
        mock.patch("flows.engine.logger"),
    ):
        execution = run(queue_execution(flow))

    assert execution.status == "failed"
    assert "bad \ufffd \ufffd" in execution.failure_reason


def test_it_ends_with_the_flow_end_delivery_and_the_finished_signal(acme):
    execution = queue_execution(make_flow(acme))
    finished = []

    def receiver(sender, execution, first, **kwargs):
        finished.append((sender, execution, first))

    execution_finished.connect(receiver)
    try:
        with mock.patch("flows.deliveries.enqueue_flow_end_delivery", autospec=True) as enqueue:
            execution = run(execution)
    finally:
        execution_finished.disconnect(receiver)

    (ended,) = enqueue.call_args.args
    assert ended.pk == execution.pk and ended.status == "completed" and ended.finished_at
    ((sender, signalled, first),) = finished
    assert (sender, signalled.pk, first) == (Execution, execution.pk, True)
    assert signalled.variables["$flow.key.greeting"] == "hello +15550100"


def test_a_failing_finished_receiver_undoes_the_end_of_the_execution(acme):
    """The signal is sent inside the finishing transaction: the end, its delivery and what the
    receivers write (the report rows) commit together or not at all."""
    Webhook.objects.create(account=acme, name="CRM", url="https://crm.example.com/hook", is_default=True)
    execution = queue_execution(make_flow(acme, flow_end_webhook=True))

    def receiver(**kwargs):
        raise RuntimeError("report storage is down")

    execution_finished.connect(receiver)
    try:
        with pytest.raises(RuntimeError, match="report storage is down"):
            engine.run_execution(claim_next_execution("test-worker"), "test-worker")
    finally:
        execution_finished.disconnect(receiver)

    execution.refresh_from_db()
    assert (execution.status, execution.finished_at) == ("running", None)
    assert not Delivery.objects.exists()

    assert engine.run_execution(execution.pk, "test-worker").status == "completed"  # the claim still holds
    assert Delivery.objects.get().execution_id == execution.pk


def test_a_recovered_execution_continues_from_its_checkpoint(loopback_allowed, server):
    server.reply("*", Reply(body="{}"))
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/first"), ok="w2", failed="end"),
        webhook("w2", server.url("/second"), ok="end", failed="end"),
        end(),
    )
    execution = queue_execution(flow)
    # A worker ran w1, saved its checkpoint, then died: its lease has run out.
    done = {"widget": "w1", "type": "webhook", "line": "0", "started_at": "x", "duration": 0.1}
    Execution.objects.filter(pk=execution.pk).update(
        status="running",
        claimed_by="dead-worker",
        locked_until=timezone.now() - timedelta(seconds=1),
        next_widget="w2",
        steps=[done],
        variables={"$call.cli": "+15550100", "$flow.key.kept": "from w1"},
        attempts=1,
    )
    execution = run(execution)

    assert execution.status == "completed"
    assert server.requests_to("/first") == []
    assert len(server.requests_to("/second")) == 1
    assert [step["widget"] for step in execution.steps] == ["w1", "w2", "end"]
    assert execution.variables["$flow.key.kept"] == "from w1"
    assert execution.attempts == 2
    assert execution.claimed_by == "test-worker"


def test_a_worker_whose_claim_was_taken_over_writes_nothing(loopback_allowed, server):
    server.reply("/slow", Reply(body="{}"))
    execution = queue_execution(order_flow(loopback_allowed, server.url("/slow")))
    send = webhook_widget.send_prepared

    def taken_over_while_sending(prepared):
        Execution.objects.filter(pk=execution.pk).update(claimed_by="another-worker")
        return send(prepared)

    with mock.patch("flows.widgets.webhook.send_prepared", side_effect=taken_over_while_sending):
        run(execution)

    assert execution.status == "running"
    assert execution.claimed_by == "another-worker"
    assert execution.steps == [] and execution.finished_at is None


def test_the_claimed_execution_loads_as_the_orm_loads_it(loopback_allowed, server):
    flow = order_flow(loopback_allowed, server.url("/orders"), mappings=MAPPINGS)
    execution = queue_execution(flow)
    Execution.objects.filter(pk=execution.pk).update(
        claimed_by="test-worker", status="running", started_at=timezone.now(), variables={"$flow.key.x": None}
    )
    expected = Execution.objects.select_related("flow", "account").get(pk=execution.pk)

    loaded = engine.load_claimed_execution(str(execution.pk), "test-worker")

    def values(instance):
        return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}

    assert values(loaded) == values(expected)
    assert values(loaded.flow) == values(expected.flow) and loaded.flow.widgets[0]["id"] == "w1"
    assert values(loaded.account) == values(expected.account)
    assert engine.load_claimed_execution(execution.pk, "another-worker") is None


def test_every_mapping_that_matched_nothing_is_recorded_on_the_step_and_shown(
    loopback_allowed, server, alice_api, alice_client
):
    server.reply("/order", Reply(body=ORDER, headers=JSON))
    mappings = [
        {"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": True},
        {"save_in": "$flow.key.eta", "path": "data.data.order.eta", "mandatory": False},
    ]
    flow = order_flow(loopback_allowed, server.url("/order"), mappings=mappings)

    execution = run(queue_execution(flow))

    assert execution.steps[0]["line"] == "0"
    assert execution.steps[0]["unmatched"] == [
        {"save_in": "$flow.key.eta", "path": "data.data.order.eta", "mandatory": False}
    ]
    shown = alice_api.get(f"/api/v1/executions/{execution.pk}/").json()
    assert shown["steps"][0]["unmatched"][0]["path"] == "data.data.order.eta"
    page = alice_client.get(f"/executions/{execution.pk}/").content.decode()
    assert "<code>data.data.order.eta</code> found nothing" in page
