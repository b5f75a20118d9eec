"""Claiming work with a lease, shared by executions and flow-end deliveries.

A worker wins a row with one conditional UPDATE that says who won (phonon.sql.claim); the
lease (`locked_until`) outlives the longest request, so only a dead worker's claim expires and
another worker then takes the row over.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Model
from django.utils import timezone

# The connection is gone or cannot be had: worth waiting for, unlike a write the database refuses.
CONNECTION_TROUBLE = (OperationalError, InterfaceError)
RENEWAL_BATCH = 500  # keys in one UPDATE: under SQLite's bound on parameters


def lease_end(now: datetime | None = None) -> datetime:
    """When a claim taken (or renewed) now expires."""
    return (now or timezone.now()) + timedelta(seconds=settings.WORKER_LEASE_SECONDS)


def renew_leases(worker_id: str, held: Iterable[Model], now: datetime | None = None) -> None:
    """Extend the claims of the jobs a live worker holds (its heartbeat does, every few seconds):
    a job that outlasts the lease (a mapping slow on a huge answer, say) is then not taken over and
    its request sent again while its worker lives. A dead worker's claims still expire."""
    by_model: dict[type[Model], list] = defaultdict(list)
    for job in held:
        by_model[type(job)].append(job.pk)
    until = lease_end(now)
    for model, keys in by_model.items():
        for start in range(0, len(keys), RENEWAL_BATCH):
            batch = keys[start : start + RENEWAL_BATCH]
            model.objects.filter(pk__in=batch, claimed_by=worker_id).update(locked_until=until)


def run_inline(function: Callable, *args, **kwargs):
    """Run `function` in this thread: the `database` argument of the engine and deliveries when the
    caller may use the database itself (tests, `send_due_delivery`); the worker passes its own
    (flows.worker.DatabaseLane)."""
    return function(*args, **kwargs)
