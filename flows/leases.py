"""Claiming work with a lease, shared by executions and flow-end deliveries.

A worker wins a row with one conditional UPDATE that says who won; the lease (`locked_until`)
outlives the longest request, so only a dead worker's claim expires and another worker then
takes the row over. Candidates are picked FOR UPDATE SKIP LOCKED where the database has it
(PostgreSQL), so many workers don't queue up on the same row; SQLite runs each statement alone
(a write statement holds the database's write lock from its start), so there the plain
sub-select is already exclusive.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connections, models
from django.db.models.expressions import RawSQL
from django.db.models.sql import UpdateQuery
from django.utils import timezone


def lease_expired(now) -> models.Q:
    return models.Q(locked_until__isnull=True) | models.Q(locked_until__lt=now)


def claim_one(due: models.QuerySet, *, worker_id: str, order_by: str, **changes) -> object | None:
    """Claim the first row of `due` (already filtered to claimable rows); its pk, or None.

    `changes` are further fields set by the same UPDATE (an execution turns `running`).

    One statement, one round trip, no transaction to open and close:

        UPDATE t SET claimed_by = …, locked_until = …, … WHERE <due>
            AND pk = (SELECT pk FROM t WHERE <due> ORDER BY … LIMIT 1 [FOR UPDATE SKIP LOCKED])
        RETURNING pk

    The outer WHERE repeats `due`, so a row that stopped being due between the sub-select and
    the write is not taken (the conditional UPDATE of healthchecks); RETURNING names the row won
    (SQLite has it since 3.35, PostgreSQL always). Django's UPDATE cannot return rows, so the
    statement is compiled by the ORM and only `RETURNING` is appended.
    """
    connection = connections[due.db]
    model = due.model
    pk = model._meta.pk
    candidate_sql, candidate_params = due.order_by(order_by).values_list("pk")[:1].query.sql_with_params()
    if connection.features.has_select_for_update_skip_locked:
        candidate_sql = f"{candidate_sql} {connection.ops.for_update_sql(skip_locked=True)}"
    candidate = RawSQL(candidate_sql, candidate_params, output_field=pk)  # noqa: S611 - compiled by the ORM
    claim = due.filter(pk=candidate).query.chain(UpdateQuery)
    lease = timezone.now() + timedelta(seconds=settings.WORKER_LEASE_SECONDS)
    claim.add_update_values({"claimed_by": worker_id, "locked_until": lease, **changes})
    sql, params = claim.get_compiler(using=due.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(pk.column)}", params)
        row = cursor.fetchone()
    return None if row is None else pk.to_python(row[0])
