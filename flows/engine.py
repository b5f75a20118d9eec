"""The execution engine: walks one execution's flow from widget to widget.

`run_execution()` is called by the worker after it has claimed the execution (flows.worker). It
walks the execution's revision (the one published when the call was queued): from its `start`
widget with the call's and user keys' variables, it runs each widget through the widget
functions, records a step per widget and follows `next[line]` until an `end` widget (completed)
or an engine error (failed, with a reason).

Recovery and delivery semantics — at least once per widget:

- After every webhook widget (unless the next widget is the end and nothing runs in the
  background) the engine saves a checkpoint (`next_widget`, `variables`, `steps`) and renews the
  lease in one conditional UPDATE. A worker that takes over an expired claim continues from
  that checkpoint instead of starting again. The lease (WORKER_LEASE_SECONDS) outlives one
  widget's 60 s deadline, so a live worker always renews it in time.
- A worker killed while a widget runs loses that widget's result, so the recovering worker runs
  the widget again: an endpoint may see the same request twice (never zero times). Assign and
  end widgets are pure and simply repeat.
- A request sent without waiting for its answer (`wait_for_response` off) runs in a background
  thread; its step says `"background": "pending"` until the answer is in. It does not hold the
  execution up: the execution ends (completed, finished_at, flow-end delivery, report rows) as
  soon as it reaches its end, and only then does the worker wait for the requests still out
  (each within its own deadline plus a margin) and write their outcomes into their steps, in
  one conditional UPDATE for the whole execution (one writer per execution, so the outcomes of
  several requests never overwrite each other) together with the report rows. Outcomes already
  in when the execution ends are written by the finishing transaction itself.
- While it waits, the worker's seat stays busy (as with a request that waits for its answer),
  so the wait counts against `--concurrency` and never holds up the other seats' claims; with
  `--concurrency 1` the next execution and the flow-end delivery wait for the seat.
- No-wait requests are sent at most once: a checkpoint follows every no-wait widget, so a
  recovering worker does not send one again; a step whose worker died before its answer was
  in says so (`"lost"`), and one whose worker died after the execution ended stays
  `"pending"`.

Only the current claimant writes: every write is `filter(pk=…, claimed_by=worker_id).update(…)`;
a worker that finds its claim taken over stops quietly (LeaseLost) and leaves the execution to
the new claimant. No transaction is open while a widget runs.

Where the database is used: every read and write of a run goes through the `database` callable
the caller passes (`database(function, *args)` runs the function where a connection may be
used). The worker passes its few database threads (flows.worker.DatabaseLane), so the threads
that wait for webhooks never hold a connection; tests and other callers run inline. Internal-mode
webhook widgets read the account's data, so they run there too; a webhook widget's cache and
circuit-breaker work (SPEC §15) gets the callable in its CallContext, and the requests it sent are
saved for the endpoint health figures in the finishing transaction.

Poison jobs: each claim counts an attempt. A run that raises (a write the database refused, a
bug) is not run again: its worker ends it `failed` from its stored state, which the database did
accept (`end_after_engine_error()`); failing that, it puts it back in the queue with the error as
`failure_reason` (`give_back()`), and the next claimant ends it so, without running a widget. An
execution claimed more than WORKER_MAX_ATTEMPTS times (its workers died) is ended the same way.
Either way its flow-end delivery goes out; its report rows too, unless they are what the database
refuses (then they are left out, and the log says so).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.utils import timezone

from flows import deliveries
from flows.leases import lease_end, run_inline
from flows.models import Execution, ExecutionStatus
from flows.signals import execution_finished
from flows.variables import initial_variables
from flows.widgets import WidgetOutcome
from flows.widgets.assign import run_assign_widget
from flows.widgets.webhook import (
    CallContext,
    PreparedRequest,
    outcome_from_result,
    prepare_webhook_request,
    run_webhook_widget,
    send_prepared,
)
from phonon import sql
from phonon.lib.outbound import OutboundResult
from phonon.lib.storable import storable, storable_error
from phonon.logs import bind_log_context
from webhooks import endpoints

logger = logging.getLogger(__name__)

# A flow whose lines loop forever (assign → assign → …) is stopped after this many widgets.
MAX_STEPS = 200
# Time allowed beyond a background request's own deadline before its step is given up on.
BACKGROUND_JOIN_MARGIN_SECONDS = 5

# Requests sent without waiting for the answer. The pool is shared by every execution of the
# process; its threads only talk to the network, never to the database.
_background_requests = ThreadPoolExecutor(max_workers=32, thread_name_prefix="no-wait-request")


class LeaseLost(Exception):
    """Another worker took this execution over (our lease expired): stop without writing."""


@dataclass
class BackgroundRequest:
    step: dict[str, Any]
    config: dict[str, Any]
    future: Future
    deadline: float  # time.monotonic() by which the answer must be in
    prepared: PreparedRequest


# What a run needs loaded with the execution: the widgets it walks are its revision's. Not the
# flow: its draft widgets and layout would be decoded for nothing (the run needs only flow_id).
LOADED_WITH = ("revision", "account")


@functools.cache
def load_statement(vendor: str) -> sql.JoinedSelect:
    """The SELECT of load_claimed_execution(), written once per backend.

    `Execution.objects.select_related("flow", "account").get(…)` cost about 1.4 ms a call, 1 ms
    of it Django compiling the same query again.
    """
    return sql.select_joined(Execution, related=LOADED_WITH, where=("id", "claimed_by"))


def load_claimed_execution(execution_id, worker_id: str) -> Execution | None:
    """The execution with its revision and account, if `worker_id` holds its claim; else None."""
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a thread-local lookup
    return load_statement(db.vendor).load(db, [Execution._meta.pk.get_db_prep_value(execution_id, db), worker_id])


def run_execution(execution_id, worker_id: str, *, database: Callable = run_inline) -> Execution | None:
    """Run an execution claimed by `worker_id` (flows.worker) to its end; None if the claim is not ours."""
    execution = database(load_claimed_execution, execution_id, worker_id)
    if execution is None:
        return None
    return run_loaded_execution(execution, worker_id, database=database)


def run_loaded_execution(execution: Execution, worker_id: str, *, database: Callable = run_inline) -> Execution | None:
    """Run a claimed execution loaded with its revision and account; None if the claim is no longer ours.

    One claimed too often (`attempts` > WORKER_MAX_ATTEMPTS) is given up instead (see the docstring).
    """
    bind_log_context(account=execution.account_id, flow=execution.flow_id)
    run = ExecutionRun(execution, worker_id, database)
    try:
        if is_given_up(execution):
            return run.finish(ExecutionStatus.FAILED, give_up_reason(execution), reports_may_fail=True)
        status, reason = run.walk()
        execution = run.finish(status, reason)
    except LeaseLost:
        logger.warning("execution %s: the claim of %s expired; another worker has it now", execution.pk, worker_id)
        return None
    run.write_background_outcomes()
    return execution


def end_after_engine_error(execution_id, worker_id: str, error: BaseException) -> Execution | None:
    """End `failed` an execution whose run raised (a write the database refused, a bug), from what is stored.

    The widgets already ran (their requests were sent), so it is not left to be claimed and run
    again: it ends with the error as its reason, from its last stored state (which the database
    did accept), with its flow-end delivery and report rows. Call it where the database may be used.
    """
    execution = load_claimed_execution(execution_id, worker_id)
    if execution is None:
        return None
    reason = f"The worker could not save this execution's progress: {storable_error(error)}"
    try:
        return ExecutionRun(execution, worker_id).finish(ExecutionStatus.FAILED, reason, reports_may_fail=True)
    except LeaseLost:
        return None


def give_back(execution_id, worker_id: str, error: BaseException) -> bool:
    """Put a claimed execution back in the queue at once (not after the lease), noting why.

    The next claimant ends it `failed` with that reason, without running its widgets again.
    """
    return bool(
        Execution.objects.filter(pk=execution_id, claimed_by=worker_id, status=ExecutionStatus.RUNNING).update(
            claimed_by="", locked_until=None, failure_reason=storable_error(error)
        )
    )


def is_given_up(execution: Execution) -> bool:
    """A claimed execution to end without running: given back after an engine error, or claimed too often."""
    return bool(execution.failure_reason) or execution.attempts > settings.WORKER_MAX_ATTEMPTS


def give_up_reason(execution: Execution) -> str:
    """Why a claimed execution is ended without running: the error a worker gave it back with, or its attempts."""
    if execution.failure_reason:
        return execution.failure_reason
    return (
        f"Given up after {execution.attempts - 1} attempts (WORKER_MAX_ATTEMPTS): each worker that ran it"
        " stopped before its end (crashed, or lost the database for longer than the lease)."
    )


class WalkStopped(Exception):
    """Stops a walk with a failure reason (a rehearsal meeting a widget it has no answer for)."""


class Walk:
    """Walking a flow's widgets for one call, in memory: the engine's one run path.

    A worker's ExecutionRun adds the database (checkpoints, the finish); flows.test_cases
    rehearses a test case with the same class, its network replaced at `send` (the one point
    flows reach it: flows.widgets.webhook.send_prepared) and `call_internal`. Subclasses
    override `checkpoint()` to save progress after a webhook widget.
    """

    def __init__(
        self,
        *,
        widgets: list[dict[str, Any]],
        start: str,
        account,
        variables: dict[str, str | None],
        steps: list[dict[str, Any]] | None = None,
        persisted: list[str] | None = None,
        next_widget: str = "",
        label: Any = "",
        database: Callable = run_inline,
    ) -> None:
        self.widgets = {widget["id"]: widget for widget in widgets}
        self.start = start
        self.account = account
        self.variables = variables
        self.steps = steps or []
        self.persisted = persisted or []
        self.next_widget = next_widget
        self.label = label  # what the log names: the execution's id, or the test case
        self.database = database  # runs a function where a connection may be used (see the docstring)
        self.background: list[BackgroundRequest] = []
        # The network and the platform functions; None: the real ones (looked up when called).
        self.send: Callable[[PreparedRequest], OutboundResult] | None = None
        self.call_internal: Callable[..., tuple[bool, str]] | None = None

    def walk(self) -> tuple[str, str]:
        """Follow the lines from widget to widget; (final status, failure reason)."""
        widgets = self.widgets
        widget_id = self.next_widget or self.start
        while True:
            widget = widgets.get(widget_id)
            if widget is None:
                return ExecutionStatus.FAILED, f"The flow has no widget {widget_id!r} to run."
            if widget["type"] == "end":
                self.steps.append(self.new_step(widget, line=None, started=time.monotonic()))
                return ExecutionStatus.COMPLETED, ""
            if len(self.steps) >= MAX_STEPS:
                return (
                    ExecutionStatus.FAILED,
                    f"Stopped after {MAX_STEPS} widgets: the flow's lines go round in a loop.",
                )
            bind_log_context(widget=widget_id)
            try:
                line = self.run_widget(widget)
            except WalkStopped as stop:
                return ExecutionStatus.FAILED, str(stop)
            except Exception as error:  # a bug must fail one execution, not stop the worker
                logger.exception("execution %s: widget %s raised", self.label, widget_id)
                return ExecutionStatus.FAILED, f"Widget {widget_id!r} ({widget['type']}) raised an error: {error}"
            next_id = (widget.get("next") or {}).get(line)
            if not next_id:
                return ExecutionStatus.FAILED, f"Widget {widget_id!r} left on line {line}, which leads nowhere."
            if widget["type"] == "webhook" and (self.background or widgets.get(next_id, {}).get("type") != "end"):
                self.checkpoint(next_id)
            widget_id = next_id

    def run_widget(self, widget: dict[str, Any]) -> str:
        """Run one widget, record its step, apply its variables; the line it leaves on."""
        started = time.monotonic()
        config = widget.get("config") or {}
        account = self.account
        if widget["type"] == "assign":
            outcome = run_assign_widget(config, self.variables)
        elif widget["type"] != "webhook":
            raise ValueError(f"unknown widget type {widget['type']!r}")
        elif config.get("mode") != "internal" and not config.get("wait_for_response", True):
            prepared = prepare_webhook_request(config, self.variables, account=account)
            return self.send_without_waiting(widget, config, prepared, started)
        else:
            context = self.call_context(widget["id"])
            run = functools.partial(run_webhook_widget, config, self.variables, account=account, context=context)
            # Platform functions read the account's data: they run where the database may be used.
            outcome = self.database(run) if config.get("mode") == "internal" else run()
        self.variables.update(outcome.variables)
        self.persisted.extend(name for name in outcome.persisted if name not in self.persisted)
        step = self.new_step(widget, line=outcome.line, started=started)
        self.steps.append({**step, **outcome.step, **step})  # the engine's keys first, and they win
        return outcome.line

    def send_without_waiting(self, widget: dict[str, Any], config: dict[str, Any], prepared, started: float) -> str:
        """wait_for_response off: line 0 at once, no variables; the outcome joins the step later."""
        step = self.new_step(widget, line="0", started=started)
        step["wait_for_response"] = False
        if isinstance(prepared, WidgetOutcome):  # the request could not even be built
            step.update(background_result(prepared))
        else:
            step.update({**prepared.describe(), **step, "background": "pending"})
            future = _background_requests.submit(self.send or send_prepared, prepared)
            deadline = time.monotonic() + prepared.timeout + BACKGROUND_JOIN_MARGIN_SECONDS
            self.background.append(BackgroundRequest(step, config, future, deadline, prepared))
        self.steps.append(step)
        return "0"

    def collect_background(self, *, wait: bool) -> None:
        """Put the outcome of each no-wait request into its step: the finished ones, or (`wait`) all."""
        still_out = []
        for request in self.background:
            if not wait and not request.future.done():
                still_out.append(request)
                continue
            try:
                result = request.future.result(timeout=max(0.0, request.deadline - time.monotonic()))
            except FutureTimeout:
                request.step["background"] = "unfinished"
                continue
            except Exception as error:
                logger.exception("execution %s: a background request raised", self.label)
                request.step["background"] = f"error: {error}"
                continue
            outcome = outcome_from_result(
                request.config, result, request.prepared, account_id=self.execution.account_id
            )
            request.step.update(background_result(outcome))
        self.background = still_out

    def new_step(self, widget: dict[str, Any], *, line: str | None, started: float) -> dict[str, Any]:
        return {
            "widget": widget["id"],
            "type": widget["type"],
            "line": line,
            "started_at": (timezone.now() - timedelta(seconds=time.monotonic() - started)).isoformat(),
            "duration": round(time.monotonic() - started, 3),
        }

    def checkpoint(self, next_widget: str) -> None:
        """Called after a webhook widget (unless the end comes next): nothing to save in memory."""

    def call_context(self, widget_id: str) -> CallContext:
        """What a webhook widget runs with: here a rehearsal's, unguarded (no cache, circuit
        breaker or health figures) and with its network and platform functions replaced."""
        return CallContext(
            str(self.label), None, widget_id, guarded=False, send=self.send, call_internal=self.call_internal
        )


class ExecutionRun(Walk):
    """The walk of one claimed execution: its revision's widgets, saved as it goes."""

    def __init__(self, execution: Execution, worker_id: str, database: Callable = run_inline) -> None:
        revision = execution.revision
        resumed = bool(execution.next_widget)  # taken over from a worker that died: continue from its checkpoint
        super().__init__(
            widgets=revision.widgets,
            start=revision.start,
            account=execution.account,
            variables=dict(execution.variables)
            if resumed
            else initial_variables(execution.call or {}, execution.user_keys or {}),
            steps=[forget_lost_background(step) for step in execution.steps] if resumed else [],
            persisted=list(execution.persisted_variables or []),
            next_widget=execution.next_widget,
            label=execution.pk,
            database=database,
        )
        self.execution = execution
        self.worker_id = worker_id
        # The requests the calls sent, saved with the execution's end for the endpoint health figures.
        self.sent: list[dict[str, Any]] = []

    def call_context(self, widget_id: str) -> CallContext:
        """A call's: guarded, its cache and breaker work on the run's database callable."""
        execution = self.execution
        return CallContext(str(execution.pk), execution.flow_id, widget_id, database=self.database, sent=self.sent)

    def write_background_outcomes(self) -> None:
        """After the execution has ended: wait for the no-wait requests still out, write their outcomes once.

        No transaction is open while waiting; the one UPDATE (and the report rows, recorded again
        with the outcomes) comes after the last answer or deadline.
        """
        if not self.background:
            return
        self.collect_background(wait=True)
        self.database(self._write_background_outcomes)

    def _write_background_outcomes(self) -> None:
        with transaction.atomic():
            saved = Execution.objects.filter(pk=self.execution.pk, claimed_by=self.worker_id).update(steps=self.steps)
            if saved:
                execution_finished.send(Execution, execution=self.execution, first=False)

    def checkpoint(self, next_widget: str) -> None:
        """Save progress and renew the lease, so a recovering worker continues from `next_widget`."""
        self.database(self._checkpoint, next_widget)

    def _checkpoint(self, next_widget: str) -> None:
        saved = Execution.objects.filter(pk=self.execution.pk, claimed_by=self.worker_id).update(
            next_widget=next_widget,
            variables=self.variables,
            steps=self.steps,
            persisted_variables=self.persisted,
            locked_until=lease_end(),
        )
        if not saved:
            raise LeaseLost

    def finish(self, status: str, reason: str, *, reports_may_fail: bool = False) -> Execution:
        """End the execution in one transaction with its flow-end delivery and report rows
        (execution_finished's receiver, reports.recording).

        No-wait requests still out are not waited for: write_background_outcomes() follows.
        """
        self.collect_background(wait=False)
        fields = {
            "status": status,
            "failure_reason": storable(reason),  # it may quote an exception's text
            "variables": self.variables,
            "steps": self.steps,
            "persisted_variables": self.persisted,
            "finished_at": timezone.now(),
            "locked_until": None,
            "next_widget": "",
        }
        return self.database(self._finish, status, fields, reports_may_fail)

    def _finish(self, status: str, fields: dict[str, Any], reports_may_fail: bool) -> Execution:
        execution = self.execution
        db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a thread-local lookup
        statement, model_fields = finish_statement(db.vendor)
        params = sql.save_params(model_fields, fields, db)
        params += [Execution._meta.pk.get_db_prep_value(execution.pk, db), self.worker_id]
        with transaction.atomic():
            with db.cursor() as cursor:
                cursor.execute(statement, params)
                if cursor.rowcount != 1:
                    raise LeaseLost
            for name, value in fields.items():
                setattr(execution, name, value)
            execution.status = ExecutionStatus(status)
            endpoints.save_requests(execution.account_id, self.sent)
            deliveries.enqueue_flow_end_delivery(execution)
            if not reports_may_fail:
                execution_finished.send(Execution, execution=execution, first=True)
                return execution
            try:
                with transaction.atomic():  # a savepoint: the end stands without the receivers' rows
                    execution_finished.send(Execution, execution=execution, first=True)
            except DatabaseError:
                logger.exception("execution %s: its report rows were refused; it ends without them", execution.pk)
        return execution


