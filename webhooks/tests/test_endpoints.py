"""Endpoint health (SPEC §15): figures from known request timings, the API, the page, tenancy."""

from __future__ import annotations

import time
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from webhooks import endpoints
from webhooks.models import Endpoint, EndpointRequest
from webhooks.tests.factories import make_webhook

ORIGIN = "https://api.example.com:443"


def record(account, duration: float, *, error_reason: str | None = None) -> None:
    """One request as the engine saves it with the execution's end."""
    request = {"origin": ORIGIN, "at": timezone.now(), "duration_ms": round(duration * 1000)}
    endpoints.save_requests(account.pk, [{**request, "error_reason": error_reason or "", "error_detail": "it broke"}])


def test_health_figures_come_from_the_request_timings(acme):
    make_webhook(acme, name="Orders", url="https://api.example.com/orders")
    for ms in range(10, 110, 10):  # 10 … 100 ms
        record(acme, ms / 1000)
    record(acme, 2.0, error_reason="SERVER_ERROR")
    # A request of yesterday counts for the day, not the hour.
    EndpointRequest.objects.filter(duration_ms=2000).update(at=timezone.now() - timedelta(hours=3))

    [row] = endpoints.endpoint_health(acme)

    assert row["origin"] == ORIGIN
    assert row["webhook_name"] == "Orders"
    assert (row["requests_1h"], row["errors_1h"]) == (10, 0)
    assert (row["p50_ms"], row["p95_ms"]) == (50, 100)
    assert (row["requests_24h"], row["errors_24h"], row["p95_24h_ms"]) == (11, 1, 2000)
    assert row["last_error"] == "SERVER_ERROR"
    assert row["last_failures"][0]["detail"] == "it broke"
    assert row["hourly_p95_ms"][-1] == 100 and row["hourly_p95_ms"][-4] == 2000
    assert row["circuit"] == "closed"


def test_five_failures_show_the_circuit_open(acme):
    for _ in range(5):
        endpoints.record_outcome(acme.pk, ORIGIN, failed=True, probe=False)

    [row] = endpoints.endpoint_health(acme)

    assert row["circuit"] == "open"
    assert row["webhook"] is None
    assert endpoints.open_circuit_origins(acme) == [ORIGIN]


def test_requests_older_than_a_day_are_removed(acme, monkeypatch):
    monkeypatch.setattr(endpoints, "PRUNE_EVERY", 1)
    record(acme, 0.1)
    EndpointRequest.objects.update(at=timezone.now() - timedelta(days=2))

    record(acme, 0.2)

    assert list(EndpointRequest.objects.values_list("duration_ms", flat=True)) == [200]


def test_the_api_lists_only_the_tokens_account(alice_api, charlie_api, acme, globex):
    record(acme, 0.05)
    record(globex, 0.07, error_reason="SERVER_ERROR")

    mine = alice_api.get("/api/v1/endpoints/").json()
    theirs = charlie_api.get("/api/v1/endpoints/").json()

    assert [(r["origin"], r["requests_1h"], r["errors_1h"], r["p50_ms"]) for r in mine] == [(ORIGIN, 1, 0, 50)]
    assert [(r["requests_1h"], r["errors_1h"], r["last_error"]) for r in theirs] == [(1, 1, "SERVER_ERROR")]
    assert set(mine[0]) >= {
        "origin",
        "webhook",
        "requests_1h",
        "errors_1h",
        "p50_ms",
        "p95_ms",
        "circuit",
        "last_error",
    }


def test_the_webhook_page_shows_each_endpoints_health(alice_client, acme, globex):
    make_webhook(acme, name="Orders", url="https://api.example.com/orders")
    record(acme, 0.05)
    make_webhook(globex, name="Secret globex hook", url="https://globex.example.com/x")

    page = alice_client.get(reverse("webhooks:list")).content.decode()

    assert "Endpoint health" in page
    assert f'data-origin="{ORIGIN}"' in page
    assert "1 requests, 0 errors" in page
    assert "globex" not in page


def test_the_webhook_page_reads_the_webhooks_once_however_many(alice_client, acme):
    for n in range(3):
        make_webhook(acme, name=f"Hook {n}", url=f"https://api{n}.example.com/x")
        record(acme, 0.05)

    with CaptureQueriesContext(connection) as queries:
        page = alice_client.get(reverse("webhooks:list")).content.decode()

    assert "Hook 2" in page
    webhook_reads = [q["sql"] for q in queries if 'FROM "webhooks_webhook"' in q["sql"]]
    assert len(webhook_reads) == 1, webhook_reads


def test_the_page_shows_a_circuit_whose_open_time_is_up_as_half_open(alice_client, acme, settings):
    make_webhook(acme, name="Orders", url="https://api.example.com/orders")
    for _ in range(settings.CIRCUIT_FAILURES):
        endpoints.record_outcome(acme.pk, ORIGIN, failed=True, probe=False)
    Endpoint.objects.update(opened_at=time.time() - settings.CIRCUIT_OPEN_SECONDS)

    page = alice_client.get(reverse("webhooks:list")).content.decode()

    assert ">half-open</span>" in page
    assert endpoints.endpoint_health(acme)[0]["circuit"] == "half_open"
