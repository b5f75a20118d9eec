"""Prometheus metrics (SPEC §11): counters the processes move, figures read from the database.

Counters and the histogram are moved where things happen (the worker, the webhook widget, the
flow-end deliveries). Queue depth, the oldest queued execution and the jobs in flight are read
from the database when /metrics is scraped (the in-flight figure from the workers' heartbeats),
so they are right whichever process answers.

Several processes: with PROMETHEUS_MULTIPROC_DIR set (`make serve` sets it; the systemd units
share one directory), prometheus-client keeps every process's counters in files there and
/metrics adds up all of them, gunicorn's processes and the workers' alike. The variable must be
set before the process starts (prometheus-client reads it once, at import). Without it (tests,
`make run`), /metrics shows the answering process's own counters.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily

from accounts.cidr import address_in_networks
from accounts.client_ip import get_client_ip
from flows.models import DeliveryStatus, Execution, ExecutionStatus, WorkerHeartbeat
from flows.models.execution import UNFINISHED_STATUSES
from flows.variables import SUCCESS, ErrorReason
from phonon.lib.resilience import CLOSED, HALF_OPEN, OPEN

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # any manage.py command with the production environment
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# No label carries account data: statuses and error reasons are closed vocabularies.
EXECUTIONS = Counter("phonon_executions", "Executions finished by a worker, by final status.", ["status"])
WEBHOOK_REQUESTS = Counter(
    "phonon_webhook_requests", "Webhook widget requests, by outcome (an error reason or SUCCESS).", ["outcome"]
)
WEBHOOK_DURATION = Histogram(
    "phonon_webhook_duration_seconds",
    "Time from sending a webhook widget's request to its whole answer (or its error).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
DELIVERIES = Counter(
    "phonon_deliveries", "Flow-end delivery attempts, by the status they left the delivery in.", ["status"]
)
CIRCUIT_CHANGES = Counter(
    "phonon_circuit_changes", "Circuit breaker state changes (SPEC §15), by the state entered.", ["state"]
)
PROCESS_METRICS = (EXECUTIONS, WEBHOOK_REQUESTS, WEBHOOK_DURATION, DELIVERIES, CIRCUIT_CHANGES)


def show_at_zero(counter: Counter, values) -> None:
    """A labelled counter is exposed (and, under PROMETHEUS_MULTIPROC_DIR, written to its file) only
    from a label value's first use: create every known value at 0, so a fresh deployment's first
    scrape already names them (SPEC §11) and rate() has a starting point."""
    for value in values:
        counter.labels(value)


show_at_zero(EXECUTIONS, [status for status in ExecutionStatus.values if status not in UNFINISHED_STATUSES])
show_at_zero(WEBHOOK_REQUESTS, (SUCCESS, *ErrorReason.ALL))
# `skipped` deliveries are recorded, never attempted: no attempt leaves a delivery so.
show_at_zero(DELIVERIES, [status for status in DeliveryStatus.values if status != DeliveryStatus.SKIPPED])
show_at_zero(CIRCUIT_CHANGES, (OPEN, HALF_OPEN, CLOSED))


def count_execution(status: str) -> None:
    EXECUTIONS.labels(status=status).inc()


def observe_webhook_request(outcome: str, seconds: float) -> None:
    WEBHOOK_REQUESTS.labels(outcome=outcome).inc()
    WEBHOOK_DURATION.observe(seconds)


def count_refused_request(reason: str) -> None:
    """A call refused without a request (CIRCUIT_OPEN, ENDPOINT_BUSY): an outcome, with no duration to observe."""
    WEBHOOK_REQUESTS.labels(outcome=reason).inc()


def count_circuit_change(state: str | None) -> None:
    """A circuit moved to `state` (None: it did not move)."""
    if state is not None:
        CIRCUIT_CHANGES.labels(state=state).inc()


def count_delivery(status: str) -> None:
    DELIVERIES.labels(status=status).inc()


class DatabaseFigures:
    """The figures every process agrees on, read at scrape time (three short queries)."""

    def collect(self):
        queued = Execution.objects.filter(status=ExecutionStatus.QUEUED).aggregate(
            depth=Count("pk"), oldest=Min("created_at")
        )
        oldest = (timezone.now() - queued["oldest"]).total_seconds() if queued["oldest"] else 0
        workers = WorkerHeartbeat.objects.live().aggregate(count=Count("pk"), in_flight=Sum("in_flight"))
        yield GaugeMetricFamily("phonon_queue_depth", "Executions waiting for a worker.", value=queued["depth"])
        yield GaugeMetricFamily(
            "phonon_oldest_queued_seconds", "Age of the oldest execution waiting for a worker (0: none).", value=oldest
        )
        yield GaugeMetricFamily(
            "phonon_worker_in_flight",
            "Jobs in hand in the live workers (their heartbeats).",
            value=workers["in_flight"] or 0,
        )
        yield GaugeMetricFamily("phonon_workers", "Workers that reported in the last 30 s.", value=workers["count"])


def exposition() -> bytes:
    """The text a scrape gets: every process's counters (see the module's docstring) and the database figures."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        for metric in PROCESS_METRICS:
            registry.register(metric)
    registry.register(DatabaseFigures())
    return generate_latest(registry)


def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics, for addresses in METRICS_ALLOWED_NETWORKS only."""
    address = get_client_ip(request)
    if not address_in_networks(address, settings.METRICS_ALLOWED_NETWORKS):
        return HttpResponse(
            f"Metrics are not served to {address}; add its network to METRICS_ALLOWED_NETWORKS.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
