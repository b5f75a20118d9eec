"""Builders for report tests, and the cross-account table of the tenancy tests.

None of the report routes takes a pk (each answers for the current account only), so the
cross-account table is empty.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db.models import Model
from django.utils import timezone

from accounts.models import Account
from flows.models import Execution, Flow
from flows.revisions import save_revision
from reports.recording import record_finished_execution

CROSS_ACCOUNT_FACTORIES: dict[str, Callable[[Account], Model]] = {}


def make_flow(account: Account, name: str = "Order status") -> Flow:
    content = {
        "name": name,
        "flow_end_webhook": False,
        "start": "w1",
        "widgets": [
            {"id": "w1", "type": "webhook", "config": {"persist_response": True}, "next": {"0": "w2", "1": "w2"}},
            {"id": "w2", "type": "end"},
        ],
    }
    return save_revision(None, content, account=account, user=None).flow


def webhook_step(widget: str = "w1", *, duration: float = 0.2, error_reason: str | None = None, code: int = 200):
    return {
        "widget": widget,
        "type": "webhook",
        "line": "1" if error_reason else "0",
        "duration": duration,
        "status_code": code,
        "error_reason": error_reason,
    }


def finished_execution(
    flow: Flow,
    *,
    persisted: dict[str, str | None] | None = None,
    unpersisted: dict[str, str] | None = None,
    status: str = "completed",
    started_at: datetime | None = None,
    cli: str = "+15550100",
    did: str = "+15550199",
    steps: list[dict] | None = None,
) -> Execution:
    """An execution as the engine ends it, recorded for the report.

    `persisted` are `$flow.key` variables mapped by widgets with persist_response on; `unpersisted`
    ones are mapped by widgets with it off: they are in `variables` but not in `persisted_variables`.
    """
    persisted = persisted or {}
    variables = {f"$flow.key.{name}": value for name, value in {**(unpersisted or {}), **persisted}.items()}
    started_at = started_at or timezone.now()
    execution = Execution.queue(
        flow,
        status=status,
        call={"cli": cli, "did": did},
        variables=variables,
        persisted_variables=[f"$flow.key.{name}" for name in persisted],
        steps=[webhook_step()] if steps is None else steps,
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=1),
    )
    record_finished_execution(execution)
    return execution
