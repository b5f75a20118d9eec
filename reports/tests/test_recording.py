from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.models import ReportedExecution, ReportedWebhookCall
from reports.recording import column_name, record_finished_execution

from .factories import finished_execution, make_flow, webhook_step

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 2, 12, 30, tzinfo=UTC)


def test_it_names_columns_after_the_flow_key():
    assert column_name("$flow.key.order_status") == "order_status"
    assert column_name("$user.key.region") == "user.key.region"


def test_it_stores_what_the_report_needs(acme):
    flow = make_flow(acme)
    execution = finished_execution(
        flow,
        persisted={"order_status": "shipped", "eta": None},
        unpersisted={"token": "secret"},
        status="failed",
        started_at=NOON,
        cli="+441234",
        did="+449999",
    )

    report = ReportedExecution.objects.get(execution=execution)
    assert (report.account, report.flow, report.status) == (acme, flow, "failed")
    assert (report.cli, report.did, report.started_at, report.day) == ("+441234", "+449999", NOON, NOON.date())
    assert report.udf == {"order_status": "shipped", "eta": None}
    assert report.column_names == ["eta", "order_status"]


def test_it_keeps_each_webhook_step_with_its_duration_and_outcome(acme):
    steps = [
        webhook_step("w1", duration=0.25),
        {"widget": "w2", "type": "assign", "line": "0", "duration": 0.001},
        webhook_step("w3", duration=1.5, error_reason="SERVER_ERROR", code=503),
        {**webhook_step("w4", duration=0.0), "background": "SUCCESS"},
    ]
    execution = finished_execution(make_flow(acme), steps=steps)

    calls = list(ReportedWebhookCall.objects.filter(report_id=execution.pk).order_by("position"))
    assert [(c.widget, c.duration, c.status_code, c.error_reason) for c in calls] == [
        ("w1", 0.25, 200, ""),
        ("w3", 1.5, 503, "SERVER_ERROR"),
        ("w4", None, 200, ""),  # sent without waiting: its duration is not a response time
    ]
    assert all(call.account_id == acme.pk for call in calls)


def test_recording_twice_replaces_the_rows(acme):
    execution = finished_execution(make_flow(acme), persisted={"a": "1"})
    execution.variables["$flow.key.a"] = "2"
    record_finished_execution(execution)

    assert ReportedExecution.objects.get().udf == {"a": "2"}
    assert ReportedWebhookCall.objects.count() == 1


def test_it_refuses_an_unfinished_execution(acme):
    execution = finished_execution(make_flow(acme))
    execution.status = "running"
    with pytest.raises(ValueError, match="only finished executions"):
        record_finished_execution(execution)


def test_a_first_recording_writes_the_rows_without_deleting(acme):
    execution = finished_execution(make_flow(acme), persisted={"a": "1"})
    ReportedExecution.objects.all().delete()

    with CaptureQueriesContext(connection) as captured:
        record_finished_execution(execution, first=True)

    written = [query["sql"].split()[0] for query in captured if not query["sql"].startswith(("SAVEPOINT", "RELEASE"))]
    # PostgreSQL takes the report row's INSERT into the step rows' (WITH first AS (…) INSERT …).
    assert written == (["WITH"] if connection.vendor == "postgresql" else ["INSERT", "INSERT"])
    assert ReportedExecution.objects.get().udf == {"a": "1"}
    assert ReportedWebhookCall.objects.count() == 1
