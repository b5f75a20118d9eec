"""Claiming work with a lease, shared by executions and flow-end deliveries.

A worker wins a row with one conditional UPDATE that says who won (phonon.sql.claim); the
lease (`locked_until`) outlives the longest request, so only a dead worker's claim expires and
another worker then takes the row over.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

# The connection is gone or cannot be had: worth waiting for, unlike a write the database refuses.
CONNECTION_TROUBLE = (OperationalError, InterfaceError)


def lease_end(now: datetime | None = None) -> datetime:
    """When a claim taken (or renewed) now expires."""
    return (now or timezone.now()) + timedelta(seconds=settings.WORKER_LEASE_SECONDS)


def run_inline(function: Callable, *args, **kwargs):
    """Run `function` in this thread: the `database` argument of the engine and deliveries when the
    caller may use the database itself (tests, `send_due_delivery`); the worker passes its own
    (flows.worker.DatabaseLane)."""
    return function(*args, **kwargs)
