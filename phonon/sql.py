"""Every hand-written SQL statement of the hot paths, built here from the models' metadata.

The worker's claims, the engine's load and finish of an execution, the report and health rows' INSERTs
and the CSV export's rows: Django's ORM took longer to build (or convert) these than the
database took to run them (benchmarks/flows_bench.py), so they are written once per backend and
cached by their callers (`functools.cache` on a function of the vendor).

Why here: the builders serve flows and reports, so they may live in neither (reports imports
flows, never the other way); they read Django's connection and model metadata, so not in the
Django-free phonon/lib. They take the model and field names as arguments and import no app.
Only quoted names and the callers' own constants (`literal()`) are formatted into the text;
values are parameters. phonon/tests/test_sql.py compares each statement's result with the ORM's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections, models
from django.db.models import Field, Model, QuerySet


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    """The quoted table name of `model`."""
    return quote(model._meta.db_table)


def columns(model: type[Model], *names: str) -> list[str]:
    """The quoted column names of `model`'s fields (`"flow"` gives `"flow_id"`)."""
    return [quote(model._meta.get_field(name).column) for name in names]


def literal(value: str) -> str:
    """One of our own constants (a status) as an SQL string literal.

    Statuses are written as literals, not parameters, where the planner must prove a partial
    index's condition (neither PostgreSQL's generic plans nor SQLite match one against a bound
    parameter).
    """
    return "'" + str(value).replace("'", "''") + "'"


def equals(model: type[Model], names: Iterable[str], *, qualified: bool = False) -> list[str]:
    """`column = %s` for each field name, optionally `table.column = %s`."""
    prefix = table(model) + "." if qualified else ""
    return [f"{prefix}{column} = %s" for column in columns(model, *names)]


def save_params(fields: Sequence[Field], values: Mapping[str, Any], db) -> list:
    """The parameters Django's own INSERT or UPDATE would bind: each field's save-time value of
    `values[attname]`, its default where `values` has none."""
    return [
        field.get_db_prep_save(values[field.attname] if field.attname in values else field.get_default(), db)
        for field in fields
    ]


# --- SELECT: one row with the rows its foreign keys point to ------------------------------------


@dataclass(frozen=True)
class JoinedSelect:
    """`select_joined()`'s statement and what load() needs to turn its row into instances."""

    sql: str
    # Per model (the first is the row's own): the model, its attribute names and each column's
    # converters, the ones Django's compiler would apply.
    parts: list[tuple[type[Model], list[str], list[tuple[Any, list]]]]
    related: list[Field]

    def load(self, db, params: Sequence) -> Model | None:
        """The row as an instance with its related instances cached, or None when none matched."""
        found = self.load_all(db, params)
        return found[0] if found else None

    def load_all(self, db, params: Sequence) -> list[Model]:
        """Every row as an instance with its related instances cached."""
        with db.cursor() as cursor:
            cursor.execute(self.sql, params)
            rows = cursor.fetchall()
        return [self._instance(db, row) for row in rows]

    def _instance(self, db, row: Sequence) -> Model:
        instances, offset = [], 0
        for model, attnames, converters in self.parts:
            values = list(row[offset : offset + len(attnames)])
            offset += len(attnames)
            for index, (col, functions) in enumerate(converters):
                for convert in functions:
                    values[index] = convert(values[index], col, db)
            instances.append(model.from_db(db.alias, attnames, values))
        instance, *related = instances
        for field, value in zip(self.related, related, strict=True):
            field.set_cached_value(instance, value)
        return instance


