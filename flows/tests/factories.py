"""Flows and executions for tests, and the cross-account registry (tests/test_cross_account.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Model

from accounts.models import Account
from flows.models import Delivery, Execution, ExecutionStatus, Flow, FlowTestCase
from flows.revisions import save_revision
from flows.validation import validate_flow
from webhooks.tests.factories import make_webhook


def webhook(widget_id: str, url: str, *, ok: str = "end", failed: str = "end", **config: Any) -> dict[str, Any]:
    """A custom-mode webhook widget (GET unless `method` says otherwise)."""
    return {
        "id": widget_id,
        "type": "webhook",
        "config": {"mode": "custom", "method": "GET", "url": url, **config},
        "next": {"0": ok, "1": failed},
    }


def assign(widget_id: str, next_id: str = "end", **assignments: str) -> dict[str, Any]:
    """An assign widget: assign("a1", order="$call.cli") sets $flow.key.order."""
    rows = [{"variable": f"$flow.key.{name}", "value": value} for name, value in assignments.items()]
    return {"id": widget_id, "type": "assign", "config": {"assignments": rows}, "next": {"0": next_id}}


def end(widget_id: str = "end") -> dict[str, Any]:
    return {"id": widget_id, "type": "end"}


def make_flow(
    account: Account,
    *widgets: dict[str, Any],
    start: str | None = None,
    name: str = "Order status",
    flow_end_webhook: bool = False,
) -> Flow:
    """A flow saved as the API saves it (validated, defaults filled)."""
    widgets = widgets or (assign("a1", greeting="hello $call.cli"), end())
    cleaned = validate_flow(
        {
            "name": name,
            "flow_end_webhook": flow_end_webhook,
            "start": start or widgets[0]["id"],
            "widgets": list(widgets),
        },
        account=account,
    )
    return save_revision(None, cleaned, account=account, user=None).flow


def queue_execution(flow: Flow, **call: Any) -> Execution:
    return Execution.queue(flow, call={"cli": "+15550100", "did": "+15550199", **call})


def make_finished_execution(account: Account) -> Execution:
    execution = queue_execution(make_flow(account))
    Execution.objects.filter(pk=execution.pk).update(status="completed", variables={"$flow.key.greeting": "hi"})
    return execution


def make_delivery(account: Account) -> Delivery:
    execution = make_finished_execution(account)
    return Delivery.objects.create(account=account, execution=execution, payload="{}")


def make_test_case(account: Account) -> dict[str, int]:
    flow = make_flow(account)
    case = FlowTestCase.objects.create(account=account, flow=flow, name="Greets", expect={"path": ["a1", "end"]})
    return {"flow_pk": flow.pk, "pk": case.pk}


def make_revision(account: Account) -> dict[str, int]:
    return {"pk": make_flow(account).pk, "number": 1}


def finished_execution(account, *, flow_end_webhook=True, variables=None) -> Execution:
    flow = make_flow(account, end("w1"), name="Orders", flow_end_webhook=flow_end_webhook)
    return Execution.queue(
        flow,
        status=ExecutionStatus.COMPLETED,
        call={
            "cli": "+911234",
            "did": "+918000",
            "callee": "+915555",
            "incoming": True,
            "start": "2026-11-28T10:00:00Z",
            "connect_time": "2026-11-28T10:00:03Z",
            "end_time": "2026-11-28T10:01:00Z",
            "duration": 57,
            "hangup_cause": "NORMAL_CLEARING",
        },
        variables=variables
        if variables is not None
        else {
            "$call.cli": "+911234",
            "$flow.key.order_status": "shipped",
            "$flow.key.response_raw": None,
        },
        recordings=[{"file_name": "rec-1.mp3", "public_url": "https://files.example.com/rec-1.mp3"}],
    )


CROSS_ACCOUNT_FACTORIES: dict[str, Callable[[Account], Model | dict]] = {
    "flow-publish": make_flow,
    "flow-restore": make_flow,
    "flow-revisions": make_flow,
    "flow-revision-diff": make_revision,
    "flow-test-case-list": make_flow,
    "flow-test-case-run": make_flow,
    "flow-test-case-detail": make_test_case,
    "flows:revisions": make_flow,
    "flows:revision-diff": make_revision,
    "flows:revision-restore": make_revision,
    "flows:publish": make_flow,
    "flows:test-cases-run": make_flow,
    "flows:test-case-from-widget": make_flow,
    "flows:execution-save-test-case": make_finished_execution,
    "flow-detail": make_flow,
    "execution-detail": make_finished_execution,
    "flows:detail": make_flow,
    "flows:start-call": make_flow,
    "flows:designer": make_flow,
    "flows:execution-detail": make_finished_execution,
    "delivery-replay": make_delivery,
    "flows:delivery-replay": make_delivery,
    "flows:delete": make_flow,
    "flows:webhook-enable-deliveries": make_webhook,
    "flows:webhook-replay-skipped": make_webhook,
}
