"""Each hand-written statement of phonon.sql against the ORM doing the same thing: same rows."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from flows.deliveries import claim_due_delivery
from flows.engine import finish_statement, load_claimed_execution
from flows.models import Delivery, DeliveryStatus, Execution, ExecutionStatus
from flows.models.execution import UNFINISHED_STATUSES
from flows.tests.factories import make_finished_execution, make_flow, queue_execution
from flows.worker import claim_executions, claim_next_execution
from phonon import sql
from reports.models import ReportedExecution, ReportedWebhookCall
from reports.recording import record_finished_execution, report_rows_for
from reports.tests.factories import finished_execution, webhook_step
from reports.tests.factories import make_flow as make_report_flow
from reports.udf_report import _as_datetime, _as_uuid_text
from webhooks.endpoints import save_requests
from webhooks.models import EndpointRequest


def values(instance) -> dict:
    """Every concrete field of a model instance, by attribute name."""
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def stored(model, pk) -> dict:
    return values(model.objects.get(pk=pk))


def claimed(execution: Execution, worker_id: str = "w-1") -> Execution:
    Execution.objects.filter(pk=execution.pk).update(
        claimed_by=worker_id, status=ExecutionStatus.RUNNING, locked_until=timezone.now() + timedelta(minutes=5)
    )
    return execution


# --- The engine's load (select_joined) ---------------------------------------------------------


def test_the_load_gives_what_the_orm_loads_with_its_revision_and_account(acme):
    execution = claimed(queue_execution(make_flow(acme), cli="+15550111"), "w-1")
    Execution.objects.filter(pk=execution.pk).update(variables={"$flow.key.a": "1"}, steps=[{"widget": "w"}])

    loaded = load_claimed_execution(execution.pk, "w-1")
    expected = Execution.objects.select_related("revision", "account").get(pk=execution.pk, claimed_by="w-1")

    assert values(loaded) == values(expected)
    assert loaded._state.adding is False and loaded._state.db == expected._state.db
    with CaptureNoQueries():
        assert values(loaded.revision) == values(expected.revision)
        assert values(loaded.account) == values(expected.account)


def test_the_load_finds_nothing_for_another_claimant(acme):
    execution = claimed(queue_execution(make_flow(acme)), "w-1")

    assert load_claimed_execution(execution.pk, "w-2") is None


class CaptureNoQueries:
    """Fails when the block runs a query (the related rows must come cached with the load)."""

    def __enter__(self):
        self.wrapper = connection.execute_wrapper(self._refuse)
        self.wrapper.__enter__()

    def __exit__(self, *exc):
        self.wrapper.__exit__(*exc)

    @staticmethod
    def _refuse(execute, sql, params, many, context):
        raise AssertionError(f"unexpected query: {sql}")


# --- The engine's finish (update) ---------------------------------------------------------------


def finish_fields() -> dict:
    return {
        "status": ExecutionStatus.COMPLETED,
        "failure_reason": "",
        "variables": {"$flow.key.order": "shipped", "$call.cli": None},
        "steps": [{"widget": "w1", "type": "webhook", "duration": 0.25, "note": "ünïcode"}],
        "persisted_variables": ["$flow.key.order"],
        "finished_at": timezone.now(),
        "locked_until": None,
    }


def run_finish(execution: Execution, worker_id: str, fields: dict) -> int:
    statement, model_fields = finish_statement(connection.vendor)
    params = sql.save_params(model_fields, fields, connection)
    params += [Execution._meta.pk.get_db_prep_value(execution.pk, connection), worker_id]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def test_the_finishing_update_leaves_the_row_an_orm_update_leaves(acme):
    flow = make_flow(acme)
    by_sql, by_orm = claimed(queue_execution(flow)), claimed(queue_execution(flow))
    Execution.objects.filter(pk__in=[by_sql.pk, by_orm.pk]).update(next_widget="w2")
    fields = finish_fields()

    assert run_finish(by_sql, "w-1", fields) == 1
    assert (
        Execution.objects.filter(pk=by_orm.pk, claimed_by="w-1", status=ExecutionStatus.RUNNING).update(
            **fields, next_widget=""
        )
        == 1
    )

    ignored = {"id", "created_at"}
    sql_row, orm_row = stored(Execution, by_sql.pk), stored(Execution, by_orm.pk)
    assert {k: v for k, v in sql_row.items() if k not in ignored} == {
        k: v for k, v in orm_row.items() if k not in ignored
    }
    assert sql_row["next_widget"] == "" and sql_row["variables"] == fields["variables"]


@pytest.mark.parametrize("worker_id, status", [("w-2", ExecutionStatus.RUNNING), ("w-1", ExecutionStatus.COMPLETED)])
def test_the_finishing_update_touches_only_a_running_execution_of_its_claimant(acme, worker_id, status):
    execution = claimed(queue_execution(make_flow(acme)), "w-1")
    Execution.objects.filter(pk=execution.pk).update(status=status)
    before = stored(Execution, execution.pk)

    assert run_finish(execution, worker_id, finish_fields()) == 0
    assert stored(Execution, execution.pk) == before


# --- The worker's claims (claim, lease_free) ----------------------------------------------------


def test_the_execution_claim_takes_the_oldest_due_execution_as_the_orm_would(acme):
    flow = make_flow(acme)
    now = timezone.now()
    held = claimed(queue_execution(flow), "w-other")  # leased: not due
    expired = queue_execution(flow)
    newer = queue_execution(flow)
    make_finished_execution(acme)  # finished: not due
    Execution.objects.filter(pk=held.pk).update(created_at=now - timedelta(hours=3))
    Execution.objects.filter(pk=expired.pk).update(
        created_at=now - timedelta(hours=2),
        status=ExecutionStatus.RUNNING,
        claimed_by="w-dead",
        locked_until=now - timedelta(seconds=1),
        started_at=now - timedelta(hours=2),
        attempts=1,
    )
    Execution.objects.filter(pk=newer.pk).update(created_at=now - timedelta(hours=1))
    due = (
        Execution.objects.filter(status__in=UNFINISHED_STATUSES)
        .exclude(locked_until__gte=timezone.now())
        .order_by("created_at")
    )
    expected = list(due.values_list("pk", flat=True))
    assert expected == [expired.pk, newer.pk]

    assert claim_next_execution("w-1") == expired.pk
    assert claim_next_execution("w-1", probe_first=False) == newer.pk
    assert claim_next_execution("w-1") is None

    for execution, attempts, started_at in ((expired, 2, now - timedelta(hours=2)), (newer, 1, now)):
        row = Execution.objects.get(pk=execution.pk)
        assert (row.status, row.claimed_by, row.attempts) == (ExecutionStatus.RUNNING, "w-1", attempts)
        assert row.locked_until > timezone.now()
        assert row.started_at >= started_at and (attempts == 1 or row.started_at == started_at)
    assert Execution.objects.get(pk=held.pk).claimed_by == "w-other"


def test_the_batch_claim_takes_the_oldest_due_executions_and_loads_them_as_the_orm_would(acme):
    """claim_executions(): on PostgreSQL one statement (WITH rows AS (UPDATE … RETURNING *) SELECT … JOIN)."""
    flow = make_flow(acme)
    now = timezone.now()
    oldest, second, third = queue_execution(flow), queue_execution(flow), queue_execution(flow)
    for age, execution in ((3, oldest), (2, second), (1, third)):
        Execution.objects.filter(pk=execution.pk).update(created_at=now - timedelta(hours=age))
    claimed(queue_execution(flow), "w-other")  # leased: not due

    loaded = claim_executions("w-1", 2, probe_first=False)

    assert sorted(execution.pk for execution in loaded) == sorted([oldest.pk, second.pk])
    for execution in loaded:
        expected = Execution.objects.select_related("revision", "account").get(pk=execution.pk)
        assert values(execution) == values(expected)
        assert (expected.status, expected.claimed_by, expected.attempts) == (ExecutionStatus.RUNNING, "w-1", 1)
        with CaptureNoQueries():
            assert values(execution.revision) == values(expected.revision)
            assert values(execution.account) == values(expected.account)
    assert [execution.pk for execution in claim_executions("w-1", 5)] == [third.pk]
    assert claim_executions("w-1", 5) == []


def test_the_delivery_claim_takes_the_pending_delivery_due_first(acme):
    now = timezone.now()
    later, first, delivered = (
        Delivery.objects.create(account=acme, execution=make_finished_execution(acme), payload="{}") for _ in range(3)
    )
    Delivery.objects.filter(pk=later.pk).update(next_attempt_at=now - timedelta(minutes=1))
    Delivery.objects.filter(pk=first.pk).update(next_attempt_at=now - timedelta(minutes=2))
    Delivery.objects.filter(pk=delivered.pk).update(
        status=DeliveryStatus.DELIVERED, next_attempt_at=now - timedelta(minutes=3)
    )
    expected = Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
    assert list(expected.order_by("next_attempt_at").values_list("pk", flat=True)) == [first.pk, later.pk]

    assert claim_due_delivery("w-1") == first.pk
    assert claim_due_delivery("w-1") == later.pk
    assert claim_due_delivery("w-1") is None
    assert set(Delivery.objects.filter(claimed_by="w-1").values_list("pk", flat=True)) == {first.pk, later.pk}


# --- The report rows (insert) -------------------------------------------------------------------


def report_rows(execution_id) -> tuple[dict, list[dict]]:
    calls = ReportedWebhookCall.objects.filter(report_id=execution_id).order_by("position")
    return stored(ReportedExecution, execution_id), [
        {k: v for k, v in values(call).items() if k != "id"} for call in calls
    ]


def test_the_report_inserts_write_the_rows_bulk_create_writes(acme):
    flow = make_report_flow(acme)
    steps = [webhook_step("w1", duration=0.5), webhook_step("w2", error_reason="TIMEOUT", code=504)]
    steps *= 60  # more than one INSERT of step rows (999 parameters a statement)
    execution = finished_execution(flow, persisted={"order": "shipped", "empty": None}, steps=steps)
    by_sql = report_rows(execution.pk)
    assert len(by_sql[1]) == 120

    ReportedExecution.objects.filter(pk=execution.pk).delete()
    report, calls = report_rows_for(execution)
    ReportedExecution.objects.bulk_create([report])
    ReportedWebhookCall.objects.bulk_create(calls)

    assert report_rows(execution.pk) == by_sql


def test_recording_again_upserts_the_report_row(acme):
    execution = finished_execution(make_report_flow(acme), persisted={"order": "shipped"})
    Execution.objects.filter(pk=execution.pk).update(status=ExecutionStatus.FAILED, steps=[])
    execution.refresh_from_db()

    record_finished_execution(execution)

    report, calls = report_rows_for(execution)
    assert (calls, report_rows(execution.pk)) == ([], (values(report), []))


def test_the_health_rows_insert_writes_the_rows_bulk_create_writes(acme):
    now = timezone.now()
    requests = [
        {"origin": "https://api.example.com", "at": now - timedelta(seconds=n), "duration_ms": n, "error_reason": ""}
        for n in range(200)  # more than one INSERT (999 parameters a statement)
    ]
    requests[7].update(error_reason="TIMEOUT", error_detail="No answer within 5 s.")

    save_requests(acme.pk, requests)
    by_sql = [{k: v for k, v in values(row).items() if k != "id"} for row in EndpointRequest.objects.order_by("-at")]
    EndpointRequest.objects.all().delete()
    EndpointRequest.objects.bulk_create(EndpointRequest(account_id=acme.pk, **request) for request in requests)
    by_orm = [{k: v for k, v in values(row).items() if k != "id"} for row in EndpointRequest.objects.order_by("-at")]

    assert len(by_sql) == 200 and by_sql == by_orm


# --- The CSV export's rows (driver_rows) ---------------------------------------------------------


def test_driver_rows_are_the_querysets_rows_before_django_converts_them(acme):
    flow = make_report_flow(acme)
    for order in ("a", "b"):
        finished_execution(flow, persisted={"order": order})
    queryset = ReportedExecution.objects.order_by("started_at").values_list("started_at", "execution_id", "udf")

    raw = sql.driver_rows(queryset)

    converted = [
        (_as_datetime(started_at), _as_uuid_text(execution_id), json.loads(udf) if isinstance(udf, str) else udf)
        for started_at, execution_id, udf in raw
    ]
    expected = [(started_at, str(execution_id), udf) for started_at, execution_id, udf in queryset]
    assert converted == expected and len(expected) == 2
