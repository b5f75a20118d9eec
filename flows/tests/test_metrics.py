"""/metrics (SPEC §11): Prometheus text for METRICS_ALLOWED_NETWORKS, moved by real work."""

import ipaddress
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from prometheus_client import REGISTRY

from flows.models import WorkerHeartbeat
from flows.tests.factories import end, make_flow, queue_execution, webhook
from flows.tests.workers import database_url
from flows.variables import SUCCESS, ErrorReason
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db
def test_metrics_are_served_to_loopback_in_prometheus_format(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    text = response.content.decode()
    for name in ("phonon_queue_depth", "phonon_oldest_queued_seconds", "phonon_worker_in_flight"):
        assert f"\n{name} " in text
    for name in ("phonon_executions_total", "phonon_webhook_requests_total", "phonon_deliveries_total"):
        assert f"# TYPE {name} counter" in text
    assert "# TYPE phonon_webhook_duration_seconds histogram" in text


# What a fresh process's first scrape must already show (SPEC §11), every known label value at 0.
FIRST_SCRAPE_SAMPLES = (
    *(f'phonon_executions_total{{status="{status}"}} 0.0' for status in ("completed", "failed")),
    *(f'phonon_webhook_requests_total{{outcome="{outcome}"}} 0.0' for outcome in (SUCCESS, *ErrorReason.ALL)),
    *(f'phonon_deliveries_total{{status="{status}"}} 0.0' for status in ("delivered", "pending", "failed")),
    "phonon_webhook_duration_seconds_count 0.0",
)
# A process that has done nothing yet answers its first /metrics (the URLconf imports flows.metrics then).
FIRST_SCRAPE = "import django; django.setup(); from django.test import Client; print(Client().get('/metrics').text)"


def test_every_label_value_a_counter_can_take_is_shown_before_it_is_counted():
    """Only ended executions and attempted deliveries are counted: `queued` or `skipped` is no label value."""
    shown = REGISTRY.get_sample_value
    assert shown("phonon_webhook_requests_total", {"outcome": "MANDATORY_PARAMETER_MISSING"}) is not None
    assert shown("phonon_circuit_changes_total", {"state": "half_open"}) is not None
    assert shown("phonon_executions_total", {"status": "queued"}) is None
    assert shown("phonon_deliveries_total", {"status": "skipped"}) is None


@pytest.mark.django_db(transaction=True)
def test_a_fresh_process_first_scrape_under_prometheus_multiproc_dir_names_every_counter(tmp_path):
    """Under `manage.py serve` counters live in PROMETHEUS_MULTIPROC_DIR's files, and a labelled one
    is only written there once a label value exists. prometheus-client reads the variable at import,
    so a process of its own scrapes, as a gunicorn process does."""
    scrape = subprocess.run(
        [sys.executable, "-c", FIRST_SCRAPE],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": database_url(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    lines = scrape.stdout.splitlines()
    assert [sample for sample in FIRST_SCRAPE_SAMPLES if sample not in lines] == []
    assert "phonon_queue_depth 0.0" in lines


def test_other_addresses_get_403_naming_the_setting(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 403
    assert "203.0.113.9" in response.content.decode()
    assert "METRICS_ALLOWED_NETWORKS" in response.content.decode()


def test_behind_a_trusted_proxy_the_forwarded_client_is_judged(client, settings):
    """The proxy itself is on loopback: only its X-Forwarded-For says who asks."""
    settings.TRUSTED_PROXY_COUNT = 1

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4")

    assert response.status_code == 403


@pytest.mark.django_db
def test_allowed_networks_come_from_the_setting(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = (ipaddress.ip_network("10.0.0.0/8"),)

    assert client.get("/metrics", REMOTE_ADDR="10.9.8.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


@pytest.mark.django_db
def test_queue_figures_count_queued_executions_and_live_workers_in_flight(client, acme):
    flow = make_flow(acme)
    queue_execution(flow), queue_execution(flow)
    now = timezone.now()
    for n, seen in enumerate([now, now - timezone.timedelta(minutes=5)]):  # the second is stale
        WorkerHeartbeat.objects.create(
            worker_id=f"w{n}", host="h", pid=n, started_at=now, last_seen=seen, concurrency=8, in_flight=3
        )

    text = client.get("/metrics").content.decode()

    assert "\nphonon_queue_depth 2.0\n" in text
    assert "\nphonon_worker_in_flight 3.0\n" in text
    assert "\nphonon_workers 1.0\n" in text
    oldest = float(text.split("\nphonon_oldest_queued_seconds ")[1].split()[0])
    assert 0 <= oldest < 60


@pytest.mark.django_db(transaction=True)
def test_a_call_moves_the_execution_webhook_and_delivery_counters(loopback_allowed, server):
    server.reply("/orders", Reply(body="{}"))
    server.reply("/broken", Reply(status=503))
    server.reply("/receiver", Reply(status=204))
    Webhook.objects.create(account=loopback_allowed, name="Receiver", url=server.url("/receiver"), is_default=True)
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders")), end(), flow_end_webhook=True)
    failing = make_flow(loopback_allowed, webhook("w1", server.url("/broken")), end(), name="Broken")
    queue_execution(flow), queue_execution(failing)
    before = {
        "completed": sample("phonon_executions_total", status="completed"),
        "success": sample("phonon_webhook_requests_total", outcome="SUCCESS"),
        "server_error": sample("phonon_webhook_requests_total", outcome="SERVER_ERROR"),
        "timed": sample("phonon_webhook_duration_seconds_count"),
        "delivered": sample("phonon_deliveries_total", status="delivered"),
    }

    call_command("runworker", "--once")

    assert sample("phonon_executions_total", status="completed") == before["completed"] + 2
    assert sample("phonon_webhook_requests_total", outcome="SUCCESS") == before["success"] + 1
    assert sample("phonon_webhook_requests_total", outcome="SERVER_ERROR") == before["server_error"] + 1
    assert sample("phonon_webhook_duration_seconds_count") == before["timed"] + 2
    assert sample("phonon_deliveries_total", status="delivered") == before["delivered"] + 1
