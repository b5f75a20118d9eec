"""The arithmetic of in-call resilience (SPEC §15), Django-free: a circuit breaker's states,
retry delays inside one deadline, Retry-After, and cache keys.

Guarantees:

* `admit` and `record` are pure: they take a `Circuit` and the time and return the next one, so
  the state can live anywhere (the product keeps it in a database row shared by every worker).
* A circuit opens after `failures` failures within the last `window` seconds, refuses for
  `open_seconds`, then lets exactly one call through as the probe (half-open); the probe's
  success closes it, its failure opens it again. A probe that never reports (its worker died)
  is replaced after `probe_seconds`.
* `retry_delay` never returns a wait that leaves less than `MIN_TRY_SECONDS` of the deadline for
  the next try; a Retry-After that does not fit means no retry at all, not a shorter wait.
* `cache_key` is a digest of every part that scopes an entry (account, flow, widget, the
  rendered key), so two callers share an entry only when all of them are equal.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from phonon.lib.numbers import whole_number
from phonon.lib.outbound import CONNECTION_ERROR, TIMEOUT
from phonon.lib.url_policy import DEFAULT_PORTS

# Why a call was refused without a request; $flow.key.error_reason takes these values too.
CIRCUIT_OPEN = "CIRCUIT_OPEN"
ENDPOINT_BUSY = "ENDPOINT_BUSY"

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"

# Retry backoff: the first wait is about BASE, doubling, each jittered to 50-100 %, at most CAP.
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 2.0
# A retry is only worth making with at least this much of the deadline left for it.
MIN_TRY_SECONDS = 0.5


@dataclass(frozen=True)
class BreakerSettings:
    failures: int = 5
    window: float = 60.0
    open_seconds: float = 30.0
    probe_seconds: float = 65.0  # longer than any one request (60 s deadline), so a live probe is never doubled


@dataclass(frozen=True)
class Circuit:
    """One endpoint's breaker: `failure_times` are epoch seconds of recent failures (closed)."""

    state: str = CLOSED
    failure_times: tuple[float, ...] = field(default=())
    opened_at: float | None = None
    probe_until: float | None = None


def origin(url: str) -> str:
    """scheme://host:port of a URL, lower-case with the port always written: what a breaker is per."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or DEFAULT_PORTS.get(scheme, 0)}"


def is_endpoint_failure(error_reason: str | None, status_code: int | None) -> bool:
    """What counts against a circuit: a timeout, a connection error or a 5xx (600 to 999 is INVALID_RESPONSE)."""
    return error_reason in (TIMEOUT, CONNECTION_ERROR) or (status_code is not None and 500 <= status_code < 600)


def admit(circuit: Circuit, now: float, settings: BreakerSettings) -> tuple[bool, bool, Circuit]:
    """May a call go out now? (allowed, is_probe, next circuit)."""
    if circuit.state == CLOSED:
        return True, False, circuit
    if circuit.state == OPEN and now < (circuit.opened_at or 0) + settings.open_seconds:
        return False, False, circuit
    if circuit.state == HALF_OPEN and circuit.probe_until is not None and now < circuit.probe_until:
        return False, False, circuit  # the probe is out
    return True, True, replace(circuit, state=HALF_OPEN, probe_until=now + settings.probe_seconds)


def record(circuit: Circuit, *, failed: bool, probe: bool, now: float, settings: BreakerSettings) -> Circuit:
    """The circuit after one request's outcome (`failed`: a timeout, connection error or 5xx)."""
    if circuit.state == HALF_OPEN:
        if not probe:
            return circuit  # a call admitted before the circuit opened: the probe decides
        return open_circuit(now) if failed else Circuit()
    if circuit.state == OPEN or not failed:
        return circuit
    recent = (*(t for t in circuit.failure_times if t > now - settings.window), now)
    if len(recent) >= settings.failures:
        return open_circuit(now)
    return replace(circuit, failure_times=recent[-settings.failures :])


def open_circuit(now: float) -> Circuit:
    return Circuit(state=OPEN, opened_at=now)


def shown_state(circuit: Circuit, now: float, settings: BreakerSettings) -> str:
    """The state as health pages show it: an open circuit whose time is up is half-open (the next call probes)."""
    if circuit.state == OPEN and now >= (circuit.opened_at or 0) + settings.open_seconds:
        return HALF_OPEN
    return circuit.state


def retry_delay(
    attempt: int,
    remaining: float,
    *,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before try `attempt + 1` (attempt 0 was the first try), or None: no retry fits.

    `remaining` is what is left of the widget's one deadline; `retry_after` the server's own
    wait, honoured only when it fits.
    """
    if retry_after is not None:
        wait = max(0.0, retry_after)
    else:
        ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
        wait = ceiling * (0.5 + 0.5 * (rng or random).random())
    if remaining - wait < MIN_TRY_SECONDS:
        return None
    return wait


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """A Retry-After header (delta seconds or an HTTP date) in seconds from now; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    seconds = whole_number(value)
    if seconds is not None:
        return float(seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def percentiles(values: list[float], *fractions: float) -> tuple[float | None, ...]:
    """The nearest-rank percentiles (0.5 for p50) of `values`, sorted once; None each when there are none."""
    if not values:
        return (None,) * len(fractions)
    ordered = sorted(values)
    # The rank is a ceiling computed without float surprises at the edges.
    return tuple(ordered[int(max(1, -(-len(ordered) * fraction // 1))) - 1] for fraction in fractions)


def percentile(values: list[float], fraction: float) -> float | None:
    return percentiles(values, fraction)[0]


def cache_key(*scope: object) -> str:
    """A fixed-length key for a cache entry from every part that scopes it (in order)."""
    return hashlib.sha256(json.dumps([str(part) for part in scope]).encode()).hexdigest()
