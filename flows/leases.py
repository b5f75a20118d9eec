"""Claiming work with a lease, shared by executions and flow-end deliveries.

A worker wins a row with a conditional UPDATE whose row count says who won; the lease
(`locked_until`) outlives the longest request, so only a dead worker's claim expires and another
worker then takes the row over. Candidates are picked FOR UPDATE SKIP LOCKED where the database
has it (PostgreSQL), so many workers don't queue up on the same row; SQLite serialises writers
with its IMMEDIATE transactions instead.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone


def lease_expired(now) -> models.Q:
    return models.Q(locked_until__isnull=True) | models.Q(locked_until__lt=now)


def claim_one(due: models.QuerySet, *, worker_id: str, order_by: str, **changes) -> object | None:
    """Claim the first row of `due` (already filtered to claimable rows); its pk, or None.

    `changes` are further fields set by the same UPDATE (an execution turns `running`).
    """
    now = timezone.now()
    with transaction.atomic():
        candidates = due.order_by(order_by)
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        pk = candidates.values_list("pk", flat=True).first()
        if pk is None:
            return None
        won = due.filter(pk=pk).update(
            claimed_by=worker_id, locked_until=now + timedelta(seconds=settings.WORKER_LEASE_SECONDS), **changes
        )
    return pk if won else None
