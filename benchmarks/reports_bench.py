"""Reports at scale: 100,000 finished executions with 5 UDFs each (SPEC §9, issue 6).

Times the first report page, a filtered page, the chart data and the full CSV export, beside
a plain SELECT of the same rows in the same run, and the CSV export's memory peak for 10,000
and for 100,000 rows (flat: the export streams in keyset chunks).

Targets (printed, not asserted): first page and charts < 300 ms, CSV >= 20,000 rows/s.

Everything runs inside one transaction that is rolled back at the end, so the benchmark leaves
the database it runs against as it found it. `python -m benchmarks.reports_bench` runs it alone
on a throw-away SQLite file.
"""

import os
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

EXECUTIONS = 100_000
UDF_NAMES = ("order_status", "order_id", "customer_tier", "eta_days", "agent")
BATCH = 5_000
PAGE_TARGET_MS = 300
CSV_TARGET_ROWS_PER_S = 20_000


def _verdict(median_ms: float) -> str:
    """The page and chart target: what a person waits for when the report opens."""
    return "[ok]" if median_ms < PAGE_TARGET_MS else f"[OVER the {PAGE_TARGET_MS} ms target]"


def _timed(action: Callable[[], object], repeat: int = 5) -> tuple[float, float]:
    """(first, median) wall time in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times)


class _QueryCounter:
    """Counts the SQL statements a block runs (an execute wrapper: works outside tests too)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _build(account, flows) -> None:
    """Bulk-create the executions and, through reports.recording, exactly the rows the engine's
    record_finished_execution() would write for each."""
    from flows.models import Execution
    from reports.models import ReportedExecution, ReportedWebhookCall
    from reports.recording import report_rows_for

    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, EXECUTIONS, BATCH):
        executions = []
        for number in range(first, min(first + BATCH, EXECUTIONS)):
            started_at = start + timedelta(seconds=number * 52)  # ~60 days in all
            failed = number % 10 == 0
            variables = {f"$flow.key.{name}": f"{name}-{number % 97}" for name in UDF_NAMES}
            variables["$flow.key.response_status"] = "FAILED" if failed else "SUCCESS"
            executions.append(
                Execution(
                    id=uuid.uuid4(),
                    account_id=account.pk,
                    flow_id=flows[number % len(flows)].pk,
                    revision_id=flows[number % len(flows)].published_revision_id,
                    status="failed" if failed else "completed",
                    call={"cli": f"+1555{number:07d}", "did": "+18005550100"},
                    variables=variables,
                    persisted_variables=[f"$flow.key.{name}" for name in UDF_NAMES],
                    steps=[
                        {
                            "widget": "w1",
                            "type": "webhook",
                            "line": "1" if failed else "0",
                            "duration": round(0.05 + (number % 40) / 100, 3),
                            "status_code": 503 if failed else 200,
                            "error_reason": "SERVER_ERROR" if failed else None,
                        }
                    ],
                    created_at=started_at,
                    started_at=started_at,
                    finished_at=started_at + timedelta(seconds=2),
                )
            )
        built = [report_rows_for(execution) for execution in executions]
        _bulk_insert(Execution, executions)
        _bulk_insert(ReportedExecution, [report for report, _ in built])
        _bulk_insert(ReportedWebhookCall, [call for _, calls in built for call in calls])


def _bulk_insert(model, objects: list) -> None:
    """bulk_create without the ORM's per-value SQL compilation (most of its time at this size):
    one executemany of the fields' database values. Auto primary keys are left to the database."""
    from django.db import DEFAULT_DB_ALIAS, connections

    connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread-local proxy
    fields = [field for field in model._meta.concrete_fields if not (field.primary_key and field.auto_created)]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model's own metadata
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    plain = (str, int, float, bool, type(None))  # the drivers take these as they are
    rows = [
        [
            value if type(value) in plain else field.get_db_prep_save(value, connection)
            for field, value in zip(fields, (getattr(obj, field.attname) for field in fields), strict=True)
        ]
        for obj in objects
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _baseline_rows_per_second(account) -> tuple[int, float]:
    """A plain SELECT of the rows the CSV exports, read to the end: the floor to compare with."""
    from django.db import connection

    from reports.models import ReportedExecution

    table = ReportedExecution._meta.db_table
    started = time.perf_counter()
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT started_at, execution_id, flow_id, cli, did, status, udf FROM {table} "  # noqa: S608
            "WHERE account_id = %s ORDER BY started_at DESC, execution_id DESC",
            [account.pk],
        )
        while batch := cursor.fetchmany(2000):
            rows += len(batch)
    return rows, rows / (time.perf_counter() - started)


