"""The worker against a fast local HTTP server (issue 4 item 7).

1. Throughput: a one-webhook-widget flow run by the worker (`Worker.run(once=True)`, in this
   process) beside a plain `requests.Session` loop to the same server in the same run.
   Target: worker >= 0.5x the plain loop at concurrency 1.
2. A slow endpoint: a `runworker --concurrency 16` process while calls arrive at a steady rate,
   one in ten hitting a 2-second endpoint; the fast calls' completion latency (queued → finished).
   Target: p95 < 250 ms. Also the pick-up latency of an idle worker (target < 100 ms) and the
   worker process's peak RSS (target < 200 MB).

The server is phonon.lib.testing's LocalHTTPServer (TCP_NODELAY set, see DEPENDENCIES.md).
"""

from __future__ import annotations

import ipaddress
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import uuid

import requests

FAST_CALLS = 400
PLAIN_REQUESTS = 400
ARRIVALS_PER_SECOND = 50
ARRIVAL_SECONDS = 4
SLOW_EVERY = 10  # one call in ten hits the 2-second endpoint
SLOW_SECONDS = 2
IDLE_PROBES = 8


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def plain_loop(url: str, count: int) -> float:
    """Requests per second of the simplest possible client: one keep-alive session, in a loop."""
    with requests.Session() as session:
        session.get(url).raise_for_status()
        started = time.perf_counter()
        for _ in range(count):
            session.get(url).raise_for_status()
        return count / (time.perf_counter() - started)


def make_flow(account, url: str, name: str):
    from flows.models import Flow
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
    return Flow.objects.create(account=account, **cleaned)


def queue(flow, count: int) -> None:
    from flows.models import Execution

    Execution.objects.bulk_create(
        Execution(account=flow.account, flow=flow, call={"cli": str(n), "did": "1"}) for n in range(count)
    )


def worker_rate(flow, concurrency: int) -> float:
    from flows.models import Execution
    from flows.worker import Worker

    queue(flow, FAST_CALLS)
    started = time.perf_counter()
    Worker(concurrency=concurrency).run(once=True)
    elapsed = time.perf_counter() - started
    done = Execution.objects.filter(flow=flow, status="completed").count()
    assert done == FAST_CALLS, f"only {done} of {FAST_CALLS} completed"
    Execution.objects.filter(flow=flow).delete()
    return FAST_CALLS / elapsed


def start_worker_process(concurrency: int) -> subprocess.Popen:
    env = {**os.environ, "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8", "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runworker", "--concurrency", str(concurrency)],
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


def latencies(flow) -> list[float]:
    from flows.models import Execution

    return [
        (finished - created).total_seconds() * 1000
        for created, finished in Execution.objects.filter(flow=flow).values_list("created_at", "finished_at")
    ]


def run() -> None:
    from django.conf import settings
    from django.db import connection

    from accounts.models import Account
    from flows.models import Execution
    from flows.worker import keep_database_connections
    from phonon.lib.testing.http_server import Reply, local_http_server

    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    keep_database_connections()  # as runworker does
    print(f"flows: the worker against a local HTTP server, on {connection.vendor}", flush=True)
    began = time.perf_counter()
    with local_http_server() as server:
        server.reply("/fast", Reply(body='{"ok": true}', headers={"Content-Type": "application/json"}))
        server.reply("/slow", Reply(body='{"ok": true}', delay=SLOW_SECONDS))
        account = Account.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench", http_support_enabled=True)
        fast = make_flow(account, server.url("/fast"), "Fast")
        slow = make_flow(account, server.url("/slow"), "Slow")

        plain = plain_loop(server.url("/fast"), PLAIN_REQUESTS)
        print(f"  plain requests.Session loop   {plain:7.0f} requests/s")
        rates = {}
        for concurrency in (1, 4, 16):
            rates[concurrency] = worker_rate(fast, concurrency)
            ratio = rates[concurrency] / plain
            verdict = ("ok" if ratio >= 0.5 else "UNDER the 0.5x target") if concurrency == 1 else "info"
            print(
                f"  worker, concurrency {concurrency:<2}       {rates[concurrency]:7.0f} executions/s"
                f"  = {ratio:.2f}x the plain loop  [{verdict}]",
                flush=True,
            )

        worker = start_worker_process(16)
        try:
            time.sleep(2)  # Django start-up; then the worker is idle
            for _ in range(IDLE_PROBES):
                queue(fast, 1)
                time.sleep(0.25)
            wait_for([fast], IDLE_PROBES, timeout=20)
            pickup = latencies(fast)
            Execution.objects.filter(flow=fast).delete()
            print(
                f"  idle worker, one call at a time: completion p50 {statistics.median(pickup):.0f} ms,"
                f" max {max(pickup):.0f} ms  [{'ok' if max(pickup) < 100 else 'OVER the 100 ms target'}]",
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
        print(f"  (this benchmark process, worker threads and server included: {in_process:.0f} MB)")
    print(f"  total {time.perf_counter() - began:.1f} s", flush=True)
