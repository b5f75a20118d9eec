"""The one query module of the UDF report: the page, the API, the CSV export and the charts all
read one account's rows through `UdfReport`, so a filter means the same thing everywhere and
no row of another account can reach any of them."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from django.db.models import Avg, Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from phonon import sql
from phonon.lib.spreadsheet import csv_text, format_time, safe_cells

from .filters import ReportFilters
from .models import UDF_NAMES_SEPARATOR, ReportedExecution, ReportedWebhookCall, ReportOutcome

# The keys of `UdfReport.as_record()` in the same order; its `udf` object becomes the columns after these.
FIXED_CSV_HEADER = ("execution", "flow", "flow_name", "started_at", "status", "cli", "did")
CSV_CHUNK_ROWS = 2000
# Executions per day fills in the days without executions, unless the range is longer than this.
MAX_FILLED_DAYS = 366


def _as_datetime(value: datetime | str) -> datetime:
    """A time column as the driver gave it, made aware (SQLite's are naive UTC)."""
    moment = value if isinstance(value, datetime) else parse_datetime(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _as_uuid_text(value: uuid.UUID | str) -> str:
    """A UUID column as the driver gave it (SQLite: 32 hex digits), in the JSON's dashed form."""
    return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))


class UdfReport:
    """One account's report under one set of filters."""

    def __init__(self, account: Account, filters: ReportFilters):
        self.account = account
        self.filters = filters

    def _filtered(self, model: type[ReportedExecution | ReportedWebhookCall]) -> QuerySet:
        """The account's rows of `model` (both have flow, started_at and status) under the filters."""
        rows = model.objects.for_account(self.account).order_by()
        filters = self.filters
        if filters.flow is not None:
            rows = rows.filter(flow=filters.flow)
        if filters.since is not None:
            rows = rows.filter(started_at__gte=filters.since)
        if filters.until is not None:
            rows = rows.filter(started_at__lt=filters.until)
        if filters.status:
            rows = rows.filter(status=filters.status)
        return rows

    @cached_property
    def rows(self) -> QuerySet[ReportedExecution]:
        """The filtered executions, unordered (for counts, columns and charts)."""
        return self._filtered(ReportedExecution)

    @property
    def _order(self) -> tuple[str, str]:
        return ("-started_at", "-execution_id") if self.filters.newest_first else ("started_at", "execution_id")

    def ordered_rows(self) -> QuerySet[ReportedExecution]:
        """The rows in the report's order, with their flow's name in the same query (for pages)."""
        return (
            self.rows.select_related("flow")
            .only("execution_id", "flow__name", "started_at", "status", "cli", "did", "udf")
            .order_by(*self._order)
        )

    @cached_property
    def columns(self) -> list[str]:
        """Exactly the persisted variables of the filtered executions, sorted by name."""
        names: set[str] = set()
        for joined in self.rows.values_list("udf_names", flat=True).distinct():
            if joined:
                names.update(joined.split(UDF_NAMES_SEPARATOR))
        return sorted(names)

    def has_any_rows(self) -> bool:
        """Whether the account has reported anything at all (to tell the empty states apart)."""
        return ReportedExecution.objects.for_account(self.account).exists()

    # --- One row, as JSON and as CSV -------------------------------------------------------------

    def as_record(self, row: ReportedExecution) -> dict:
        """The API's shape of a row; `udf` holds every column, null where the row has no value."""
        return {
            "execution": str(row.execution_id),
            "flow": row.flow_id,
            "flow_name": row.flow.name,
            "started_at": format_time(row.started_at),
            "status": row.status,
            "cli": row.cli,
            "did": row.did,
            "udf": {column: row.udf.get(column) for column in self.columns},
        }

    def csv_header(self) -> list[str]:
        """The JSON record's keys in order, with `udf` flattened into its columns."""
        return [*FIXED_CSV_HEADER, *self.columns]

    def _csv_row(self, row: tuple) -> list[str | None]:
        """A row of `_keyset_chunks()` as CSV cells holding the text of `as_record()`'s values
        (None is written as an empty cell)."""
        started_at, execution_id, flow_id, flow_name, cli, did, status, udf = row
        if isinstance(udf, str):
            udf = json.loads(udf)
        cells = [
            _as_uuid_text(execution_id),
            str(flow_id),
            flow_name,
            format_time(started_at),
            status,
            cli,
            did,
            *map(udf.get, self.columns),
        ]
        return safe_cells(cells)

    # --- CSV export ------------------------------------------------------------------------------

    def _keyset_chunks(self, chunk_rows: int) -> Iterator[list[tuple]]:
        """The rows in report order, `chunk_rows` at a time, each chunk one indexed query.

        Keyset (started_at, execution_id) instead of OFFSET: every chunk costs the same, and no
        cursor or transaction stays open while the client reads the download.
        """
        newest_first = self.filters.newest_first
        query = self.rows.order_by(*self._order).values_list(
            "started_at", "execution_id", "flow_id", "flow__name", "cli", "did", "status", "udf"
        )
        chunk = query
        while True:
            rows = sql.driver_rows(chunk[:chunk_rows])
            if rows:
                yield rows
            if len(rows) < chunk_rows:
                return
            last_time, last_id = _as_datetime(rows[-1][0]), rows[-1][1]
            if newest_first:
                chunk = query.filter(started_at__lte=last_time).exclude(started_at=last_time, execution_id__gte=last_id)
            else:
                chunk = query.filter(started_at__gte=last_time).exclude(started_at=last_time, execution_id__lte=last_id)

    def csv_lines(self, chunk_rows: int = CSV_CHUNK_ROWS) -> Iterator[str]:
        """The CSV export, one piece per chunk of rows, in constant memory whatever the number of rows."""
        chunks = (map(self._csv_row, rows) for rows in self._keyset_chunks(chunk_rows))
        return csv_text(self.csv_header(), chunks)

    # --- Charts ----------------------------------------------------------------------------------

    def executions_per_day(self) -> dict:
        """{labels: [day…], completed: [n…], failed: [n…]} for a stacked bar chart."""
        counts: dict[date, dict[str, int]] = {}
        for day, status, total in self.rows.values_list("day", "status").annotate(total=Count("*")).order_by("day"):
            counts.setdefault(day, {})[status] = total
        days = sorted(counts)
        if days and (days[-1] - days[0]).days < MAX_FILLED_DAYS:
            days = [days[0] + timedelta(days=offset) for offset in range((days[-1] - days[0]).days + 1)]
        chart: dict = {"labels": [day.isoformat() for day in days]}
        for outcome in ReportOutcome.values:
            chart[outcome] = [counts.get(day, {}).get(outcome, 0) for day in days]
        return chart

    def webhook_durations(self) -> list[dict]:
        """Per webhook widget of the filtered executions: calls, failures, average and p95 seconds.

        One query: window functions rank each widget's durations, and the row at the nearest
        rank of the 95th percentile (ceil(0.95 * n)) carries the widget's figures.
        """
        calls = self._filtered(ReportedWebhookCall).filter(duration__isnull=False)
        widget = [F("flow_id"), F("widget")]
        ranked = (
            calls.annotate(
                flow_name=F("flow__name"),
                rank=Window(RowNumber(), partition_by=widget, order_by=[F("duration").asc(), F("pk").asc()]),
                calls=Window(Count("pk"), partition_by=widget),
                failures=Window(
                    Sum(Case(When(~Q(error_reason=""), then=Value(1)), default=Value(0), output_field=IntegerField())),
                    partition_by=widget,
                ),
                average=Window(Avg("duration"), partition_by=widget),
            )
            # rank == ceil(0.95 * calls): 0.95 * calls <= rank < 0.95 * calls + 1
            .filter(Q(rank__gte=F("calls") * 19 / 20.0) & Q(rank__lt=F("calls") * 19 / 20.0 + 1))
            .values("flow_id", "flow_name", "widget", "calls", "failures", "average", "duration")
            .order_by("flow_name", "widget")
        )
        return [
            {
                "flow": item["flow_id"],
                "flow_name": item["flow_name"],
                "widget": item["widget"],
                "calls": item["calls"],
                "failures": item["failures"],
                "average_seconds": round(item["average"], 3),
                "p95_seconds": round(item["duration"], 3),
            }
            for item in ranked
        ]

    def chart_data(self) -> dict:
        return {"executions_per_day": self.executions_per_day(), "webhook_durations": self.webhook_durations()}