def _csv_export(client, params: dict | None = None) -> tuple[int, float]:
    """The site's CSV download read to the end: (data rows, seconds)."""
    started = time.perf_counter()
    response = client.get("/reports/export.csv", params or {})
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    return lines - 1, time.perf_counter() - started


def _csv_memory_peak(account, until: datetime | None) -> tuple[int, float]:
    """tracemalloc's peak while the export streams (rows, MiB); only Python allocations count."""
    from reports.filters import ReportFilters
    from reports.udf_report import UdfReport

    report = UdfReport(account, ReportFilters(until=until))
    report.columns  # noqa: B018 - computed before measuring, as the view does
    tracemalloc.start()
    rows = sum(1 for _ in report.csv_lines()) and report.rows.count()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, peak / 2**20


def run() -> None:
    from django.conf import settings
    from django.test import override_settings

    # The pages link static files; don't make the benchmark depend on collectstatic's manifest.
    plain_static = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=plain_static):
        _run()


def _run() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client

    from accounts.models import Account, Membership, Role
    from flows.revisions import save_revision

    def flow_content(name: str) -> dict:
        return {"name": name, "flow_end_webhook": False, "start": "w1", "widgets": [{"id": "w1", "type": "end"}]}

    began = time.perf_counter()
    print(f"reports: {EXECUTIONS:,} executions with {len(UDF_NAMES)} UDFs each on {connection.vendor}")
    with transaction.atomic():
        slug = f"bench-{uuid.uuid4().hex[:8]}"
        account = Account.objects.create(slug=slug, name="Reports benchmark")
        user = get_user_model().objects.create_user(username=slug)
        Membership.objects.create(user=user, account=account, role=Role.VIEWER)
        flows = [save_revision(None, flow_content(f"Flow {n}"), account=account, user=None).flow for n in range(3)]
        started, cpu = time.perf_counter(), time.process_time()
        _build(account, flows)
        print(
            f"  built in {time.perf_counter() - started:.1f} s ({time.process_time() - cpu:.1f} s CPU;"
            f" executemany, batches of {BATCH:,})"
        )

        client = Client()
        client.force_login(user)
        filtered = {"flow": flows[1].pk, "status": "failed", "since": "2026-01-20", "until": "2026-02-10"}
        for label, params in (("first page", {}), ("filtered page", filtered)):
            queries = _QueryCounter()
            with connection.execute_wrapper(queries):
                assert client.get("/reports/", params).status_code == 200
            first, median = _timed(lambda params=params: client.get("/reports/", params))
            timing = f"first {first:6.1f} ms, median {median:6.1f} ms"
            print(f"  {label:<14} {timing}, {queries.count} queries  {_verdict(median)}")
        for label, params in (("charts", {}), ("charts filtered", filtered)):
            first, median = _timed(lambda params=params: client.get("/reports/charts.json", params), repeat=3)
            print(f"  {label:<14} first {first:6.1f} ms, median {median:6.1f} ms  {_verdict(median)}")

        rows, baseline = _baseline_rows_per_second(account)
        exported, seconds = _csv_export(client)
        assert exported == rows == EXECUTIONS, (exported, rows)
        speed = exported / seconds
        verdict = "ok" if speed >= CSV_TARGET_ROWS_PER_S else f"UNDER the {CSV_TARGET_ROWS_PER_S:,} rows/s target"
        print(f"  plain SELECT   {rows:,} rows at {baseline:,.0f} rows/s")
        print(f"  CSV export     {exported:,} rows in {seconds:.2f} s = {speed:,.0f} rows/s  [{verdict}]")
        print(f"  CSV / SELECT   {speed / baseline:.2f}")

        small_rows, small_peak = _csv_memory_peak(account, until=datetime(2026, 1, 7, tzinfo=UTC))
        full_rows, full_peak = _csv_memory_peak(account, until=None)
        flat = "flat" if full_peak < 2 * small_peak + 1 else "GROWS with rows"
        print(
            f"  CSV memory     peak {small_peak:.2f} MiB for {small_rows:,} rows, "
            f"{full_peak:.2f} MiB for {full_rows:,} rows  [{flat}]"
        )
        transaction.set_rollback(True)
    print(
        f"  total {time.perf_counter() - began:.1f} s, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        " (rolled back: the database is unchanged)"
    )


def main() -> None:
    """Alone: a throw-away SQLite file unless DATABASE_URL says otherwise."""
    import django
    from django.core.management import call_command

    with tempfile.TemporaryDirectory() as directory:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{directory}/reports-bench.sqlite3")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phonon.settings")
        django.setup()
        call_command("migrate", run_syncdb=True, verbosity=0)
        run()


if __name__ == "__main__":
    main()
