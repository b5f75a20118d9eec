"""The worker behind `manage.py runworker`: claims due executions and flow-end deliveries.

Capacity (SPEC §12): waiting for a webhook's answer holds no database connection.

- **Seats** are threads that run one job each (an execution, or one delivery attempt); at most
  `concurrency` at once, so a slow endpoint holds up one seat, not the others. A seat sends its
  requests through the one outbound client and never touches the database itself.
- **The database lane** (`DatabaseLane`) is a few threads (WORKER_DB_CONNECTIONS, default 8),
  each keeping one connection. Every claim, load, checkpoint and finish is a short task there;
  the seats wait on its answer. However many calls are in flight, the process holds at most that
  many connections.
- **The loop** (the main thread) claims work in batches for the free seats, through the lane:
  on PostgreSQL one statement claims and loads the executions (`claim_executions`); then it
  hands each to a seat. Only a loop whose last claim found nothing probes with a plain read
  first (`idle`): one round trip less an execution while work keeps coming. A seat that ends
  wakes it at once; with nothing due it polls every POLL_SECONDS, so new work starts within
  100 ms.

Nothing is stranded: a claim that fails (no connection, connection lost) backs off with a log
line and tries again; a seat whose writes fail for a lost connection retries them with back-off
(`DatabaseLane.until_done`: the result in hand is never thrown away, so a sent request is not
sent again); a run that raises (a write the database refused, a bug) ends the execution `failed`
from its stored state (flows.engine.end_after_engine_error), or if even that fails puts it back
in the queue at once (give_back). `run()` returns False when any job ended in such an engine
error (`runworker --once` then exits 1). `stop()` (SIGTERM, SIGINT) only sets a flag: the jobs
in hand finish, nothing new is claimed, then `run()` returns.

Tests call the small methods (`run_one_execution()`, `send_one_delivery()`) directly; they use
the database in the calling thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
)
from django.utils import timezone

from flows import deliveries, engine, metrics
from flows.leases import CONNECTION_TROUBLE, lease_end, run_inline
from flows.models import Delivery, Execution, ExecutionStatus
from flows.models.execution import UNFINISHED_STATUSES
from phonon import sql
from phonon.lib.storable import first_line
from phonon.logs import log_context

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# Most rows one claim statement takes: a burst fills 2,000 seats in 20 statements, and no claim
# holds the database (or SQLite's write lock) for long.
CLAIM_BATCH = 100
BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0


def new_worker_id() -> str:
    """Names the claimant in `claimed_by`: which machine and process, plus a random tail."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


# --- claiming executions ------------------------------------------------------------------------


def _due_and_sets() -> tuple[str, str]:
    status, started_at, attempts = sql.columns(Execution, "status", "started_at", "attempts")
    unfinished = ", ".join(map(sql.literal, UNFINISHED_STATUSES))
    due = f"{status} IN ({unfinished}) AND {sql.lease_free(Execution)}"
    also_set = (
        f"{status} = {sql.literal(ExecutionStatus.RUNNING)}, {started_at} = COALESCE({started_at}, %s),"
        f" {attempts} = {attempts} + 1"
    )
    return due, also_set


@functools.cache
def claim_statements(vendor: str) -> tuple[str, str]:
    """The idle probe and the claim of claim_next_execution(), as SQL written once per backend.

    They are the queries the worker runs most. The unfinished statuses are literals, so the
    planner reads the oldest unfinished rows from the `execution_unfinished` partial index
    instead of scanning every finished execution (see phonon.sql.claim).
    """
    due, also_set = _due_and_sets()
    probe = f"SELECT 1 FROM {sql.table(Execution)} WHERE {due} LIMIT 1"  # noqa: S608
    (created_at,) = sql.columns(Execution, "created_at")
    return probe, sql.claim(Execution, due=due, order_by=created_at, also_set=also_set)


@functools.cache
def claim_and_load_statements(vendor: str) -> tuple[str | None, sql.JoinedSelect]:
    """The statements of claim_executions(): (claim, load) on SQLite, (None, claim-and-load) on PostgreSQL.

    PostgreSQL takes the claim's RETURNING rows into the join with the revision and account, so an
    execution costs one round trip to claim and load; SQLite (in-process, no round trips, no
    UPDATE in WITH) claims, then reads the claimed rows by primary key.
    """
    due, also_set = _due_and_sets()
    (created_at,) = sql.columns(Execution, "created_at")
    related = engine.LOADED_WITH
    if vendor == "postgresql":
        claim = sql.claim(Execution, due=due, order_by=created_at, also_set=also_set, many=True, returning="*")
        return None, sql.select_joined(Execution, related=related, rows_of=claim)
    claim = sql.claim(Execution, due=due, order_by=created_at, also_set=also_set, many=True)
    return claim, sql.select_joined(Execution, related=related)


