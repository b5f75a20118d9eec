"""In-call resilience (SPEC §15) against a real local server: retries inside the deadline, the
Idempotency-Key, the circuit breaker (across two worker processes too), the busy limit and the cache."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from flows.heartbeat import Heartbeat
from flows.leases import run_inline
from flows.models import CachedResponse, Execution, Flow, WorkerHeartbeat
from flows.tests.factories import end, make_flow, queue_execution, webhook
from flows.tests.test_metrics import sample
from flows.tests.test_worker import start_worker
from flows.validation import FlowValidationError, validate_flow
from flows.variables import ERROR_REASON, RESPONSE_CACHED, RESPONSE_STALE, flow_key
from flows.widgets.webhook import CallContext, exchange
from flows.worker import Worker
from phonon.lib.resilience import origin
from phonon.lib.testing.http_server import Reply
from webhooks import endpoints
from webhooks.models import Endpoint, EndpointRequest

MAPPING = [{"save_in": "$flow.key.status", "path": "data.status", "mandatory": True}]


def call(account, url: str, *, execution: str = "exec-1", variables=None, **config: Any):
    """Run one webhook widget as a call does (guarded), with its config cleaned as on save.

    The same account, URL and config make the same flow (so the cache sees the same widget).
    """
    name = hashlib.sha256(json.dumps([url, config], sort_keys=True).encode()).hexdigest()[:40]
    flow = Flow.objects.filter(account=account, name=name).first() or make_flow(
        account, webhook("w1", url, **config), end(), name=name
    )
    context = CallContext(execution_id=execution, flow_id=flow.pk, widget_id="w1")
    return exchange(
        flow.widgets[0]["config"],
        {"$call.cli": "555"} if variables is None else variables,
        account=account,
        context=context,
    )


# --- retries -------------------------------------------------------------------------------


def test_it_retries_a_server_error_and_lists_every_try(loopback_allowed, server):
    server.reply("/order", Reply(status=503), Reply(status=502), Reply(body='{"status": "ok"}'))

    done = call(loopback_allowed, server.url("/order"), retries={"count": 3, "on": ["SERVER_ERROR"]}, mappings=MAPPING)

    assert done.outcome.line == "0"
    assert done.outcome.variables[flow_key("status")] == "ok"
    assert len(server.requests_to("/order")) == 3
    assert [t["status_code"] for t in done.outcome.step["tries"]] == [503, 502, 200]
    assert all(t["waited"] <= 2 for t in done.outcome.step["tries"][:2])


def test_a_failure_not_named_in_on_is_not_retried(loopback_allowed, server):
    server.reply("/order", Reply(status=404))

    done = call(loopback_allowed, server.url("/order"), retries={"count": 3, "on": ["SERVER_ERROR", "TIMEOUT"]})

    assert done.outcome.variables[ERROR_REASON] == "CLIENT_ERROR"
    assert len(server.requests_to("/order")) == 1


def test_every_try_fits_inside_the_one_deadline(loopback_allowed, server):
    server.reply("/slow", Reply(delay=5, body="{}"))
    started = time.monotonic()

    done = call(loopback_allowed, server.url("/slow"), timeout=2, retries={"count": 3, "on": ["TIMEOUT"]})

    assert time.monotonic() - started < 3
    assert done.outcome.variables[ERROR_REASON] == "TIMEOUT"
    assert len(done.outcome.step["tries"]) == 1  # the first try used up the deadline
    assert "too short" in done.outcome.step["tries"][0]["retry"]


def test_a_retry_after_past_the_deadline_is_not_waited_for(loopback_allowed, server):
    server.reply("/busy", Reply(status=429, headers={"Retry-After": "30"}), Reply(body="{}"))
    started = time.monotonic()

    done = call(loopback_allowed, server.url("/busy"), timeout=5, retries={"count": 2, "on": ["429"]})

    assert time.monotonic() - started < 2
    assert done.outcome.line == "1"
    assert len(server.requests_to("/busy")) == 1


def test_a_retry_after_that_fits_is_honoured(loopback_allowed, server):
    server.reply("/busy", Reply(status=429, headers={"Retry-After": "1"}), Reply(body="{}"))

    done = call(loopback_allowed, server.url("/busy"), timeout=10, retries={"count": 2, "on": ["429"]})

    assert done.outcome.line == "0"
    assert done.outcome.step["tries"][0]["waited"] == 1


def test_a_post_sends_the_same_idempotency_key_on_every_try(loopback_allowed, server):
    server.reply("/pay", Reply(status=500), Reply(status=500), Reply(body="{}"))

    call(
        loopback_allowed,
        server.url("/pay"),
        execution="0f8e",
        method="POST",
        idempotency_key=True,
        retries={"count": 2, "on": ["SERVER_ERROR"]},
    )

    keys = [request.headers["Idempotency-Key"] for request in server.requests_to("/pay")]
    assert keys == ["0f8e:w1"] * 3


def test_a_post_with_retries_needs_the_idempotency_key(acme):
    flow = {
        "name": "Pay",
        "start": "w1",
        "widgets": [webhook("w1", "https://api.example.com/pay", method="POST", retries={"count": 1}), end()],
    }
    with pytest.raises(FlowValidationError) as error:
        validate_flow(flow, account=acme)
    assert "widgets.w1.config.idempotency_key" in error.value.errors


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"retries": {"count": 4}}, "retries.count"),
        ({"retries": {"count": -1}}, "retries.count"),
        ({"retries": {"count": 1, "on": ["404"]}}, "retries.on"),
        ({"cache": {"ttl": 86401, "key": "$call.cli"}}, "cache.ttl"),
        ({"cache": {"ttl": -1, "key": "$call.cli"}}, "cache.ttl"),
        ({"cache": {"ttl": 60}}, "cache.key"),
    ],
)
def test_bad_resilience_settings_are_refused_naming_the_field(acme, config, field):
    flow = {"name": "x", "start": "w1", "widgets": [webhook("w1", "https://api.example.com/x", **config), end()]}
    with pytest.raises(FlowValidationError) as error:
        validate_flow(flow, account=acme)
    assert f"widgets.w1.config.{field}" in error.value.errors


# --- the circuit breaker and the busy limit --------------------------------------------------


def test_the_circuit_opens_after_five_failures_then_fails_at_once_without_a_request(loopback_allowed, server):
    server.reply("/down", Reply(status=500))
    opened, refused = (
        sample("phonon_circuit_changes_total", state="open"),
        sample("phonon_webhook_requests_total", outcome="CIRCUIT_OPEN"),
    )
    for _ in range(5):
        assert call(loopback_allowed, server.url("/down")).outcome.variables[ERROR_REASON] == "SERVER_ERROR"

    started = time.monotonic()
    done = call(loopback_allowed, server.url("/down"))

    assert time.monotonic() - started < 1
    assert done.outcome.line == "1"
    assert done.outcome.variables[ERROR_REASON] == "CIRCUIT_OPEN"
    assert len(server.requests_to("/down")) == 5
    assert Endpoint.objects.get(account=loopback_allowed).state == "open"
    assert sample("phonon_circuit_changes_total", state="open") == opened + 1
    assert sample("phonon_webhook_requests_total", outcome="CIRCUIT_OPEN") == refused + 1


def test_after_the_open_time_one_probe_goes_and_its_success_closes_the_circuit(loopback_allowed, server, settings):
    settings.CIRCUIT_OPEN_SECONDS = 1
    server.reply("/flaky", *[Reply(status=500)] * 5, Reply(body="{}"))
    for _ in range(5):
        call(loopback_allowed, server.url("/flaky"))
    time.sleep(1.1)
    endpoint = Endpoint.objects.get(account=loopback_allowed)

    # While the probe is out, every other call is refused.
    held = endpoints.guard.admit(loopback_allowed.pk, endpoint.origin, database=run_inline)
    assert held.probe and held.refused is None
    assert call(loopback_allowed, server.url("/flaky")).outcome.variables[ERROR_REASON] == "CIRCUIT_OPEN"
    endpoints.guard.finish(held, failed=False, database=run_inline)

    assert Endpoint.objects.get(pk=endpoint.pk).state == "closed"
    assert call(loopback_allowed, server.url("/flaky")).outcome.line == "0"


def test_the_busy_limit_refuses_one_more_call_at_once(loopback_allowed, server, settings):
    settings.ENDPOINT_MAX_IN_FLIGHT = 2
    server.reply("/x", Reply(body="{}"))
    seats = [endpoints.guard.admit(loopback_allowed.pk, origin(server.url("/x")), database=run_inline) for _ in "ab"]

    done = call(loopback_allowed, server.url("/x"))

    assert done.outcome.variables[ERROR_REASON] == "ENDPOINT_BUSY"
    assert server.requests_to("/x") == []
    endpoints.guard.finish(seats[0], failed=False, database=run_inline)
    assert call(loopback_allowed, server.url("/x")).outcome.line == "0"


def test_the_busy_limit_counts_the_other_workers_requests_in_flight(
    transactional_db, loopback_allowed, server, settings
):
    settings.ENDPOINT_MAX_IN_FLIGHT = 3
    server.reply("/x", Reply(body="{}"))
    key = f"{loopback_allowed.pk} {origin(server.url('/x'))}"
    WorkerHeartbeat.objects.create(
        worker_id="other",
        host="h",
        pid=1,
        started_at=timezone.now(),
        last_seen=timezone.now(),
        concurrency=8,
        endpoints_in_flight={key: 2},
    )
    seat = endpoints.guard.admit(loopback_allowed.pk, origin(server.url("/x")), database=run_inline)

    Heartbeat("this-one", concurrency=8, held=list).beat()  # the news: 2 more elsewhere

    assert WorkerHeartbeat.objects.get(worker_id="this-one").endpoints_in_flight == {key: 1}
    assert call(loopback_allowed, server.url("/x")).outcome.variables[ERROR_REASON] == "ENDPOINT_BUSY"
    endpoints.guard.finish(seat, failed=False, database=run_inline)
    assert call(loopback_allowed, server.url("/x")).outcome.line == "0"


def test_a_circuit_opened_by_another_process_is_known_here_from_the_next_heartbeat(loopback_allowed, server):
    server.reply("/down", Reply(status=500))
    for _ in range(5):  # another worker process's failures: the shared row only
        endpoints.record_outcome(loopback_allowed.pk, origin(server.url("/down")), failed=True, probe=False)

    Heartbeat("this-one", concurrency=8, held=list).beat()
    done = call(loopback_allowed, server.url("/down"))

    assert done.outcome.variables[ERROR_REASON] == "CIRCUIT_OPEN"
    assert server.requests_to("/down") == []


def test_circuits_are_per_account(loopback_allowed, globex, server, settings):
    globex.http_support_enabled = True
    globex.save()
    server.reply("/down", Reply(status=500), Reply(status=500), Reply(body="{}"))
    settings.CIRCUIT_FAILURES = 2
    for _ in range(2):
        call(loopback_allowed, server.url("/down"))

    assert call(loopback_allowed, server.url("/down")).outcome.variables[ERROR_REASON] == "CIRCUIT_OPEN"
    assert call(globex, server.url("/down")).outcome.line == "0"


def test_a_widget_test_bypasses_an_open_circuit_and_leaves_it_alone(loopback_allowed, server):
    server.reply("/down", *[Reply(status=500)] * 5, Reply(body="{}"))
    for _ in range(5):
        call(loopback_allowed, server.url("/down"))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/down")), end())

    done = exchange(flow.widgets[0]["config"], {}, account=loopback_allowed)

    assert done.outcome.line == "0"
    assert Endpoint.objects.get(account=loopback_allowed).state == "open"


def test_the_breaker_is_shared_by_two_worker_processes(transactional_db, loopback_allowed, server):
    server.reply("/down", Reply(status=500))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/down")), end())
    for n in range(12):
        queue_execution(flow, cli=str(n))

    workers = [start_worker("--once", "--concurrency", "1") for _ in range(2)]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0], outputs
    reasons = [e.variables[ERROR_REASON] for e in Execution.objects.all()]
    sent = len(server.requests_to("/down"))
    # Two requests may be out when the fifth failure lands: 5 or 6 requests, the rest refused.
    assert sent in (5, 6)
    assert reasons.count("SERVER_ERROR") == sent
    assert reasons.count("CIRCUIT_OPEN") == 12 - sent
    assert Endpoint.objects.get().state == "open"
    assert "circuit closed → open" in "".join(outputs)

    server.reply("/down", Reply(body="{}"))
    Endpoint.objects.update(opened_at=time.time() - 31)  # the open time is up: the next call probes
    endpoints.guard.refresh(endpoints.read_circuits(), {})  # this process's heartbeat brings the news
    execution = queue_execution(flow, cli="probe")
    assert Worker(worker_id="test-worker").run_one_execution()
    execution.refresh_from_db()
    assert execution.steps[0]["line"] == "0"
    assert Endpoint.objects.get().state == "closed"


# --- the cache -----------------------------------------------------------------------------

CACHE = {"ttl": 300, "key": "$call.cli", "stale_on_error": True}


def test_a_fresh_hit_sets_the_same_variables_without_a_request(loopback_allowed, server):
    server.reply("/order", Reply(body='{"status": "shipped"}'))

    first = call(loopback_allowed, server.url("/order"), cache=CACHE, mappings=MAPPING)
    second = call(loopback_allowed, server.url("/order"), cache=CACHE, mappings=MAPPING)

    assert len(server.requests_to("/order")) == 1
    assert first.outcome.variables[RESPONSE_CACHED] == "false"
    assert second.outcome.variables[RESPONSE_CACHED] == "true"
    assert second.outcome.variables[flow_key("status")] == "shipped"
    assert second.outcome.step["cache"].startswith("hit")


def test_another_key_or_another_account_misses(loopback_allowed, globex, server):
    globex.http_support_enabled = True
    globex.save()
    server.reply("/order", Reply(body='{"status": "shipped"}'))
    call(loopback_allowed, server.url("/order"), cache=CACHE)

    call(loopback_allowed, server.url("/order"), cache=CACHE, variables={"$call.cli": "556"})
    other = call(globex, server.url("/order"), cache=CACHE)

    assert len(server.requests_to("/order")) == 3
    assert other.outcome.variables[RESPONSE_CACHED] == "false"
    assert CachedResponse.objects.filter(account=globex).count() == 1


def test_an_expired_entry_is_asked_again(loopback_allowed, server):
    server.reply("/order", Reply(body='{"status": "shipped"}'))
    call(loopback_allowed, server.url("/order"), cache=CACHE)
    CachedResponse.objects.update(fresh_until=CachedResponse.objects.get().stored_at)

    done = call(loopback_allowed, server.url("/order"), cache=CACHE)

    assert len(server.requests_to("/order")) == 2
    assert done.outcome.variables[RESPONSE_CACHED] == "false"


def test_stale_on_error_answers_a_failed_call_with_the_last_good_answer(loopback_allowed, server):
    server.reply("/order", Reply(body='{"status": "shipped"}'), Reply(status=503))
    call(loopback_allowed, server.url("/order"), cache=CACHE, mappings=MAPPING)
    CachedResponse.objects.update(fresh_until=CachedResponse.objects.get().stored_at)

    done = call(loopback_allowed, server.url("/order"), cache=CACHE, mappings=MAPPING)

    assert done.outcome.line == "0"
    assert done.outcome.variables[RESPONSE_STALE] == "true"
    assert done.outcome.variables[flow_key("status")] == "shipped"
    assert done.outcome.step["stale"] is True
    assert done.outcome.step["failed_error_reason"] == "SERVER_ERROR"
    assert [t["status_code"] for t in done.outcome.step["tries"]] == [503]  # the failed call's tries


def test_entries_past_their_stale_time_are_removed(loopback_allowed, server):
    server.reply("/order", Reply(body="{}"))
    call(loopback_allowed, server.url("/order"), cache=CACHE)
    old = CachedResponse.objects.get()
    CachedResponse.objects.update(stale_until=old.stored_at)

    call(loopback_allowed, server.url("/order"), cache=CACHE, variables={"$call.cli": "9"})

    assert not CachedResponse.objects.filter(pk=old.pk).exists()


def test_the_cache_is_bounded_per_account(loopback_allowed, server, settings):
    settings.RESPONSE_CACHE_MAX_ENTRIES = 2
    server.reply("/order", Reply(body="{}"))
    for cli in "1234":
        call(loopback_allowed, server.url("/order"), cache=CACHE, variables={"$call.cli": cli})

    assert CachedResponse.objects.count() == 2


def test_a_key_that_resolves_empty_bypasses_the_cache_and_says_so(loopback_allowed, server):
    server.reply("/order", Reply(body="{}"))

    for _ in range(2):
        done = call(loopback_allowed, server.url("/order"), cache=CACHE, variables={})

    assert len(server.requests_to("/order")) == 2
    assert CachedResponse.objects.count() == 0
    assert "resolved empty" in done.outcome.step["cache"]


def test_the_execution_page_lists_every_try_and_the_cache(alice_client, loopback_allowed, server):
    server.reply("/order", Reply(status=503), Reply(body='{"status": "ok"}'))
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/order"), retries={"count": 1, "on": ["SERVER_ERROR"]}, cache=CACHE),
        end(),
    )
    execution = queue_execution(flow)
    assert Worker(worker_id="test-worker").run_one_execution()
    execution.refresh_from_db()

    page = alice_client.get(reverse("flows:execution-detail", args=[execution.pk])).content.decode()

    assert [t["status_code"] for t in execution.steps[0]["tries"]] == [503, 200]
    # Each try is a request the endpoint's health counts, saved with the execution's end.
    saved = EndpointRequest.objects.filter(account=loopback_allowed).order_by("at")
    assert [(r.origin, r.error_reason) for r in saved] == [
        (origin(server.url("/")), "SERVER_ERROR"),
        (origin(server.url("/")), ""),
    ]
    assert "Tries" in page and "then waited" in page
    assert "miss: the answer is stored" in page