def select_joined(
    model: type[Model], *, related: Sequence[str], where: Sequence[str] = (), rows_of: str = ""
) -> JoinedSelect:
    """`model.objects.select_related(*related).get(<where> = %s…)` written once.

        SELECT <every column of model and each related model> FROM t
            INNER JOIN r ON r.pk = t.r_id … WHERE t.<where> = %s AND …

    Parameters: the `where` fields' values, prepared by the caller (get_db_prep_value()).
    With `rows_of`, a statement that returns every column of `model` (a claim(…, returning="*")
    on PostgreSQL), the rows read are that statement's, in the same round trip:
    `WITH rows AS (<rows_of>) SELECT … FROM rows AS t INNER JOIN …`.
    """
    fields = [model._meta.get_field(name) for name in related]
    parts, selected = [], []
    for part in (model, *(field.related_model for field in fields)):
        concrete = part._meta.concrete_fields
        cols = [field.get_col(part._meta.db_table) for field in concrete]
        selected += [f"{table(part)}.{quote(field.column)}" for field in concrete]
        converters = [(col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for col in cols]
        parts.append((part, [field.attname for field in concrete], converters))
    joins = "".join(
        f" INNER JOIN {table(field.related_model)} ON {table(field.related_model)}.{quote(field.target_field.column)}"
        f" = {table(model)}.{quote(field.column)}"
        for field in fields
    )
    conditions = " AND ".join(equals(model, where, qualified=True))
    source = f"rows AS {table(model)}" if rows_of else table(model)
    sql = f"SELECT {', '.join(selected)} FROM {source}{joins}"  # noqa: S608
    if conditions:
        sql += f" WHERE {conditions}"
    if rows_of:
        sql = f"WITH rows AS ({rows_of}) {sql}"
    return JoinedSelect(sql, parts, fields)


# --- UPDATE: a conditional write of known fields -------------------------------------------------


def update(
    model: type[Model],
    fields: Sequence[str],
    *,
    set_literals: Mapping[str, str] | None = None,
    where: Sequence[str],
    where_literals: Mapping[str, str] | None = None,
) -> tuple[str, list[Field]]:
    """`filter(<where>=…, <where_literals>).update(<fields>=…, <set_literals>)` written once, and the
    fields whose values (save_params()) come first among its parameters, then the `where` values.

        UPDATE t SET a = %s, …, c = 'constant' WHERE w = %s AND … AND s = 'constant'

    The caller reads the cursor's rowcount to learn whether the row matched.
    """
    sets = equals(model, fields)
    sets += [f"{column} = {literal(value)}" for column, value in _quoted(model, set_literals)]
    conditions = equals(model, where)
    conditions += [f"{column} = {literal(value)}" for column, value in _quoted(model, where_literals)]
    sql = f"UPDATE {table(model)} SET {', '.join(sets)} WHERE {' AND '.join(conditions)}"  # noqa: S608
    return sql, [model._meta.get_field(name) for name in fields]


def _quoted(model: type[Model], values: Mapping[str, str] | None) -> list[tuple[str, str]]:
    values = values or {}
    return list(zip(columns(model, *values), values.values(), strict=True))


# --- Claims: win the first due row under a lease ------------------------------------------------


def lease_free(model: type[Model]) -> str:
    """The row is unclaimed or its claimant's lease has expired; one parameter, now."""
    (locked_until,) = columns(model, "locked_until")
    return f"({locked_until} IS NULL OR {locked_until} < %s)"


def claim(
    model: type[Model], *, due: str, order_by: str, also_set: str = "", many: bool = False, returning: str = ""
) -> str:
    """The claim of the first row of `due` (flows.leases), as one statement.

        UPDATE t SET claimed_by = %s, locked_until = %s[, also_set] WHERE <due>
            AND pk = (SELECT pk FROM t WHERE <due> ORDER BY <order_by> LIMIT 1 [FOR UPDATE SKIP LOCKED])
        RETURNING pk

    With `many`, the first rows up to a limit (`pk IN (… LIMIT %s)`, on PostgreSQL
    `pk = ANY(ARRAY(… LIMIT %s))`; the limit is the last parameter); `returning` replaces `pk`
    (`*` for select_joined(rows_of=…)).

    One round trip, no transaction to open and close. The outer WHERE repeats `due`, so a row
    that stopped being due between the sub-select and the write is not taken (the conditional
    UPDATE of healthchecks); RETURNING names the row won (SQLite has it since 3.35, PostgreSQL
    always). `due` is SQL over quoted columns with statuses as literals; its values are
    parameters, given twice. FOR UPDATE SKIP LOCKED where the database has it (PostgreSQL), so
    many workers don't queue up on the same row; SQLite runs each write statement alone, so
    there the plain sub-select is already exclusive.
    Parameters: worker id, lease end, `also_set`'s, `due`'s, `due`'s again[, the limit].
    """
    pk, claimed_by, locked_until = columns(model, model._meta.pk.name, "claimed_by", "locked_until")
    skip_locked = ""
    if connection.features.has_select_for_update_skip_locked:
        skip_locked = " " + connection.ops.for_update_sql(skip_locked=True)
    sets = f"{claimed_by} = %s, {locked_until} = %s" + (f", {also_set}" if also_set else "")
    first = f"SELECT {pk} FROM {table(model)} WHERE {due} ORDER BY {order_by} LIMIT {'%s' if many else 1}{skip_locked}"  # noqa: S608
    if not many:
        chosen = f"{pk} = ({first})"
    elif connection.vendor == "postgresql":
        # ARRAY(…) runs the sub-select once; PostgreSQL may run an IN (…) sub-select again for
        # each row, and with SKIP LOCKED each run can pick other rows: more than the limit.
        chosen = f"{pk} = ANY(ARRAY({first}))"
    else:
        chosen = f"{pk} IN ({first})"
    return f"UPDATE {table(model)} SET {sets} WHERE {due} AND {chosen} RETURNING {returning or pk}"  # noqa: S608


def run_claim(statement: str, params: list, model: type[Model]):
    """Run a claim(); the pk of the row won, or None."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return None if row is None else model._meta.pk.to_python(row[0])


# --- INSERT: report rows, health rows ------------------------------------------------------------------------


def insert(model: type[Model], rows: int = 1, *, upsert: bool = False) -> tuple[str, list[Field]]:
    """`INSERT INTO t (cols) VALUES (…)[, (…)…]` of every concrete field but an automatic key, and the
    fields (save_params() gives each row's parameters).

    With `upsert`, `ON CONFLICT (pk) DO UPDATE SET` every other column (SQLite ≥ 3.24 and
    PostgreSQL say it alike).
    """
    fields = [field for field in model._meta.concrete_fields if not isinstance(field, models.AutoField)]
    names = [quote(field.column) for field in fields]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {table(model)} ({', '.join(names)}) VALUES {', '.join([row] * rows)}"  # noqa: S608
    if upsert:
        key = quote(model._meta.pk.column)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name != key)
        sql += f" ON CONFLICT ({key}) DO UPDATE SET {updates}"
    return sql, fields


# SQLite may allow only 999 bound parameters a statement: insert_rows() goes in chunks under it.
MAX_PARAMETERS = 999


@functools.cache
def _insert_of(model: type[Model], rows: int, vendor: str) -> tuple[str, list[Field]]:
    return insert(model, rows)


def insert_rows(
    model: type[Model], rows: Sequence[Mapping[str, Any]], db, *, first: tuple[str, list] | None = None
) -> None:
    """INSERT `rows` ({attname: value}, as save_params() reads them) in as few statements as the
    parameter limit allows, each statement written once per model, size and backend.

    `first` (a statement and its parameters) runs before them: on PostgreSQL inside the first
    INSERT (`WITH first AS (…) INSERT …`, one round trip for both; foreign keys are checked at
    the statement's end or the commit), elsewhere on its own.
    """
    fields = _insert_of(model, 1, db.vendor)[1]
    per_statement = max(1, MAX_PARAMETERS // len(fields))
    with db.cursor() as cursor:
        if first and not (rows and db.vendor == "postgresql"):
            cursor.execute(*first)
            first = None
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            statement, fields = _insert_of(model, len(chunk), db.vendor)
            params = [value for row in chunk for value in save_params(fields, row, db)]
            if first:
                statement, params = f"WITH first AS ({first[0]}) {statement}", [*first[1], *params]
                first = None
            cursor.execute(statement, params)


# --- Raw rows of a queryset ---------------------------------------------------------------------


def driver_rows(queryset: QuerySet) -> list[tuple]:
    """The queryset's rows as the database driver returns them, without Django's per-value
    converters (over half of the CSV export's time). The SQL, scoping and filters still come
    from the queryset; the caller reads the raw values (SQLite gives naive UTC datetimes and
    text for UUIDs and JSON)."""
    sql, params = queryset.query.get_compiler(queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
