"""Endpoints as calls see them (SPEC §15): the circuit breaker and busy limit per account and
origin, shared by every worker process, and the health figures built from each request's outcome.

Where the state lives, and what a call pays for it:

* **The circuit** is an `Endpoint` row (the one store every worker process on every machine
  already shares; no new service). It is written only when a request fails, when a probe is
  taken or reports, and when the circuit moves; a healthy origin has no row at all. Each process
  keeps a view of the circuits that are not closed (`Guard`), replaced from the database at every
  heartbeat (flows.heartbeat, 5 s) and updated by each breaker write it makes itself, whose
  answer is the row's state. So a call to a healthy endpoint reads nothing; a call whose circuit
  is open, in this process's view, is refused without a statement; once the open time is up the
  row decides, under its lock, which one call in all the processes probes. A process that has
  seen no failure of its own learns of a circuit another process opened within one heartbeat.
* **The busy limit** counts each process's requests in flight in memory; each heartbeat
  publishes them (`WorkerHeartbeat.endpoints_in_flight`) and reads the other live workers'. A
  call is refused when this process's count plus the others' last published counts reach
  ENDPOINT_MAX_IN_FLIGHT: exact within a process, and across processes as of the last heartbeat.
  A dead worker's seats vanish with its heartbeat (30 s), never leak.
* **Health figures** come from an `EndpointRequest` row per request, which the engine inserts in
  the transaction that ends the execution (one INSERT for all its requests, `save_requests`).

Every database touch here is a short function the engine runs through its `database` callable
(flows.worker's lane), never in the thread that waits for the answer.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from phonon import sql
from phonon.lib import resilience
from phonon.lib.resilience import CIRCUIT_OPEN, CLOSED, ENDPOINT_BUSY, BreakerSettings, Circuit
from webhooks.models import Endpoint, EndpointRequest, Webhook

logger = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 5  # a probe's turn outlives the longest deadline by this much
HEALTH_DAYS = 1  # requests are kept this long for the health figures
LAST_FAILURES = 5  # failures listed per endpoint on the health page
PRUNE_EVERY = 64  # one saved batch of requests in this many (per process) removes those older than a day

Key = tuple[int, str]  # (account id, origin)


@dataclass(frozen=True)
class Admission:
    """May a request go out? If so it holds a seat until `Guard.finish`."""

    refused: str | None  # CIRCUIT_OPEN, ENDPOINT_BUSY or None
    account_id: int
    origin: str
    probe: bool = False
    detail: str = ""
    circuit_change: str | None = None  # the state this admission moved the circuit to (half_open), for the metrics


def breaker_settings() -> BreakerSettings:
    return BreakerSettings(
        failures=settings.CIRCUIT_FAILURES,
        window=settings.CIRCUIT_WINDOW_SECONDS,
        open_seconds=settings.CIRCUIT_OPEN_SECONDS,
        probe_seconds=settings.WEBHOOK_MAX_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS,
    )


def circuit_of(endpoint: Endpoint) -> Circuit:
    return Circuit(
        state=endpoint.state,
        failure_times=tuple(endpoint.failure_times or ()),
        opened_at=endpoint.opened_at,
        probe_until=endpoint.probe_until,
    )


class Guard:
    """One process's view of the circuits not closed and of the requests in flight (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._circuits: dict[Key, Circuit] = {}
        self._in_flight: Counter[Key] = Counter()
        self._elsewhere: dict[Key, int] = {}

    def admit(self, account_id: int, origin: str, *, database) -> Admission:
        """Take a seat for one request to `origin`, or say at once why not."""
        key = (account_id, origin)
        with self._lock:
            circuit = self._circuits.get(key)
            if circuit is not None and not resilience.admit(circuit, time.time(), breaker_settings())[0]:
                return _circuit_open(key)  # open, or its probe is out, as far as this process knows
            if self._in_flight[key] + self._elsewhere.get(key, 0) >= settings.ENDPOINT_MAX_IN_FLIGHT:
                return Admission(
                    ENDPOINT_BUSY,
                    *key,
                    detail=f"Not sent: {settings.ENDPOINT_MAX_IN_FLIGHT} requests to {origin} are already in flight.",
                )
            if circuit is None:
                self._in_flight[key] += 1
                return Admission(None, *key)
        # The open time is up (or a probe was lost): the shared row decides who probes.
        allowed, probe, circuit, change = database(take_turn, account_id, origin)
        self.remember(key, circuit)
        if not allowed:
            return _circuit_open(key)
        with self._lock:
            self._in_flight[key] += 1
        return Admission(None, *key, probe=probe, circuit_change=change)

    def finish(self, admission: Admission, *, failed: bool, database) -> str | None:
        """Give the seat back; a failure or a probe's outcome moves the shared circuit.

        The circuit's new state when this outcome changed it (for the metrics), else None.
        """
        key = (admission.account_id, admission.origin)
        with self._lock:
            self._in_flight[key] -= 1
            if self._in_flight[key] <= 0:
                del self._in_flight[key]
        if not (failed or admission.probe):
            return None
        circuit, change = database(record_outcome, *key, failed=failed, probe=admission.probe)
        self.remember(key, circuit)
        return change

    def remember(self, key: Key, circuit: Circuit) -> None:
        with self._lock:
            if circuit.state == CLOSED:
                self._circuits.pop(key, None)
            else:
                self._circuits[key] = circuit

    def in_flight(self) -> dict[str, int]:
        """This process's requests in flight, as its heartbeat publishes them."""
        with self._lock:
            return {f"{account_id} {origin}": n for (account_id, origin), n in self._in_flight.items()}

    def refresh(self, circuits: dict[Key, Circuit], elsewhere: dict[Key, int]) -> None:
        """The heartbeat's news: the circuits not closed, and the other live workers' requests in flight."""
        with self._lock:
            self._circuits, self._elsewhere = circuits, elsewhere


