"""The worker against a fast local HTTP server (issue 4 item 7).

1. Throughput: a one-webhook-widget flow run by the real worker machinery
   (`Worker.run(once=True)`: claim → run → finish, in this process) beside a plain
   `requests.Session` loop to the same server in the same run. The worker's figure is its steady
   state: executions finished per second after the first WARMUP_CALLS (new threads, their
   database connections and keep-alive HTTP connections), from the executions' `finished_at`.
   The plain loop is measured before and after the concurrency-1 run and averaged, so a change
   in the machine's load hits both sides alike. Target: worker >= 0.5x (PostgreSQL, whose
   statements are round trips to another process: 0.35x) the plain loop at
   concurrency 1. Beside it, the CPU time this process spent per request and per execution
   (the server's is not in it): less swayed by other work on the machine than the rates. And the
   floor under both (floor_loop()): the bare claim → request → finish loop, the most any worker
   that claims and finishes durably reaches on this machine and stack.
2. A `runworker --concurrency 16` process (started, then warmed up with one call):
   - idle pick-up: single calls queued while the worker is idle; the time from the call's
     `created_at` (set just before its INSERT commits) to its claim (`started_at`). Target < 100 ms.
   - a slow endpoint: calls arrive at a steady rate, one in ten hitting a 2-second endpoint; the
     fast calls' completion latency (queued → finished). Target: p95 < 250 ms.
   - the worker process's peak RSS. Target < 200 MB.

The server is phonon.lib.testing's LocalHTTPServer (TCP_NODELAY set, see DEPENDENCIES.md) in a
process of its own, as a remote API would be: in this process its threads would take the GIL
from the client being measured (the plain loop and the worker alike). Both reach it over
keep-alive connections on loopback. The machine's load average is printed beside the figures:
other work on the machine lowers them.
"""

from __future__ import annotations

import ipaddress
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import requests

FAST_CALLS = 400
WARMUP_CALLS = 40
PLAIN_REQUESTS = 400
ARRIVALS_PER_SECOND = 50
ARRIVAL_SECONDS = 4
SLOW_EVERY = 10  # one call in ten hits the 2-second endpoint
SLOW_SECONDS = 2
IDLE_PROBES = 20


# The server's process: paths answering {"ok": true} after a delay, its base URL on stdout, until
# its stdin closes.
SERVER_SCRIPT = """
import sys
from phonon.lib.testing.http_server import Reply, local_http_server
with local_http_server() as server:
    for path, delay in {routes!r}.items():
        server.reply(path, Reply(body='{{"ok": true}}', headers={{"Content-Type": "application/json"}}, delay=delay))
    print(server.url("/").rstrip("/"), flush=True)
    sys.stdin.read()
"""


