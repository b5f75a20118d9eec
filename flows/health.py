"""/healthz, /readyz and /metrics (SPEC §11), answered before the rest of the middleware.

Load balancers, orchestrators and Prometheus reach a process by its address, not by the site's
host name, and over plain http: `ProbeMiddleware` (first in MIDDLEWARE) answers these three
paths before ALLOWED_HOSTS is checked and before SECURE_SSL_REDIRECT would redirect. None of
them shows account data; /metrics is for METRICS_ALLOWED_NETWORKS only (flows.metrics).
"""

from __future__ import annotations

import functools
import logging

from django.db import DatabaseError, connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import HttpRequest, JsonResponse

from flows.metrics import metrics
from flows.models import WorkerHeartbeat
from flows.models.worker import STALE_AFTER

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers (no database: a database outage must not get web processes restarted)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers, its migrations are applied, a worker is alive."""
    problems = readiness_problems()
    if problems:
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ok"})


@functools.cache
def migrations_in_code() -> frozenset[tuple[str, str]]:
    """Every migration the code carries, read once: it cannot change while the process runs, and
    probes come every few seconds (each then costs one SELECT of the applied ones)."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def readiness_problems() -> list[str]:
    try:
        unapplied = migrations_in_code() - set(MigrationRecorder(connection).applied_migrations())
        worker_seen = WorkerHeartbeat.objects.live().exists()
    except DatabaseError:
        logger.exception("readiness: the database does not answer")
        return ["The database does not answer (the server log has the error)."]
    problems = []
    if unapplied:
        problems.append(f"{len(unapplied)} database migrations are not applied; run manage.py migrate.")
    if not worker_seen:
        seconds = int(STALE_AFTER.total_seconds())
        problems.append(f"No worker has reported in the last {seconds} s; start manage.py runworker.")
    return problems


PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        probe = PROBES.get(request.path_info)
        if probe is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            response = JsonResponse({"detail": f"{request.path_info} answers GET only."}, status=405)
            response["Allow"] = "GET, HEAD"
            return response
        return probe(request)