guard = Guard()


def _circuit_open(key: Key) -> Admission:
    return Admission(CIRCUIT_OPEN, *key, detail=f"Not sent: the circuit for {key[1]} is open after repeated failures.")


# --- database tasks (run through the engine's `database` callable) ------------------------


def take_turn(account_id: int, origin: str) -> tuple[bool, bool, Circuit, str | None]:
    """Under the row's lock: may a call go now, and is it the probe?

    (allowed, probe, the circuit, its new state if this turn changed it).
    """
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(account_id=account_id, origin=origin).first()
        if endpoint is None:
            return True, False, Circuit(), None
        circuit = circuit_of(endpoint)
        allowed, probe, after = resilience.admit(circuit, time.time(), breaker_settings())
        change = _save_circuit(endpoint, circuit, after)
    return allowed, probe, after, change


def record_outcome(account_id: int, origin: str, *, failed: bool, probe: bool) -> tuple[Circuit, str | None]:
    """Count a failure (or a probe's outcome) against the shared circuit: the circuit after it, and
    its new state if this outcome changed it."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(account_id=account_id, origin=origin).first()
        if endpoint is None:
            if not failed:
                return Circuit(), None
            Endpoint.objects.get_or_create(account_id=account_id, origin=origin)
            endpoint = Endpoint.objects.select_for_update().get(account_id=account_id, origin=origin)
        circuit = circuit_of(endpoint)
        after = resilience.record(circuit, failed=failed, probe=probe, now=time.time(), settings=breaker_settings())
        change = _save_circuit(endpoint, circuit, after)
    return after, change


def _save_circuit(endpoint: Endpoint, before: Circuit, after: Circuit) -> str | None:
    """Write the circuit if it moved; a change of state is logged, and its new state returned."""
    if after == before:
        return None
    Endpoint.objects.filter(pk=endpoint.pk).update(
        state=after.state,
        failure_times=list(after.failure_times),
        opened_at=after.opened_at,
        probe_until=after.probe_until,
    )
    if after.state != before.state:
        logger.warning(
            "circuit %s → %s for %s (account %s)", before.state, after.state, endpoint.origin, endpoint.account_id
        )
        return after.state
    return None


def read_circuits() -> dict[Key, Circuit]:
    """Every circuit not closed, of every account: what each worker's heartbeat hands its Guard."""
    return {(e.account_id, e.origin): circuit_of(e) for e in Endpoint.objects.exclude(state=CLOSED)}


def count_elsewhere(published: list[dict[str, int]]) -> dict[Key, int]:
    """The other workers' published requests in flight, added up per account and origin."""
    total: Counter[Key] = Counter()
    for counts in published:
        for name, n in (counts or {}).items():
            account_id, _, origin = name.partition(" ")
            total[(int(account_id), origin)] += n
    return dict(total)


