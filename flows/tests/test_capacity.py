"""Capacity and nothing stranded (SPEC §12), poison jobs and database restarts (issue 13 points 2 and 6)."""

from __future__ import annotations

import os
import subprocess
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import IntegrityError, OperationalError, connection, connections
from django.db.backends.signals import connection_created
from django.urls import reverse
from django.utils import timezone

from flows.models import Delivery, Execution
from flows.tests.factories import end, make_flow, queue_execution, webhook
from flows.tests.workers import start_worker, stop, wait_until
from flows.worker import DatabaseLane, Worker
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook


def held(release: threading.Event):
    """A reply that waits for `release` (a call in flight for as long as the test likes)."""

    def reply(request) -> Reply:
        release.wait(timeout=60)
        return Reply(body='{"ok": true}', headers={"Content-Type": "application/json"})

    return reply


def numbered_flow(account, url: str, **options):
    """A one-webhook flow whose request names its call (?n=<cli>), so requests can be counted per call."""
    return make_flow(
        account,
        webhook("w1", url, query_params=[{"key": "n", "value": "$call.cli", "mandatory": True}]),
        end(),
        **options,
    )


def hits_per_call(server, path: str) -> Counter:
    return Counter(dict(request.query)["n"] for request in server.requests_to(path))


def receiver(account, server) -> None:
    server.reply("/receiver", Reply(status=204))
    Webhook.objects.create(account=account, name="Receiver", url=server.url("/receiver"), is_default=True)


# --- calls in flight hold no database connection ----------------------------------------------


def test_calls_waiting_on_webhooks_hold_no_database_connection(threads_db, loopback_allowed, server):
    """24 calls in flight at once (the endpoint answers only when all 24 have arrived), 2 connections."""
    calls = 24
    everyone_in = threading.Barrier(calls)
    worker = Worker(concurrency=calls, db_connections=2)
    held_while_waiting = []

    def when_all_have_arrived(request) -> Reply:
        if everyone_in.wait(timeout=30) == 0:  # one of them looks: the heartbeat renews these leases
            held_while_waiting.extend(job.pk for job in worker.held())
        return Reply(body="{}")

    server.reply("/all", when_all_have_arrived)
    flow = numbered_flow(loopback_allowed, server.url("/all"))
    for n in range(calls):
        queue_execution(flow, cli=str(n))
    opened_by = []

    def count(sender, connection, **kwargs):
        opened_by.append(threading.current_thread().name)

    connection_created.connect(count)
    try:
        clean = worker.run(once=True)
    finally:
        connection_created.disconnect(count)

    assert clean
    assert not everyone_in.broken  # all 24 were waiting at once
    assert Execution.objects.filter(status="completed").count() == calls
    assert len(opened_by) <= 2 and all(name.startswith("worker-db") for name in opened_by), opened_by
    assert set(hits_per_call(server, "/all").values()) == {1}
    assert sorted(held_while_waiting) == sorted(Execution.objects.values_list("pk", flat=True))


# --- poison jobs -----------------------------------------------------------------------------