def _claim_params(worker_id: str, now) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    return [worker_id, adapt(lease_end(now)), adapt(now), adapt(now), adapt(now)]


def _nothing_due(now) -> bool:
    """The idle probe: a plain read, so an idle worker does not take SQLite's write lock twenty times a second."""
    probe, _ = claim_statements(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(probe, [connection.ops.adapt_datetimefield_value(now)])
        return cursor.fetchone() is None


def claim_next_execution(worker_id: str, *, probe_first: bool = True):
    """Claim the oldest due execution for `worker_id`; its id, or None when nothing is due.

    With `probe_first`, a plain read comes first (a busy worker claims straight away). The claim
    is phonon.sql.claim()'s one UPDATE … RETURNING; the execution turns `running` in it.
    """
    now = timezone.now()
    if probe_first and _nothing_due(now):
        return None
    _, claim = claim_statements(connection.vendor)
    return sql.run_claim(claim, _claim_params(worker_id, now), Execution)


def claim_executions(worker_id: str, limit: int, *, probe_first: bool = True) -> list[Execution]:
    """Claim up to `limit` of the oldest due executions for `worker_id`, loaded with revision and account."""
    now = timezone.now()
    if probe_first and _nothing_due(now):
        return []
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a thread-local lookup
    claim, load = claim_and_load_statements(db.vendor)
    params = [*_claim_params(worker_id, now), limit]
    if claim is None:
        return load.load_all(db, params)
    with db.cursor() as cursor:
        cursor.execute(claim, params)
        pks = [row[0] for row in cursor.fetchall()]
    if not pks:
        return []
    (pk,) = sql.columns(Execution, "id")
    by_pk = dataclasses.replace(
        load, sql=f"{load.sql} WHERE {sql.table(Execution)}.{pk} IN ({', '.join(['%s'] * len(pks))})"
    )
    return by_pk.load_all(db, pks)


# --- the database lane --------------------------------------------------------------------------


class DatabaseLane:
    """Where a worker process uses the database: `size` threads, each keeping one connection.

    `lane(function, *args)` runs the function on one of them and returns its result (or raises
    its error) in the calling thread. Each thread keeps its connection from task to task
    (reconnecting for each would halve the worker's throughput), whatever CONN_MAX_AGE says for
    web requests; a task that fails for connection trouble closes it, so the next task connects
    afresh. close() ends the threads, each closing its connection.

    On SQLite the tasks take turns (`serial`): it lets one writer in at a time anyway, and a
    writer that finds the lock taken waits in SQLite's busy handler, whose sleeps grow to 100 ms
    whether or not the lock was freed meanwhile (measured: 2,000 claims took 30 s, not 2).
    """

    def __init__(self, size: int, *, serial: bool = False) -> None:
        self.size = size
        self._turn = threading.Lock() if serial else contextlib.nullcontext()
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._serve, name=f"worker-db-{n}", daemon=True) for n in range(size)]
        for thread in self._threads:
            thread.start()

    def __call__(self, function: Callable, *args, **kwargs):
        future: Future = Future()
        self._tasks.put((future, function, args, kwargs))
        return future.result()

    def until_done(self, function: Callable, *args, **kwargs):
        """As a call, tried again with back-off while the database cannot be reached.

        For the writes after a request was sent: the result in hand is kept until it is saved
        (the writes are conditional on the claim, so a retry after a lost acknowledgement finds
        nothing to do). Gives up (raises) after WORKER_LEASE_SECONDS of trying.
        """
        backoff = Backoff()
        while True:
            try:
                return self(function, *args, **kwargs)
            except CONNECTION_TROUBLE as error:
                if backoff.waited_seconds() >= settings.WORKER_LEASE_SECONDS:
                    raise
                delay = backoff.next_delay()
                logger.warning("database unavailable (%s); retrying in %.1f s", first_line(error), delay)
                time.sleep(delay)

    def close(self) -> None:
        """End the threads once the tasks given are done; each closes its connection."""
        for _ in self._threads:
            self._tasks.put(None)
        for thread in self._threads:
            thread.join()

    def _serve(self) -> None:
        try:
            while (task := self._tasks.get()) is not None:
                future, function, args, kwargs = task
                try:
                    future.set_result(self._run(function, args, kwargs))
                except BaseException as error:  # handed to the caller, who raises it
                    future.set_exception(error)
        finally:
            self._close_connection()

    def _run(self, function: Callable, args: tuple, kwargs: dict):
        try:
            with self._turn:
                return function(*args, **kwargs)
        except CONNECTION_TROUBLE:
            self._close_connection()
            raise

    @staticmethod
    def _close_connection() -> None:
        with contextlib.suppress(DatabaseError):
            connection.close()


