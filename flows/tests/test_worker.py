"""The worker: claims, leases, `runworker --once`, concurrency, SIGTERM, SIGKILL recovery, two workers."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from flows.models import Delivery, Execution
from flows.tests.factories import end, make_flow, queue_execution, webhook
from flows.tests.workers import start_worker, stop, wait_until
from flows.worker import Worker, claim_next_execution
from phonon.lib.testing.http_server import Reply
from reports.models import ReportedExecution, ReportedWebhookCall
from webhooks.models import Webhook

# --- claiming ------------------------------------------------------------------------------


def test_two_workers_never_claim_the_same_execution(acme):
    execution = queue_execution(make_flow(acme))

    assert claim_next_execution("worker-a") == execution.pk
    assert claim_next_execution("worker-b") is None
    execution.refresh_from_db()
    assert execution.claimed_by == "worker-a"
    assert execution.locked_until > timezone.now() + timedelta(seconds=settings.WORKER_LEASE_SECONDS - 5)


def test_an_expired_claim_is_taken_over_by_another_worker(acme):
    execution = queue_execution(make_flow(acme))
    Execution.objects.filter(pk=execution.pk).update(
        status="running", claimed_by="dead", locked_until=timezone.now() - timedelta(seconds=1)
    )

    assert claim_next_execution("alive") == execution.pk


def test_a_running_execution_with_a_live_lease_or_a_finished_one_is_not_claimed(acme):
    flow = make_flow(acme)
    running, finished = queue_execution(flow), queue_execution(flow)
    Execution.objects.filter(pk=running.pk).update(
        status="running", claimed_by="alive", locked_until=timezone.now() + timedelta(seconds=30)
    )
    Execution.objects.filter(pk=finished.pk).update(status="completed")

    assert claim_next_execution("other") is None
    assert Worker().run_one_execution() is False


def test_the_oldest_execution_is_claimed_first(acme):
    flow = make_flow(acme)
    first, second = queue_execution(flow), queue_execution(flow)
    Execution.objects.filter(pk=second.pk).update(created_at=first.created_at - timedelta(seconds=5))

    assert claim_next_execution("w") == second.pk


# --- runworker in this process ---------------------------------------------------------------


def test_runworker_once_runs_what_is_due_and_sends_the_flow_end_webhooks(threads_db, loopback_allowed, server):
    server.reply("/orders", Reply(body='{"status": "ok"}'))
    server.reply("/receiver", Reply(status=204))
    Webhook.objects.create(account=loopback_allowed, name="Receiver", url=server.url("/receiver"), is_default=True)
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders")), end(), flow_end_webhook=True)
    executions = [queue_execution(flow, cli=f"+1555010{n}") for n in range(3)]

    call_command("runworker", "--once", "--concurrency", "2")

    assert {e.status for e in Execution.objects.filter(pk__in=[e.pk for e in executions])} == {"completed"}
    assert len(server.requests_to("/orders")) == 3
    assert len(server.requests_to("/receiver")) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_one_slow_endpoint_does_not_hold_up_the_others(threads_db, loopback_allowed, server):
    """With --concurrency 3, three calls are in flight at once: all three meet at the barrier."""
    barrier = threading.Barrier(3, timeout=10)

    def together(request):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return Reply(status=500, body="not in flight together")
        return Reply(body="{}")

    server.reply("/together", together)
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/together")), end())
    for n in range(3):
        queue_execution(flow, cli=str(n))

    call_command("runworker", "--once", "--concurrency", "3")

    codes = [e.steps[0]["status_code"] for e in Execution.objects.all()]
    assert codes == [200, 200, 200]


def test_the_loop_returns_after_stop_and_leaves_new_work_queued(threads_db, acme):
    worker = Worker(concurrency=2)
    worker.stop()
    execution = queue_execution(make_flow(acme))

    worker.run()

    execution.refresh_from_db()
    assert execution.status == "queued"


# --- real worker processes -----------------------------------------------------------------


def test_sigterm_finishes_the_work_in_hand_then_exits(threads_db, loopback_allowed, server):
    server.reply("/slow", Reply(body="{}", delay=1.5))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/slow")), end())
    in_hand = queue_execution(flow)
    worker = start_worker("--concurrency", "2")
    try:
        wait_until(lambda: server.requests_to("/slow"), what="the worker's request")
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        later = queue_execution(flow)
        output = worker.communicate(timeout=20)[0]
    finally:
        stop(worker)

    assert worker.returncode == 0, output
    in_hand.refresh_from_db()
    later.refresh_from_db()
    assert in_hand.status == "completed", output
    assert in_hand.steps[0]["status_code"] == 200
    assert later.status == "queued"
    assert f"execution {in_hand.pk}" in output and "status=completed" in output


def test_an_execution_ends_before_its_no_wait_requests_answer_then_their_outcomes_fill_in(
    threads_db, loopback_allowed, server
):
    """SPEC §6: with wait_for_response off the flow goes on at once, and ends without waiting."""
    answer = threading.Event()

    def held_until_released(status: int) -> Callable:
        def reply(request) -> Reply:
            answer.wait(timeout=30)
            return Reply(status=status, body="{}")

        return reply

    server.reply("/first", held_until_released(201))
    server.reply("/second", held_until_released(503))
    server.reply("/receiver", Reply(status=204))
    Webhook.objects.create(account=loopback_allowed, name="Receiver", url=server.url("/receiver"), is_default=True)
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/first"), ok="w2", wait_for_response=False, method="POST"),
        webhook("w2", server.url("/second"), wait_for_response=False, method="POST"),
        end(),
        flow_end_webhook=True,
    )
    execution = queue_execution(flow)
    worker = threading.Thread(target=Worker(worker_id="test-worker").run_one_execution)
    worker.start()
    try:
        wait_until(lambda: Execution.objects.get(pk=execution.pk).status == "completed", what="the execution to end")
        ended = Execution.objects.get(pk=execution.pk)
        assert len(server.requests_to("/first")) == len(server.requests_to("/second")) == 1  # sent, not answered
        assert [step.get("background") for step in ended.steps] == ["pending", "pending", None]
        assert "status_code" not in ended.steps[0]
        assert ended.finished_at is not None
        assert Delivery.objects.filter(execution=execution).exists()  # the flow-end delivery did not wait
        assert ReportedExecution.objects.filter(execution=execution).exists()
        assert worker.is_alive()  # still waiting to write the outcomes
    finally:
        answer.set()
        worker.join(timeout=30)

    execution.refresh_from_db()
    first, second, _ = execution.steps
    assert (first["background"], first["status_code"]) == ("SUCCESS", 201)
    assert (second["background"], second["status_code"], second["error_reason"]) == ("FAILED", 503, "SERVER_ERROR")
    assert execution.finished_at == ended.finished_at and execution.status == "completed"
    calls = ReportedWebhookCall.objects.filter(report_id=execution.pk).order_by("position")
    assert [(call.status_code, call.error_reason, call.duration) for call in calls] == [
        (201, "", None),
        (503, "SERVER_ERROR", None),
    ]


def test_a_killed_worker_loses_nothing_another_continues_after_the_lease(threads_db, loopback_allowed, server):
    """SIGKILL during w2: after the (short) lease, another worker finishes from the w2 checkpoint."""
    server.reply("/first", Reply(body="{}"))
    server.reply("/second", Reply(body="{}", delay=60), Reply(body='{"second": "time"}'))
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/first"), ok="w2", failed="end"),
        webhook("w2", server.url("/second"), ok="end", failed="end", timeout=1),
        end(),
    )
    execution = queue_execution(flow)
    short_lease = {"WEBHOOK_MAX_TIMEOUT_SECONDS": "1", "WORKER_LEASE_SECONDS": "2"}

    doomed = start_worker(**short_lease)
    try:
        wait_until(lambda: server.requests_to("/second"), what="the first worker to reach w2")
        doomed.kill()
        doomed.wait(timeout=10)
    finally:
        stop(doomed)
    execution.refresh_from_db()
    assert (execution.status, execution.next_widget) == ("running", "w2")
    dead_worker = execution.claimed_by

    rescuer = start_worker(**short_lease)
    try:
        wait_until(lambda: Execution.objects.get(pk=execution.pk).is_finished, what="the rescuing worker")
    finally:
        output = stop(rescuer)

    execution.refresh_from_db()
    assert execution.status == "completed", output
    assert execution.claimed_by != dead_worker
    assert execution.attempts == 2
    assert [step["widget"] for step in execution.steps] == ["w1", "w2", "end"]
    assert execution.steps[1]["status_code"] == 200
    assert len(server.requests_to("/first")) == 1  # w1 was checkpointed: not sent again
    assert len(server.requests_to("/second")) == 2  # at least once: w2 was in flight when the worker died


@pytest.mark.postgres_only
def test_two_worker_processes_run_each_of_200_executions_exactly_once(threads_db, loopback_allowed, server):
    server.reply("/hit", Reply(body="{}"))
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/hit"), query_params=[{"key": "n", "value": "$call.cli", "mandatory": True}]),
        end(),
    )
    Execution.objects.bulk_create(
        Execution(account=loopback_allowed, flow=flow, revision=flow.published_revision, call={"cli": str(n)})
        for n in range(200)
    )

    workers = [start_worker("--once", "--concurrency", "4") for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    hits = Counter(dict(request.query)["n"] for request in server.requests_to("/hit"))
    assert len(hits) == 200 and set(hits.values()) == {1}, [n for n, count in hits.items() if count > 1]
    assert Execution.objects.filter(status="completed").count() == 200
    assert Execution.objects.filter(attempts=1).count() == 200