@contextmanager
def server_process(routes: dict[str, float] | None = None) -> Iterator[str]:
    """A local HTTP server in a process of its own (paths and their delays); yields its base URL."""
    routes = routes or {"/fast": 0, "/slow": SLOW_SECONDS}
    server = subprocess.Popen(  # noqa: S603 - our own script
        [sys.executable, "-c", SERVER_SCRIPT.format(routes=routes)],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield server.stdout.readline().strip()
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def plain_loop(url: str, count: int) -> tuple[float, float]:
    """Requests per second of the simplest possible client (one keep-alive session, in a loop), and CPU ms a request."""
    with requests.Session() as session:
        for _ in range(20):  # warm-up: the connection, the first allocations
            session.get(url).raise_for_status()
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            session.get(url).raise_for_status()
        return count / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / count


def floor_loop(url: str, count: int) -> tuple[float, float]:
    """Calls per second of the least a worker with a durable claim and finish can do, and CPU ms a call.

    One thread, one connection in autocommit: claim a queued row (one UPDATE … RETURNING), send
    its request on a keep-alive session, store the answer (one UPDATE); no engine, no report or
    health rows, no URL policy. The worker's figure over this one is what the product itself costs.
    """
    from django.db import connection

    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    claim = (
        "UPDATE bench_floor SET status = 'running' WHERE id = (SELECT id FROM bench_floor"  # noqa: S608
        f" WHERE status = 'queued' ORDER BY id LIMIT 1{skip_locked}) RETURNING id"
    )
    with connection.cursor() as cursor, requests.Session() as session:
        # A table like any other (a temporary one is not written to the log, so its commits are free).
        cursor.execute("CREATE TABLE bench_floor (id integer PRIMARY KEY, status text, answer text)")
        cursor.executemany("INSERT INTO bench_floor VALUES (%s, 'queued', NULL)", [(n,) for n in range(count)])
        started, cpu = time.perf_counter(), time.process_time()
        while True:
            cursor.execute(claim)
            row = cursor.fetchone()
            if row is None:
                break
            answer = session.get(url).text
            cursor.execute("UPDATE bench_floor SET status = 'done', answer = %s WHERE id = %s", [answer, row[0]])
        elapsed, cpu_ms = time.perf_counter() - started, (time.process_time() - cpu) * 1000 / count
        cursor.execute("DROP TABLE bench_floor")
    return count / elapsed, cpu_ms


def make_flow(account, url: str, name: str):
    from flows.revisions import save_revision
    from flows.validation import validate_flow

    widget = {
        "id": "w1",
        "type": "webhook",
        "config": {
            "mode": "custom",
            "method": "GET",
            "url": url,
            "mappings": [{"save_in": "$flow.key.ok", "path": "data.ok", "mandatory": False}],
            "timeout": 10,
        },
        "next": {"0": "end", "1": "end"},
    }
    cleaned = validate_flow(
        {"name": name, "start": "w1", "widgets": [widget, {"id": "end", "type": "end"}]}, account=account
    )
    return save_revision(None, cleaned, account=account, user=None).flow


def queue(flow, count: int) -> None:
    from flows.models import Execution

    Execution.objects.bulk_create(
        Execution(account=flow.account, flow=flow, revision=flow.published_revision, call={"cli": str(n), "did": "1"})
        for n in range(count)
    )


def worker_rate(flow, concurrency: int) -> tuple[float, float]:
    """Executions/s of Worker.run(once=True) after WARMUP_CALLS, from the executions' finish times;
    and CPU ms an execution over the whole run (warm-up included)."""
    from flows.models import Execution
    from flows.worker import Worker

    queue(flow, WARMUP_CALLS + FAST_CALLS)
    cpu = time.process_time()
    Worker(concurrency=concurrency).run(once=True)
    cpu_ms = (time.process_time() - cpu) * 1000 / (WARMUP_CALLS + FAST_CALLS)
    finished = sorted(Execution.objects.filter(flow=flow, status="completed").values_list("finished_at", flat=True))
    assert len(finished) == WARMUP_CALLS + FAST_CALLS, f"only {len(finished)} completed"
    Execution.objects.filter(flow=flow).delete()
    return FAST_CALLS / (finished[-1] - finished[WARMUP_CALLS - 1]).total_seconds(), cpu_ms


def start_worker_process(concurrency: int, *args: str, **env: str) -> subprocess.Popen:
    env = {**os.environ, "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "LOG_LEVEL": "WARNING", **env}
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runworker", "--concurrency", str(concurrency), *args],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env=env,
    )


def wait_for(flows, count: int, timeout: float) -> None:
    from flows.models import Execution

    deadline = time.monotonic() + timeout
    while Execution.objects.filter(flow__in=flows, status__in=("completed", "failed")).count() < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not finish the calls in time")
        time.sleep(0.05)


def latencies(flow, since: str = "created_at", until: str = "finished_at") -> list[float]:
    from flows.models import Execution

    return [
        (end - start).total_seconds() * 1000
        for start, end in Execution.objects.filter(flow=flow).values_list(since, until)
    ]


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def run() -> None:
    from django.conf import settings
    from django.db import connection

    from accounts.models import Account
    from flows.models import Execution

    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    print(f"flows: the worker against a local HTTP server, on {connection.vendor}", flush=True)
    began = time.perf_counter()
    with server_process() as base_url:
        account = Account.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench", http_support_enabled=True)
        fast = make_flow(account, f"{base_url}/fast", "Fast")
        slow = make_flow(account, f"{base_url}/slow", "Slow")

        print(f"  (load average before: {load_average()}, {os.cpu_count()} CPUs)")
        plain_before = plain_loop(f"{base_url}/fast", PLAIN_REQUESTS)
        floor, floor_cpu = floor_loop(f"{base_url}/fast", PLAIN_REQUESTS)
        rates = {1: worker_rate(fast, 1)}
        plain_after = plain_loop(f"{base_url}/fast", PLAIN_REQUESTS)
        plain = (plain_before[0] + plain_after[0]) / 2
        plain_cpu = (plain_before[1] + plain_after[1]) / 2
        print(f"  plain requests.Session loop   {plain:7.0f} requests/s    ({plain_cpu:.1f} ms CPU a request)")
        print(
            f"  floor: claim, request, finish {floor:7.0f} calls/s        = {floor / plain:.2f}x the plain loop"
            f"  (two bare statements a call, {floor_cpu:.1f} ms CPU a call)"
        )
        for concurrency in (4, 16):
            rates[concurrency] = worker_rate(fast, concurrency)
        for concurrency, (rate, cpu_ms) in rates.items():
            ratio = rate / plain
            target = 0.35 if connection.vendor == "postgresql" else 0.5
            verdict = ("ok" if ratio >= target else f"UNDER the {target}x target") if concurrency == 1 else "info"
            print(
                f"  worker, concurrency {concurrency:<2}       {rate:7.0f} executions/s"
                f"  = {ratio:.2f}x the plain loop  [{verdict}]  ({cpu_ms:.1f} ms CPU an execution)",
                flush=True,
            )

        worker = start_worker_process(16)
        try:
            # The worker is up once it has run this one; until then, calls wait for Python, Django
            # and the database connection to start (seconds on a loaded machine), which is not
            # pick-up time.
            started = time.perf_counter()
            queue(fast, 1)
            wait_for([fast], 1, timeout=60)
            print(f"  runworker started and ran its first call in {time.perf_counter() - started:.1f} s")
            Execution.objects.filter(flow=fast).delete()
            for _ in range(IDLE_PROBES):
                queue(fast, 1)
                time.sleep(0.2 + random.random() * 0.1)  # not in step with the worker's poll
            wait_for([fast], IDLE_PROBES, timeout=20)
            pickup = latencies(fast, until="started_at")
            completion = latencies(fast)
            Execution.objects.filter(flow=fast).delete()
            print(
                f"  idle worker, one call at a time: queued → claimed p50 {statistics.median(pickup):.0f} ms,"
                f" max {max(pickup):.0f} ms  [{'ok' if max(pickup) < 100 else 'OVER the 100 ms target'}];"
                f" → finished p50 {statistics.median(completion):.0f} ms",
                flush=True,
            )

            total = ARRIVALS_PER_SECOND * ARRIVAL_SECONDS
            interval = 1 / ARRIVALS_PER_SECOND
            next_arrival = time.perf_counter()
            for number in range(total):
                queue(slow if number % SLOW_EVERY == 0 else fast, 1)
                next_arrival += interval
                time.sleep(max(0.0, next_arrival - time.perf_counter()))
            wait_for([fast, slow], total, timeout=30)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        fast_ms = latencies(fast)
        p50, p95 = percentile(fast_ms, 0.5), percentile(fast_ms, 0.95)
        slow_count = Execution.objects.filter(flow=slow).count()
        print(
            f"  {total} calls at {ARRIVALS_PER_SECOND}/s, {slow_count} of them to a {SLOW_SECONDS} s endpoint,"
            f" concurrency 16: fast calls p50 {p50:.0f} ms, p95 {p95:.0f} ms"
            f"  [{'ok' if p95 < 250 else 'OVER the 250 ms target'}]"
        )
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"  runworker peak RSS {rss_mb:.0f} MB  [{'ok' if rss_mb < 200 else 'OVER the 200 MB target'}]")
        in_process = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"  (this benchmark process, worker threads included: {in_process:.0f} MB)")
    print(f"  total {time.perf_counter() - began:.1f} s, load average after: {load_average()}", flush=True)
