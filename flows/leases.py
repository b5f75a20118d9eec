"""Claiming work with a lease, shared by executions and flow-end deliveries.

A worker wins a row with one conditional UPDATE that says who won; the lease (`locked_until`)
outlives the longest request, so only a dead worker's claim expires and another worker then
takes the row over. Candidates are picked FOR UPDATE SKIP LOCKED where the database has it
(PostgreSQL), so many workers don't queue up on the same row; SQLite runs each statement alone
(a write statement holds the database's write lock from its start), so there the plain
sub-select is already exclusive.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models
from django.utils import timezone


def lease_end(now: datetime | None = None) -> datetime:
    """When a claim taken (or renewed) now expires."""
    return (now or timezone.now()) + timedelta(seconds=settings.WORKER_LEASE_SECONDS)


def lease_free(model: type[models.Model]) -> str:
    """SQL: the row is unclaimed or its claimant's lease has expired; one parameter, now."""
    (locked_until,) = quoted_columns(model, "locked_until")
    return f"({locked_until} IS NULL OR {locked_until} < %s)"


def quoted_columns(model: type[models.Model], *names: str) -> list[str]:
    """The quoted column names of `model`'s fields, for SQL written once per backend."""
    return [connection.ops.quote_name(model._meta.get_field(name).column) for name in names]


def claim_statement(model: type[models.Model], *, due: str, order_by: str, also_set: str = "") -> str:
    """The claim of the first row of `due`, as one statement written once per backend.

        UPDATE t SET claimed_by = %s, locked_until = %s[, also_set] WHERE <due>
            AND pk = (SELECT pk FROM t WHERE <due> ORDER BY <order_by> LIMIT 1 [FOR UPDATE SKIP LOCKED])
        RETURNING pk

    One round trip, no transaction to open and close. The outer WHERE repeats `due`, so a row
    that stopped being due between the sub-select and the write is not taken (the conditional
    UPDATE of healthchecks); RETURNING names the row won (SQLite has it since 3.35, PostgreSQL
    always). `due` is SQL over quoted columns with statuses as literals, not parameters, so the
    planner can prove a partial index's condition (neither PostgreSQL's generic plans nor SQLite
    match a partial index against a bound parameter); its values are parameters, given twice.
    Parameters: worker id, lease end, `also_set`'s, `due`'s, `due`'s again.

    Only quoted names and the callers' own constants are formatted in; Django's ORM took longer
    to build the claim than the database took to run it, hence SQL written once.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    pk, claimed_by, locked_until = quoted_columns(model, model._meta.pk.name, "claimed_by", "locked_until")
    skip_locked = ""
    if connection.features.has_select_for_update_skip_locked:
        skip_locked = " " + connection.ops.for_update_sql(skip_locked=True)
    sets = f"{claimed_by} = %s, {locked_until} = %s" + (f", {also_set}" if also_set else "")
    return (
        f"UPDATE {table} SET {sets} WHERE {due}"  # noqa: S608
        f" AND {pk} = (SELECT {pk} FROM {table} WHERE {due} ORDER BY {order_by} LIMIT 1{skip_locked})"
        f" RETURNING {pk}"
    )


def run_claim(statement: str, params: list, model: type[models.Model]):
    """Run a claim_statement(); the pk of the row won, or None."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return None if row is None else model._meta.pk.to_python(row[0])