_batches = itertools.count(1)


def save_requests(account_id: int, requests: list[dict]) -> None:
    """Keep the requests one execution sent (one INSERT); now and then remove those older than a day."""
    if not requests:
        return
    db = connections[DEFAULT_DB_ALIAS]  # once: each `connection.x` is a thread-local lookup
    sql.insert_rows(EndpointRequest, [{"account_id": account_id, **request} for request in requests], db)
    if next(_batches) % PRUNE_EVERY == 0:
        EndpointRequest.objects.filter(at__lt=timezone.now() - timedelta(days=HEALTH_DAYS)).delete()


# --- health --------------------------------------------------------------------------------

CHART_HOURS = 24


def endpoint_health(account, webhooks: Iterable[Webhook] | None = None) -> list[dict]:
    """Per registered webhook (by its URL's origin) and per other origin calls reached: requests,
    errors, p50/p95 for the last hour and day, hourly p95 for a chart, circuit state, last failures.

    Reads the account's requests of the last day (one query), its circuits and its webhooks (by
    name; the caller may pass those it has read already).
    """
    now = timezone.now()
    breaker = breaker_settings()
    circuits = {e.origin: circuit_of(e) for e in Endpoint.objects.for_account(account)}
    recent: dict[str, list[tuple]] = {}
    rows = (
        EndpointRequest.objects.for_account(account)
        .filter(at__gte=now - timedelta(days=HEALTH_DAYS))
        .order_by("at")
        .values_list("origin", "at", "duration_ms", "error_reason", "error_detail")
    )
    for origin, *row in rows:
        recent.setdefault(origin, []).append(tuple(row))
    if webhooks is None:
        webhooks = Webhook.objects.for_account(account).order_by("name")
    by_origin = [(resilience.origin(w.url), w) for w in webhooks]
    registered = {origin for origin, _ in by_origin}
    listed: list[tuple[str, Webhook | None]] = by_origin + [
        (origin, None) for origin in sorted(set(circuits) | set(recent)) if origin not in registered
    ]
    health = []
    for origin, webhook in listed:
        requests = recent.get(origin, [])
        hour = [r for r in requests if r[0] >= now - timedelta(hours=1)]
        failures = [r for r in requests if r[2]]
        p50_1h, p95_1h = resilience.percentiles([r[1] for r in hour], 0.5, 0.95)
        p50_24h, p95_24h = resilience.percentiles([r[1] for r in requests], 0.5, 0.95)
        health.append(
            {
                "origin": origin,
                "webhook": webhook.pk if webhook else None,
                "webhook_name": webhook.name if webhook else None,
                "requests_1h": len(hour),
                "errors_1h": sum(1 for r in hour if r[2]),
                "p50_ms": p50_1h,
                "p95_ms": p95_1h,
                "requests_24h": len(requests),
                "errors_24h": len(failures),
                "p50_24h_ms": p50_24h,
                "p95_24h_ms": p95_24h,
                "circuit": resilience.shown_state(circuits.get(origin, Circuit()), time.time(), breaker),
                "last_error": failures[-1][2] if failures else None,
                "last_failures": [
                    {"at": at.isoformat(), "error_reason": reason, "detail": detail}
                    for at, _, reason, detail in reversed(failures[-LAST_FAILURES:])
                ],
                "hourly_p95_ms": _hourly_p95(requests, now),
            }
        )
    return health


def _hourly_p95(requests: list[tuple], now) -> list[float | None]:
    """p95 per hour of the last day, oldest first: the page's small latency chart."""
    buckets: list[list[float]] = [[] for _ in range(CHART_HOURS)]
    for at, duration_ms, *_ in requests:
        hours_ago = int((now - at).total_seconds() // 3600)
        if 0 <= hours_ago < CHART_HOURS:
            buckets[CHART_HOURS - 1 - hours_ago].append(duration_ms)
    return [resilience.percentile(bucket, 0.95) for bucket in buckets]


def open_circuit_origins(account) -> list[str]:
    """Origins whose circuit is open (or waiting for its probe) now: the designer warns on their widgets."""
    now, breaker = time.time(), breaker_settings()
    return sorted(
        endpoint.origin
        for endpoint in Endpoint.objects.for_account(account).exclude(state=CLOSED)
        if resilience.shown_state(circuit_of(endpoint), now, breaker) != CLOSED
    )