class Backoff:
    """Delays that double from BACKOFF_FIRST_SECONDS to BACKOFF_MAX_SECONDS, and how long it has been failing."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.delay, self.since = 0.0, None

    def next_delay(self) -> float:
        if self.since is None:
            self.since = time.monotonic()
        self.delay = min(BACKOFF_MAX_SECONDS, max(BACKOFF_FIRST_SECONDS, self.delay * 2))
        return self.delay

    def waited_seconds(self) -> float:
        return 0.0 if self.since is None else time.monotonic() - self.since


# --- the worker ---------------------------------------------------------------------------------


class Worker:
    def __init__(
        self, *, concurrency: int = 1, worker_id: str | None = None, db_connections: int | None = None
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be 1 or more")
        self.concurrency = concurrency
        self.db_connections = db_connections or settings.WORKER_DB_CONNECTIONS
        self.worker_id = worker_id or new_worker_id()
        self.stopping = threading.Event()
        self.database: Callable = run_inline  # run() switches to a DatabaseLane
        self.until_saved: Callable = run_inline
        self.engine_errors = 0
        self._lock = threading.Lock()
        self._held: set = set()  # the executions and deliveries in the seats
        self._seat_freed = threading.Event()
        # Deliveries are claimed while they keep coming or an execution just queued one, else
        # once per poll: a claim is an UPDATE, not to be paid for every execution.
        self._deliveries_pending = True
        self._next_delivery_claim = 0.0

    @property
    def in_flight(self) -> int:
        return len(self._held)

    def held(self) -> list:
        """The executions and deliveries in hand now: the heartbeat reports their count and renews
        their leases (flows.leases.renew_leases)."""
        with self._lock:
            return list(self._held)

    def stop(self) -> None:
        """Finish the work in hand, claim nothing new. Safe to call from a signal handler."""
        self.stopping.set()

    # --- the jobs -----------------------------------------------------------------------------

    def run_one_execution(self, *, probe_first: bool = True) -> bool:
        """Claim one due execution and run it in this thread; False when none is due."""
        claimed = claim_executions(self.worker_id, 1, probe_first=probe_first)
        for execution in claimed:
            self.run_claimed_execution(execution)
        return bool(claimed)

    def run_claimed_execution(self, execution: Execution) -> None:
        """Run a claimed, loaded execution; an engine error ends it `failed` (or gives it back)."""
        with log_context(execution=execution.pk):
            self._run_claimed_execution(execution)

    def _run_claimed_execution(self, execution: Execution) -> None:
        started = time.monotonic()
        try:
            ended = engine.run_loaded_execution(execution, self.worker_id, database=self.until_saved)
        except CONNECTION_TROUBLE:
            self._count_engine_error()
            logger.exception("execution %s: the database stayed out of reach; its lease will expire", execution.pk)
            return
        except Exception as error:
            self._count_engine_error()
            if engine.is_given_up(execution):  # ending it already failed once: no loop of give-backs
                logger.exception("execution %s: could not end it; its lease will expire", execution.pk)
                return
            logger.exception("execution %s: engine error", execution.pk)
            ended = self._end_after_engine_error(execution.pk, error)
        duration = time.monotonic() - started
        if ended is None:
            logger.info("execution %s status=lost-claim duration=%.3fs", execution.pk, duration)
            return
        metrics.count_execution(ended.status)
        logger.info(
            "execution %s flow=%s status=%s duration=%.3fs attempt=%d%s",
            ended.pk,
            ended.flow_id,
            ended.status,
            duration,
            ended.attempts,
            f" reason={ended.failure_reason!r}" if ended.failure_reason else "",
        )
        if ended.revision.flow_end_webhook:  # the published revision it ran, not the draft
            self._deliveries_pending = True

    def _end_after_engine_error(self, execution_id, error: Exception) -> Execution | None:
        """End it from its stored state; failing that, put it back in the queue; failing that, the lease will."""
        try:
            return self.database(engine.end_after_engine_error, execution_id, self.worker_id, error)
        except Exception:
            logger.exception("execution %s: could not end it after the engine error; giving it back", execution_id)
        try:
            self.database(engine.give_back, execution_id, self.worker_id, error)
        except Exception:
            logger.exception("execution %s: could not give it back; its lease will expire", execution_id)
        return None

    def send_one_delivery(self) -> bool:
        """Make one due flow-end delivery attempt in this thread; False when none is due."""
        return deliveries.send_due_delivery(self.worker_id)

    def attempt_claimed_delivery(self, delivery: Delivery) -> None:
        deliveries.attempt_delivery(delivery, self.worker_id, database=self.until_saved)

    # --- the loop -----------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> bool:
        """Work until stop() (or, with `once`, until nothing is due); then finish the jobs in hand.

        False when a job ended in an engine error (or, with `once`, the database stayed out of
        reach for WORKER_LEASE_SECONDS).
        """
        logger.info(
            "worker %s started, concurrency %d, %d database connections%s",
            self.worker_id,
            self.concurrency,
            self.db_connections,
            ", once" if once else "",
        )
        lane = DatabaseLane(self.db_connections, serial=connection.vendor == "sqlite")
        self.database, self.until_saved = lane, lane.until_done
        backoff = Backoff()
        found_work = False  # while work keeps coming the claim needs no probe before it
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="seat") as seats:
                while not self.stopping.is_set():
                    busy = self.in_flight
                    if busy >= self.concurrency:
                        self._wait_for_a_seat()
                        continue
                    try:
                        jobs = self.database(self.claim_jobs, self.concurrency - busy, idle=not (busy or found_work))
                    except DatabaseError as error:
                        delay = backoff.next_delay()
                        logger.warning(
                            "worker %s could not claim work (%s); retrying in %.1f s",
                            self.worker_id,
                            first_line(error),
                            delay,
                        )
                        if once and backoff.waited_seconds() > settings.WORKER_LEASE_SECONDS:
                            self._count_engine_error()
                            break
                        self.stopping.wait(delay)
                        continue
                    backoff.reset()
                    found_work = bool(jobs)
                    for job, argument in jobs:
                        self._submit(seats, job, argument)
                    if jobs:
                        continue
                    if once and busy == 0:  # nothing in flight when the claim found nothing: drained
                        break
                    self._wait_for_a_seat()
        finally:
            lane.close()
            self.database = self.until_saved = run_inline
        logger.info("worker %s stopped", self.worker_id)
        return self.engine_errors == 0

    def claim_jobs(self, free: int, *, idle: bool) -> list[tuple[Callable, object]]:
        """A database task: claim work for up to `free` seats, deliveries first (at most half)."""
        jobs: list[tuple[Callable, object]] = []
        if self._deliveries_pending or time.monotonic() >= self._next_delivery_claim:
            claimed = deliveries.claim_due_deliveries(self.worker_id, min(CLAIM_BATCH, max(1, free // 2)))
            self._deliveries_pending = bool(claimed)
            self._next_delivery_claim = time.monotonic() + POLL_SECONDS
            jobs += [(self.attempt_claimed_delivery, delivery) for delivery in claimed]
        if free > len(jobs):
            try:
                executions = claim_executions(self.worker_id, min(CLAIM_BATCH, free - len(jobs)), probe_first=idle)
            except DatabaseError:
                if not jobs:
                    raise
                logger.warning("worker %s could not claim executions; sending the deliveries claimed", self.worker_id)
                executions = []
            jobs += [(self.run_claimed_execution, execution) for execution in executions]
        return jobs

    def _wait_for_a_seat(self) -> None:
        self._seat_freed.wait(POLL_SECONDS)
        self._seat_freed.clear()

    def _submit(self, seats: ThreadPoolExecutor, work: Callable, argument) -> None:
        with self._lock:
            self._held.add(argument)
        seats.submit(self._job, work, argument)

    def _job(self, work: Callable, argument) -> None:
        """One job in a seat; one that raises is logged and counted, never kills the seat's thread."""
        try:
            work(argument)
        except Exception:
            self._count_engine_error()
            logger.exception("worker %s: a job failed", self.worker_id)
        finally:
            with self._lock:
                self._held.discard(argument)
            self._seat_freed.set()

    def _count_engine_error(self) -> None:
        with self._lock:
            self.engine_errors += 1