def refuse_report_rows_of(cli: str) -> tuple[list[str], str]:
    """SQL making the database refuse the report row of calls from `cli` (a real refused write), and its undoing."""
    table = connection.ops.quote_name("reports_reportedexecution")
    if connection.vendor == "postgresql":
        return [
            "CREATE FUNCTION refuse_report_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.cli = '{cli}' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$",
            f"CREATE TRIGGER refuse_report_row BEFORE INSERT ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION refuse_report_row()",
        ], "DROP FUNCTION IF EXISTS refuse_report_row() CASCADE"
    return [
        f"CREATE TRIGGER refuse_report_row BEFORE INSERT ON {table} WHEN NEW.cli = '{cli}'"
        " BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    ], "DROP TRIGGER IF EXISTS refuse_report_row"


@pytest.fixture
def refused_report_rows(threads_db):
    create, drop = refuse_report_rows_of("poison")
    with connection.cursor() as cursor:
        for statement in create:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        cursor.execute(drop)


def test_a_refused_finishing_write_ends_it_failed_sends_nothing_twice_and_once_exits_1(
    refused_report_rows, loopback_allowed, server
):
    server.reply("/hook", Reply(body='{"ok": true}'))
    receiver(loopback_allowed, server)
    flow = numbered_flow(loopback_allowed, server.url("/hook"), flow_end_webhook=True)
    poisoned, healthy = queue_execution(flow, cli="poison"), queue_execution(flow, cli="healthy")

    worker = start_worker("--once", "--concurrency", "2")
    output = worker.communicate(timeout=60)[0]

    assert worker.returncode == 1, output
    assert "1 job(s) ended in an engine error" in output
    poisoned.refresh_from_db()
    healthy.refresh_from_db()
    assert (poisoned.status, poisoned.attempts) == ("failed", 1), output
    assert poisoned.failure_reason.startswith("The worker could not save this execution's progress:")
    assert "refused by the test trigger" in poisoned.failure_reason
    assert healthy.status == "completed"
    assert hits_per_call(server, "/hook") == {"poison": 1, "healthy": 1}  # not sent again
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert len(server.requests_to("/receiver")) == 2  # the failed one's flow-end webhook went out too


def expired_claim(execution: Execution, **fields) -> None:
    Execution.objects.filter(pk=execution.pk).update(
        status="running", claimed_by="dead-worker", locked_until=timezone.now() - timedelta(seconds=1), **fields
    )


def test_an_execution_claimed_too_often_ends_failed_without_running_again(settings, loopback_allowed, server):
    settings.WORKER_MAX_ATTEMPTS = 3
    server.reply("/hook", Reply(body="{}"))
    receiver(loopback_allowed, server)
    execution = queue_execution(
        make_flow(loopback_allowed, webhook("w1", server.url("/hook")), end(), flow_end_webhook=True)
    )
    expired_claim(execution, attempts=3)  # three workers died running it

    worker = Worker()
    assert worker.run_one_execution()
    assert worker.send_one_delivery()

    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("failed", 4)
    assert execution.failure_reason.startswith("Given up after 3 attempts (WORKER_MAX_ATTEMPTS)")
    assert server.requests_to("/hook") == []
    assert Delivery.objects.get(execution=execution).status == "delivered"


def test_an_execution_given_back_after_an_engine_error_is_ended_by_the_next_worker_without_running(
    loopback_allowed, server
):
    server.reply("/hook", Reply(body="{}"))
    execution = queue_execution(make_flow(loopback_allowed, webhook("w1", server.url("/hook")), end()))
    expired_claim(execution, attempts=1, failure_reason="The worker could not save this execution's progress: boom")
    Execution.objects.filter(pk=execution.pk).update(claimed_by="", locked_until=None)  # given back at once

    assert Worker().run_one_execution()

    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("failed", 2)
    assert execution.failure_reason == "The worker could not save this execution's progress: boom"
    assert server.requests_to("/hook") == []


def test_the_execution_page_shows_the_attempts(alice_client, acme):
    execution = queue_execution(make_flow(acme))
    Execution.objects.filter(pk=execution.pk).update(status="failed", attempts=2)

    page = alice_client.get(reverse("flows:execution-detail", args=[execution.pk])).content.decode()

    assert '<span id="execution-attempts">2 attempts</span>' in page
    assert "at most 3 run it" in page


# --- losing the database -----------------------------------------------------------------------


def worker_backends(application_name: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.postgres_only
def test_a_worker_whose_connections_are_killed_backs_off_and_loses_nothing(threads_db, loopback_allowed, server):
    release = threading.Event()
    server.reply("/held", held(release))
    flow = numbered_flow(loopback_allowed, server.url("/held"))
    for n in range(12):
        queue_execution(flow, cli=str(n))
    name = "phonon-test-killed"
    worker = start_worker("--concurrency", "6", WORKER_DB_CONNECTIONS="2", PGAPPNAME=name)
    try:
        wait_until(lambda: len(server.requests_to("/held")) == 6, what="6 calls in flight")
        assert 1 <= len(worker_backends(name)) <= 2
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s", [name])
        release.set()
        wait_until(lambda: Execution.objects.filter(status="completed").count() == 12, 60, "every execution to end")
    finally:
        release.set()
        output = stop(worker)

    assert worker.returncode == 0, output
    assert "database unavailable" in output or "could not claim work" in output, output
    assert hits_per_call(server, "/held") == {str(n): 1 for n in range(12)}
    assert set(Execution.objects.values_list("attempts", flat=True)) == {1}


def restart_postgresql() -> None:
    """Restart the server (other test runs on the machine lose their connections for a moment too)."""
    (version,) = os.listdir("/etc/postgresql")
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
    subprocess.run(command, check=True, timeout=120)


def reconnect(timeout: float = 60) -> None:
    """Wait for PostgreSQL to take connections again; this thread's old connection is gone."""

    def answers() -> bool:
        connections.close_all()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except Exception:
            return False

    wait_until(answers, timeout, "PostgreSQL to come back")


@pytest.mark.postgres_only
@pytest.mark.restarts_database
def test_a_postgresql_restart_mid_run_loses_nothing(threads_db, loopback_allowed, server):
    """Calls in flight and queued while the server restarts: each ends once, each flow-end webhook goes out."""
    release = threading.Event()
    server.reply("/held", held(release))
    receiver(loopback_allowed, server)
    flow = numbered_flow(loopback_allowed, server.url("/held"), flow_end_webhook=True)
    for n in range(16):
        queue_execution(flow, cli=str(n))
    worker = start_worker("--concurrency", "8", WORKER_DB_CONNECTIONS="3")
    try:
        wait_until(lambda: len(server.requests_to("/held")) == 8, what="8 calls in flight, 8 queued")
        restart_postgresql()
        release.set()  # the answers come in while the database is (or just was) away
        reconnect()
        wait_until(
            lambda: Delivery.objects.filter(status="delivered").count() == 16, 120, "every flow-end webhook to go out"
        )
    finally:
        release.set()
        output = stop(worker)

    assert worker.returncode == 0, output
    assert "database unavailable" in output or "could not claim work" in output, output
    assert Execution.objects.filter(status="completed", attempts=1).count() == 16, output
    assert hits_per_call(server, "/held") == {str(n): 1 for n in range(16)}
    webhook_ids = Counter(request.headers["webhook-id"] for request in server.requests_to("/receiver"))
    assert len(webhook_ids) == 16 and set(webhook_ids.values()) == {1}


def test_a_write_that_cannot_reach_the_database_is_retried_with_back_off(caplog):
    attempts = []

    def save() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return "saved"

    lane = DatabaseLane(1)
    try:
        assert lane.until_done(save) == "saved"
    finally:
        lane.close()

    assert len(attempts) == 3
    assert caplog.text.count("database unavailable (server closed the connection unexpectedly); retrying in") == 2


def test_a_refused_write_is_not_retried():
    attempts = []

    def save() -> None:
        attempts.append(1)
        raise IntegrityError("refused")

    lane = DatabaseLane(1)
    try:
        with pytest.raises(IntegrityError):
            lane.until_done(save)
    finally:
        lane.close()

    assert len(attempts) == 1


def test_a_worker_that_cannot_claim_logs_backs_off_and_claims_once_it_can(
    threads_db, loopback_allowed, server, monkeypatch, caplog
):
    server.reply("/hook", Reply(body="{}"))
    execution = queue_execution(make_flow(loopback_allowed, webhook("w1", server.url("/hook")), end()))
    worker = Worker()
    claim_jobs, refusals = worker.claim_jobs, []

    def unreachable_twice(*args, **kwargs):
        if len(refusals) < 2:
            refusals.append(1)
            raise OperationalError("connection to server failed: too many clients already")
        return claim_jobs(*args, **kwargs)

    monkeypatch.setattr(worker, "claim_jobs", unreachable_twice)

    assert worker.run(once=True)

    execution.refresh_from_db()
    assert (execution.status, execution.attempts) == ("completed", 1)
    assert caplog.text.count("could not claim work (connection to server failed: too many clients already)") == 2
