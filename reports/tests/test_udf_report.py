import csv
import io
from datetime import UTC, datetime

import pytest

from phonon.lib.spreadsheet import format_time, spreadsheet_safe
from reports.filters import ReportFilters
from reports.udf_report import UdfReport

from .factories import finished_execution, make_flow, webhook_step

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 11, 1, 9, 0, 0, 123456, tzinfo=UTC)


def csv_rows(report: UdfReport, chunk_rows: int) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(report.csv_lines(chunk_rows=chunk_rows)))))


@pytest.mark.parametrize("sort", ["-time", "time"])
def test_the_csv_chunks_lose_and_repeat_nothing_when_times_are_equal(acme, sort):
    flow = make_flow(acme)
    for number in range(7):
        finished_execution(flow, persisted={"n": str(number)}, started_at=MOMENT)
    report = UdfReport(acme, ReportFilters(sort=sort))

    chunked = csv_rows(report, chunk_rows=2)

    assert chunked == csv_rows(report, chunk_rows=1000)
    column = chunked[0].index("n")
    assert sorted(row[column] for row in chunked[1:]) == [str(n) for n in range(7)]


def test_the_duration_chart_gives_average_and_nearest_rank_p95_per_widget(acme):
    flow = make_flow(acme)
    for number in range(1, 21):  # 0.1 … 2.0 s; the 95th percentile of 20 values is the 19th
        reason = "TIMEOUT" if number > 18 else None
        finished_execution(flow, steps=[webhook_step("w1", duration=number / 10, error_reason=reason)])
    finished_execution(flow, steps=[webhook_step("w2", duration=3.0)])

    durations = UdfReport(acme, ReportFilters()).webhook_durations()

    assert durations == [
        {
            "flow": flow.pk,
            "flow_name": flow.name,
            "widget": "w1",
            "calls": 20,
            "failures": 2,
            "average_seconds": 1.05,
            "p95_seconds": 1.9,
        },
        {
            "flow": flow.pk,
            "flow_name": flow.name,
            "widget": "w2",
            "calls": 1,
            "failures": 0,
            "average_seconds": 3.0,
            "p95_seconds": 3.0,
        },
    ]


def test_times_are_iso_utc_to_the_second():
    assert format_time(MOMENT) == "2026-11-01T09:00:00Z"


@pytest.mark.parametrize(
    ("value", "cell"),
    [(None, ""), ("", ""), ("ok", "ok"), ("-3", "-3"), ("+44 20", "'+44 20"), ("=1+1", "'=1+1"), ("\tx", "'\tx")],
)
def test_spreadsheet_safe_cells(value, cell):
    assert spreadsheet_safe(value) == cell
