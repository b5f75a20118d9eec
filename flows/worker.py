"""The worker behind `manage.py runworker`: claims due executions and flow-end deliveries.

The loop is short on purpose (after healthchecks' `sendalerts`): the main thread claims due
executions one at a time and hands each to a thread pool; a bounded semaphore keeps at most
`concurrency` jobs in flight, so one slow endpoint holds up one seat, not the others. When
nothing is due it polls every POLL_SECONDS, so new work starts within 100 ms. `stop()` (SIGTERM,
SIGINT) only sets a flag: the jobs in hand finish, nothing new is claimed, then `run()` returns.

Tests call the small methods (`run_one_execution()`, `send_one_delivery()`) directly.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from flows import deliveries
from flows.engine import run_execution
from flows.leases import claim_one, lease_expired
from flows.models import Execution, ExecutionStatus
from flows.models.execution import UNFINISHED_STATUSES

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


def due_executions() -> QuerySet[Execution]:
    """Queued executions, and running ones whose worker's lease has expired (it died)."""
    return Execution.objects.filter(status__in=UNFINISHED_STATUSES).filter(lease_expired(timezone.now()))


def claim_next_execution(worker_id: str):
    """Claim the oldest due execution for `worker_id`; its id, or None when nothing is due.

    The plain read first keeps an idle worker from taking SQLite's write lock (IMMEDIATE
    transactions) twenty times a second; the claim itself is flows.leases.claim_one: SKIP LOCKED
    candidate selection on PostgreSQL, then a conditional UPDATE whose row count says who won.
    Uses the `execution_unfinished` partial index.
    """
    due = due_executions()
    if not due.exists():
        return None
    return claim_one(
        due,
        worker_id=worker_id,
        order_by="created_at",
        status=ExecutionStatus.RUNNING,
        started_at=Coalesce(F("started_at"), Value(timezone.now())),
        attempts=F("attempts") + 1,
    )


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

    def stop(self) -> None:
        """Finish the work in hand, claim nothing new. Safe to call from a signal handler."""
        self.stopping.set()

    # --- the jobs -----------------------------------------------------------------------------

    def run_one_execution(self) -> bool:
        """Claim one due execution and run it in this thread; False when none is due."""
        execution_id = claim_next_execution(self.worker_id)
        if execution_id is None:
            return False
        self.run_claimed_execution(execution_id)
        return True

    def run_claimed_execution(self, execution_id) -> None:
        started = time.monotonic()
        execution = run_execution(execution_id, self.worker_id)
        duration = time.monotonic() - started
        if execution is None:
            logger.info("execution %s status=lost-claim duration=%.3fs", execution_id, duration)
        else:
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
        close_old_connections()
        try:
            work(*args)
        except Exception:
            logger.exception("worker %s: a job failed", self.worker_id)
        finally:
            close_old_connections()
            with self._lock:
                self._in_flight -= 1
            self.seats.release()

    def _take_delivery_probe(self) -> bool:
        with self._lock:
            if self._deliveries_pending or (self._delivery_jobs == 0 and time.monotonic() >= self._next_delivery_probe):
                self._delivery_jobs += 1
                return True
            return False

    def _delivery_job(self) -> None:
        found = False
        try:
            found = self.send_one_delivery()
        finally:
            with self._lock:
                self._delivery_jobs -= 1
                self._deliveries_pending = found
                if not found:
                    self._next_delivery_probe = time.monotonic() + POLL_SECONDS
