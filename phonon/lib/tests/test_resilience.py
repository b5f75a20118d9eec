"""The breaker's state machine, retry delays within a deadline, Retry-After and cache keys."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from phonon.lib.resilience import (
    CLOSED,
    HALF_OPEN,
    MIN_TRY_SECONDS,
    OPEN,
    BreakerSettings,
    Circuit,
    admit,
    cache_key,
    is_endpoint_failure,
    parse_retry_after,
    percentile,
    record,
    retry_delay,
    shown_state,
)

SETTINGS = BreakerSettings(failures=5, window=60, open_seconds=30, probe_seconds=65)


def fail_times(circuit: Circuit, *times: float) -> Circuit:
    for t in times:
        circuit = record(circuit, failed=True, probe=False, now=t, settings=SETTINGS)
    return circuit


def test_it_opens_after_five_failures_within_the_window():
    circuit = fail_times(Circuit(), 0, 1, 2, 3)
    assert circuit.state == CLOSED
    circuit = fail_times(circuit, 4)
    assert circuit.state == OPEN
    assert admit(circuit, 5, SETTINGS)[0] is False


def test_failures_older_than_the_window_do_not_count():
    circuit = fail_times(Circuit(), 0, 1, 2, 3, 70)
    assert circuit.state == CLOSED
    assert len(circuit.failure_times) == 1


def test_successes_do_not_open_or_count():
    circuit = record(Circuit(), failed=False, probe=False, now=0, settings=SETTINGS)
    assert circuit == Circuit()


def test_after_open_seconds_exactly_one_call_probes():
    circuit = fail_times(Circuit(), 0, 1, 2, 3, 4)
    assert admit(circuit, 33.9, SETTINGS)[0] is False
    allowed, probe, circuit = admit(circuit, 34, SETTINGS)
    assert (allowed, probe, circuit.state) == (True, True, HALF_OPEN)
    assert admit(circuit, 35, SETTINGS)[0] is False  # the probe is out


def test_the_probes_success_closes_and_its_failure_reopens():
    opened = fail_times(Circuit(), 0, 1, 2, 3, 4)
    _, _, half = admit(opened, 40, SETTINGS)
    assert record(half, failed=False, probe=True, now=41, settings=SETTINGS) == Circuit()
    reopened = record(half, failed=True, probe=True, now=41, settings=SETTINGS)
    assert (reopened.state, reopened.opened_at) == (OPEN, 41)


def test_a_late_answer_from_before_the_circuit_opened_does_not_decide_the_probe():
    _, _, half = admit(fail_times(Circuit(), 0, 1, 2, 3, 4), 40, SETTINGS)
    assert record(half, failed=False, probe=False, now=41, settings=SETTINGS) == half


def test_a_lost_probe_is_replaced_after_probe_seconds():
    _, _, half = admit(fail_times(Circuit(), 0, 1, 2, 3, 4), 40, SETTINGS)
    allowed, probe, _ = admit(half, 40 + 65, SETTINGS)
    assert allowed and probe


def test_an_open_circuit_past_its_time_shows_half_open():
    opened = fail_times(Circuit(), 0, 1, 2, 3, 4)
    assert shown_state(opened, 10, SETTINGS) == OPEN
    assert shown_state(opened, 40, SETTINGS) == HALF_OPEN


def test_timeouts_connection_errors_and_5xx_count_against_a_circuit_odd_statuses_do_not():
    failures = [("TIMEOUT", None), ("CONNECTION_ERROR", None), ("SERVER_ERROR", 500), ("SERVER_ERROR", 599)]
    others = [(None, 200), ("CLIENT_ERROR", 404), ("INVALID_RESPONSE", 600), ("INVALID_RESPONSE", 999)]

    assert [is_endpoint_failure(*outcome) for outcome in failures] == [True] * 4
    assert [is_endpoint_failure(*outcome) for outcome in others] == [False] * 4


def test_backoff_is_short_jittered_and_grows():
    rng = random.Random(7)
    delays = [retry_delay(attempt, 60, rng=rng) for attempt in range(3)]
    assert 0.1 <= delays[0] <= 0.2
    assert 0.2 <= delays[1] <= 0.4
    assert 0.4 <= delays[2] <= 0.8
    assert all(retry_delay(10, 60, rng=rng) <= 2.0 for _ in range(20))


def test_no_retry_when_the_wait_leaves_too_little_of_the_deadline():
    assert retry_delay(0, MIN_TRY_SECONDS + 0.05, rng=random.Random(1)) is None
    assert retry_delay(0, 5) is not None


def test_retry_after_is_honoured_only_when_it_fits():
    assert retry_delay(0, 10, retry_after=3) == 3
    assert retry_delay(0, 10, retry_after=30) is None


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:05 GMT", now=now) == 5
    assert parse_retry_after("soon") is None
    assert parse_retry_after("\u00b9") is None  # "¹" (a byte 0xB9): a digit to isdigit(), no number
    assert parse_retry_after(None) is None


def test_cache_keys_differ_by_every_part():
    base = cache_key(1, 2, "w1", "555")
    assert base == cache_key(1, 2, "w1", "555")
    assert len({base, cache_key(9, 2, "w1", "555"), cache_key(1, 2, "w2", "555"), cache_key(1, 2, "w1", "556")}) == 4
    assert cache_key("a", "bc") != cache_key("ab", "c")


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert percentile(values, 0.5) == 50
    assert percentile(values, 0.95) == 95
    assert percentile([7], 0.95) == 7
    assert percentile([], 0.5) is None