FINISH_FIELDS = ("status", "failure_reason", "variables", "steps", "persisted_variables", "finished_at", "locked_until")


@functools.cache
def finish_statement(vendor: str) -> tuple[str, list]:
    """The UPDATE of ExecutionRun.finish() and the fields of its first parameters, written once per backend.

        UPDATE execution SET <FINISH_FIELDS> = %s…, next_widget = '' WHERE pk = %s AND claimed_by = %s
            AND status = 'running'

    Only the claimant of a running execution ends it. Values are bound as each field's
    get_db_prep_save() gives them (JSON encoded once, with the JSONField's encoder); the ORM's
    UPDATE cost more to build than to run.
    """
    return sql.update(
        Execution,
        FINISH_FIELDS,
        set_literals={"next_widget": ""},
        where=("id", "claimed_by"),
        where_literals={"status": ExecutionStatus.RUNNING},
    )


def background_result(outcome: WidgetOutcome) -> dict[str, Any]:
    """A no-wait request's outcome as step details; its line is recorded, not followed."""
    details = {key: value for key, value in outcome.step.items() if key not in ("line", "duration", "started_at")}
    details["request_duration"] = outcome.step.get("duration")
    details["background"] = "SUCCESS" if outcome.line == "0" else "FAILED"
    details["background_line"] = outcome.line
    return details


def forget_lost_background(step: dict[str, Any]) -> dict[str, Any]:
    """A no-wait request still pending when its worker died: its answer is lost, say so."""
    if step.get("background") == "pending":
        return {**step, "background": "lost", "background_note": "The worker stopped before the answer came."}
    return step
