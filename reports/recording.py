"""What reports keep of a finished execution, recorded in the transaction that ends it.

`report_rows_for()` builds the rows without saving them, so the benchmark (and any backfill) can
bulk-create what `record_finished_execution()` would have written one execution at a time.
"""

import functools
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction

from phonon import sql
from phonon.lib.templating import FLOW_KEY_PREFIX

from .models import UDF_NAMES_SEPARATOR, ReportedExecution, ReportedWebhookCall, ReportOutcome


def column_name(variable: str) -> str:
    """The report column of a persisted variable: `$flow.key.order_status` → `order_status`."""
    if variable.startswith(FLOW_KEY_PREFIX):
        return variable[len(FLOW_KEY_PREFIX) :]
    return variable.lstrip("$")


def _as_text(value) -> str | None:
    """Flow variables are strings or null (SPEC §6); anything else is kept as its text."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _as_seconds(value) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _as_status_code(value) -> int | None:
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        return None


def _response_seconds(step: dict) -> float | None:
    """A step's duration is the response time, except for a request sent without waiting
    (`background` set by the engine): the flow went on at once, so its duration says nothing."""
    return None if "background" in step else _as_seconds(step.get("duration"))


def _started_at(execution) -> datetime:
    """An execution that failed before it started still gets a place on the time axis."""
    return execution.started_at or execution.finished_at or execution.created_at


def report_rows_for(execution) -> tuple[ReportedExecution, list[ReportedWebhookCall]]:
    """The unsaved report row of a finished execution and one row per webhook widget step."""
    report, calls = report_values_for(execution)
    return ReportedExecution(**report), [ReportedWebhookCall(**call) for call in calls]


def report_values_for(execution) -> tuple[dict, list[dict]]:
    """report_rows_for()'s rows as {attname: value}: what the worker's INSERTs bind, without model instances."""
    if execution.status not in ReportOutcome.values:
        raise ValueError(f"Execution {execution.pk} is {execution.status!r}; only finished executions are reported.")
    variables = execution.variables or {}
    persisted = dict.fromkeys(execution.persisted_variables or [])  # unique, in order
    udf = {column_name(name): _as_text(variables.get(name)) for name in persisted}
    call = execution.call or {}
    started_at = _started_at(execution)
    calls = [
        dict(
            report_id=execution.pk,
            account_id=execution.account_id,
            flow_id=execution.flow_id,
            started_at=started_at,
            status=execution.status,
            widget=str(step.get("widget") or "")[:64],
            position=position,
            duration=_response_seconds(step),
            status_code=_as_status_code(step.get("status_code")),
            error_reason=str(step.get("error_reason") or "")[:40],
        )
        for position, step in enumerate(execution.steps or [])
        if isinstance(step, dict) and step.get("type") == "webhook"
    ]
    report = dict(
        execution_id=execution.pk,
        account_id=execution.account_id,
        flow_id=execution.flow_id,
        started_at=started_at,
        day=started_at.date(),
        status=execution.status,
        webhook_failures=min(sum(1 for row in calls if row["error_reason"]), 32767),
        cli=str(call.get("cli") or "")[:64],
        did=str(call.get("did") or "")[:64],
        udf=udf,
        udf_names=UDF_NAMES_SEPARATOR.join(sorted(udf)),
    )
    return report, calls


@functools.cache
def _report_insert(vendor: str) -> tuple[str, list[models.Field]]:
    return sql.insert(ReportedExecution, upsert=True)


def on_execution_finished(sender, *, execution, first: bool, **kwargs) -> None:
    """The receiver of flows.signals.execution_finished (connected in ReportsConfig.ready())."""
    record_finished_execution(execution, first=first)


def record_finished_execution(execution, *, first: bool = False) -> None:
    """Run (through flows.signals.execution_finished) inside the transaction that ends an execution.

    Idempotent: recording the same execution again (a retried finish, the outcomes of requests
    sent without waiting) replaces its rows. `first` says no rows can exist yet (the engine's
    finishing transaction, which runs once per execution), so the old step rows need no DELETE.
    Statements: the DELETE (unless `first`), an INSERT … ON CONFLICT DO UPDATE of the report row
    and an INSERT of the step rows — on PostgreSQL one statement for both INSERTs (phonon.sql's
    insert_rows); inside the caller's transaction no savepoint is added. The
    INSERTs are phonon.sql's, written once per backend (the ORM's bulk_create took longer to
    build them than the database took to run them), with the values each field would bind.
    """
    report, calls = report_values_for(execution)
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a thread-local lookup
    with transaction.atomic(savepoint=False):
        if not first:
            ReportedWebhookCall.objects.filter(report_id=execution.pk).delete()
        statement, fields = _report_insert(db.vendor)
        sql.insert_rows(ReportedWebhookCall, calls, db, first=(statement, sql.save_params(fields, report, db)))
