"""The worker behind `manage.py runworker`: claims due executions and flow-end deliveries.

The loop is short on purpose (after healthchecks' `sendalerts`): the main thread claims due
work and hands it to a thread pool; a bounded semaphore keeps at most `concurrency` jobs in
flight, so one slow endpoint holds up one seat, not the others. A seat's thread that finishes a
job claims the next one itself while work keeps coming (no hand-off back to the main thread, and
the seats claim in parallel); it gives the seat back when nothing is due. When nothing is due
the main thread polls every POLL_SECONDS, so new work starts within 100 ms. `stop()` (SIGTERM,
SIGINT) only sets a flag: the jobs in hand finish, nothing new is claimed, then `run()` returns.

Tests call the small methods (`run_one_execution()`, `send_one_delivery()`) directly.
"""

from __future__ import annotations

import functools
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, close_old_connections, connection, connections
from django.utils import timezone

from flows import deliveries, metrics
from flows.engine import run_execution
from flows.leases import lease_end
from flows.models import Execution, ExecutionStatus
from flows.models.execution import UNFINISHED_STATUSES
from phonon import sql
from phonon.logs import log_context

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05


def new_worker_id() -> str:
    """Names the claimant in `claimed_by`: which machine and process, plus a random tail."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


def keep_database_connections(seconds: int = 300) -> None:
    """In a worker process: pool threads keep their connection from job to job.

    Reconnecting for every execution (CONN_MAX_AGE=0, right for web requests) halves the
    worker's throughput; close_old_connections() at each job start still replaces a connection
    that broke or grew older than this. Call before the threads start; an explicit CONN_MAX_AGE
    in the settings wins.
    """
    for database in settings.DATABASES.values():
        if not database.get("CONN_MAX_AGE"):
            database["CONN_MAX_AGE"] = seconds


@functools.cache
def claim_statements(vendor: str) -> tuple[str, str]:
    """The idle probe and the claim of claim_next_execution(), as SQL written once per backend.

    They are the queries the worker runs most. The unfinished statuses are literals, so the
    planner reads the oldest unfinished rows from the `execution_unfinished` partial index
    instead of scanning every finished execution (see phonon.sql.claim).
    """
    status, started_at, attempts, created_at = sql.columns(Execution, "status", "started_at", "attempts", "created_at")
    unfinished = ", ".join(map(sql.literal, UNFINISHED_STATUSES))
    due = f"{status} IN ({unfinished}) AND {sql.lease_free(Execution)}"
    probe = f"SELECT 1 FROM {sql.table(Execution)} WHERE {due} LIMIT 1"  # noqa: S608
    claim = sql.claim(
        Execution,
        due=due,
        order_by=created_at,
        also_set=f"{status} = {sql.literal(ExecutionStatus.RUNNING)}, {started_at} = COALESCE({started_at}, %s),"
        f" {attempts} = {attempts} + 1",
    )
    return probe, claim


def claim_next_execution(worker_id: str, *, probe_first: bool = True):
    """Claim the oldest due execution for `worker_id`; its id, or None when nothing is due.

    With `probe_first`, a plain read comes first, so an idle worker does not take SQLite's write
    lock twenty times a second; a busy worker (its last claim found work) claims straight away.
    The claim is phonon.sql.claim()'s one UPDATE … RETURNING; the execution turns
    `running` in it.
    """
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a thread-local lookup
    probe, claim = claim_statements(db.vendor)
    adapt = db.ops.adapt_datetimefield_value
    now = timezone.now()
    if probe_first:
        with db.cursor() as cursor:
            cursor.execute(probe, [adapt(now)])
            if cursor.fetchone() is None:
                return None
    return sql.run_claim(claim, [worker_id, adapt(lease_end(now)), adapt(now), adapt(now), adapt(now)], Execution)


class Worker:
    def __init__(self, *, concurrency: int = 1, worker_id: str | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        self.concurrency = concurrency
        self.worker_id = worker_id or new_worker_id()
        self.stopping = threading.Event()
        self.seats = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._in_flight = 0
        # Deliveries are claimed inside send_due_delivery(), in a pool thread: probe for them
        # again at once while they keep coming, else once per poll.
        self._deliveries_pending = True
        self._delivery_jobs = 0
        self._next_delivery_probe = 0.0

    @property
    def in_flight(self) -> int:
        """Jobs in hand now (the heartbeat reports it)."""
        return self._in_flight

    def stop(self) -> None:
        """Finish the work in hand, claim nothing new. Safe to call from a signal handler."""
        self.stopping.set()

    # --- the jobs -----------------------------------------------------------------------------

    def run_one_execution(self, *, probe_first: bool = True) -> bool:
        """Claim one due execution and run it in this thread; False when none is due."""
        execution_id = claim_next_execution(self.worker_id, probe_first=probe_first)
        if execution_id is None:
            return False
        self.run_claimed_execution(execution_id)
        return True

    def run_claimed_execution(self, execution_id) -> None:
        with log_context(execution=execution_id):
            started = time.monotonic()
            execution = run_execution(execution_id, self.worker_id)
            duration = time.monotonic() - started
            if execution is None:
                logger.info("execution %s status=lost-claim duration=%.3fs", execution_id, duration)
                return
            metrics.count_execution(execution.status)
            logger.info(
                "execution %s flow=%s status=%s duration=%.3fs%s",
                execution.pk,
                execution.flow_id,
                execution.status,
                duration,
                f" reason={execution.failure_reason!r}" if execution.failure_reason else "",
            )

    def send_one_delivery(self) -> bool:
        """Make one due flow-end delivery attempt; False when none is due."""
        return deliveries.send_due_delivery(self.worker_id)

    # --- the loop -----------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> None:
        """Work until stop() (or, with `once`, until nothing is due); then finish the jobs in hand."""
        logger.info("worker %s started, concurrency %d%s", self.worker_id, self.concurrency, ", once" if once else "")
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="worker") as pool:
            while not self.stopping.is_set():
                if self.hand_out_one_job(pool):
                    continue
                if once and self.drained():
                    break
                self.stopping.wait(POLL_SECONDS)
        logger.info("worker %s stopped", self.worker_id)

    def hand_out_one_job(self, pool: ThreadPoolExecutor) -> bool:
        """Give a free seat a job; False when there is nothing to do right now."""
        if not self.seats.acquire(timeout=POLL_SECONDS):
            return True  # every seat is busy: not idle
        try:
            execution_id = claim_next_execution(self.worker_id)
        except DatabaseError:
            logger.exception("worker %s could not claim; retrying", self.worker_id)
            connection.close()
            execution_id = None
        if execution_id is not None:
            self._submit(pool, self.run_claimed_execution, execution_id)
            return True
        if self._take_delivery_probe():
            self._submit(pool, self._delivery_job)
            return True
        self.seats.release()
        return False

    def drained(self) -> bool:
        """For --once: no job in flight and no delivery due (flow-end ones appear as executions end)."""
        with self._lock:
            if self._in_flight:
                return False
        return not self.send_one_delivery()

    def _submit(self, pool: ThreadPoolExecutor, work: Callable, *args) -> None:
        with self._lock:
            self._in_flight += 1
        pool.submit(self._job, work, *args)

    def _job(self, work: Callable, *args) -> None:
        """Run a job in a seat, then the next ones due, until nothing is due or the worker stops."""
        try:
            self._run_safely(work, *args)
            while not self.stopping.is_set() and self._run_next_job_here():
                pass
        finally:
            with self._lock:
                self._in_flight -= 1
            self.seats.release()

    def _run_next_job_here(self) -> bool:
        """Claim and run the next job in this seat's thread; False when nothing is due (or it failed)."""
        if self._take_delivery_probe() and self._run_safely(self._delivery_job):
            return True
        return self._run_safely(self.run_one_execution, probe_first=False)

    def _run_safely(self, work: Callable, *args, **kwargs) -> bool:
        """One job with a sound connection; a job that raises is logged, never kills the seat's thread."""
        close_old_connections()
        try:
            return bool(work(*args, **kwargs))
        except Exception:
            logger.exception("worker %s: a job failed", self.worker_id)
            return False
        finally:
            close_old_connections()

    def _take_delivery_probe(self) -> bool:
        with self._lock:
            if self._deliveries_pending or (self._delivery_jobs == 0 and time.monotonic() >= self._next_delivery_probe):
                self._delivery_jobs += 1
                return True
            return False

    def _delivery_job(self) -> bool:
        found = False
        try:
            found = self.send_one_delivery()
        finally:
            with self._lock:
                self._delivery_jobs -= 1
                self._deliveries_pending = found
                if not found:
                    self._next_delivery_probe = time.monotonic() + POLL_SECONDS
        return found
