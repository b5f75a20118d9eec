"""Capacity (SPEC §12, issue 12): many calls waiting on slow webhooks, a handful of connections.

1. In flight: CAPACITY_CALLS executions queued to a 5 s endpoint, then one
   `runworker --once --concurrency CAPACITY_CALLS` process. Printed: the wall time from the
   worker's start to the last finish (and from its first claim, which leaves out Python and
   Django starting up), the peak number of executions in flight (from their started_at and
   finished_at), the worker's peak database connections (PostgreSQL: its sessions in
   pg_stat_activity, told apart by application name; SQLite: its open descriptors of the database
   file, one per connection), sampled every 20 ms, and its peak RSS (VmHWM). Targets: all
   finished within 15 s, at most WORKER_DB_CONNECTIONS connections, RSS < 400 MB.
2. Fast calls beside slow ones: 1,000 calls to a 10 s endpoint are put in flight first, then
   fast calls arrive at 50/s for 4 s; their queued → finished p95. Target < 250 ms.
3. On PostgreSQL, two worker processes ÷ one: executions/s of `runworker --once --concurrency 8`
   over FAST_RUN fast executions while every process ran, one process then two; every execution
   claimed exactly once (attempts = 1, all completed). Target ≥ 1.7x. Beside it, the share of
   the machine's CPUs busy meanwhile: the worker, PostgreSQL and the HTTP server share them, so
   1 ÷ that share is the most a second process can bring on this machine.

The server runs in a process of its own (benchmarks.flows_bench.server_process). Every call goes
to one origin of one account, so parts 1 and 2 lift ENDPOINT_MAX_IN_FLIGHT (SPEC §15's busy limit,
50 by default) to the calls they hold in flight: they measure the worker, not that limit. The machine's
load average is printed: on a busy machine every figure here is worse than on a quiet one.
`BENCH_CAPACITY_CALLS` lowers the 2,000 for a quick look.
"""

from __future__ import annotations

import contextlib
import os
import resource
import statistics
import threading
import time
import uuid
from datetime import timedelta

from benchmarks.flows_bench import (
    ARRIVAL_SECONDS,
    ARRIVALS_PER_SECOND,
    latencies,
    load_average,
    make_flow,
    percentile,
    queue,
    server_process,
    start_worker_process,
)

CAPACITY_CALLS = int(os.environ.get("BENCH_CAPACITY_CALLS", "2000"))
WAITING_CALLS = 1000
FAST_RUN = 1000
APPLICATION_NAME = "phonon-capacity-bench"


class Watch(threading.Thread):
    """Samples a worker process's database connections and peak RSS until stop()."""

    def __init__(self, pids) -> None:
        super().__init__(daemon=True)
        self.pids = pids  # a callable: the worker processes' pids
        self.peak_connections = 0
        self.peak_rss_mb = 0.0
        self._done = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self._done.wait(0.02):
                self.peak_connections = max(self.peak_connections, self.connections())
                for pid in self.pids():
                    self.peak_rss_mb = max(self.peak_rss_mb, peak_rss_mb(pid))
        finally:
            connection.close()

    def connections(self) -> int:
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = %s",
                    [APPLICATION_NAME],
                )
                return cursor.fetchone()[0]
        database = os.path.realpath(connection.settings_dict["NAME"])
        return sum(open_descriptors_of(pid, database) for pid in self.pids())

    def stop(self) -> None:
        self._done.set()
        self.join()


def open_descriptors_of(pid: int, path: str) -> int:
    count = 0
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                count += os.readlink(f"/proc/{pid}/fd/{fd}") == path
    return count


def peak_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_in_flight(flow) -> int:
    """The most executions between their claim and their finish at one moment."""
    from flows.models import Execution

    events = []
    for started, finished in Execution.objects.filter(flow=flow).values_list("started_at", "finished_at"):
        if started and finished:
            events += [(started, 1), (finished, -1)]
    peak = current = 0
    for _, change in sorted(events):
        current += change
        peak = max(peak, current)
    return peak


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def verdict(ok: bool, target: str) -> str:
    return "ok" if ok else f"MISSES {target}"


def in_flight(flow, base_url: str) -> None:
    from django.conf import settings

    from flows.models import Execution

    limit = settings.WORKER_DB_CONNECTIONS
    queue(flow, CAPACITY_CALLS)
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker = start_worker_process(
        CAPACITY_CALLS, "--once", PGAPPNAME=APPLICATION_NAME, ENDPOINT_MAX_IN_FLIGHT=str(CAPACITY_CALLS)
    )
    started = time.perf_counter()
    watch = Watch(lambda: [worker.pid])
    watch.start()
    try:
        worker.wait(timeout=300)
    finally:
        watch.stop()
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the worker is the only child waited for
    cpu = cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime
    rows = Execution.objects.filter(flow=flow)
    completed = rows.filter(status="completed").count()
    claims = sorted(rows.values_list("started_at", flat=True))
    last_finish = max(rows.values_list("finished_at", flat=True))
    claimed_to_finished = (last_finish - claims[0]).total_seconds()
    print(
        f"  {CAPACITY_CALLS} calls to a 5 s endpoint, runworker --concurrency {CAPACITY_CALLS} --once:"
        f" exit {worker.returncode}, {completed} completed, peak {peak_in_flight(flow)} in flight",
        flush=True,
    )
    print(
        f"    start → exit {wall:.1f} s (worker CPU {cpu:.1f} s); all claimed within"
        f" {(claims[-1] - claims[0]).total_seconds():.1f} s; first claim → last finish {claimed_to_finished:.1f} s"
        f"  [{verdict(claimed_to_finished <= 15 and completed == CAPACITY_CALLS, 'the 15 s target')}]"
    )
    print(
        f"    peak database connections {watch.peak_connections}"
        f"  [{verdict(watch.peak_connections <= limit, f'WORKER_DB_CONNECTIONS={limit}')}];"
        f" peak RSS {watch.peak_rss_mb:.0f} MB  [{verdict(watch.peak_rss_mb < 400, '400 MB')}]",
        flush=True,
    )
    rows.delete()


def fast_beside_slow(fast, slow) -> None:
    from flows.models import Execution

    worker = start_worker_process(WAITING_CALLS + 200, ENDPOINT_MAX_IN_FLIGHT=str(WAITING_CALLS + 200))
    try:
        queue(fast, 1)  # the worker is up once it has run this one
        wait_until(lambda: Execution.objects.filter(flow=fast, status="completed").exists(), 60, "the worker")
        Execution.objects.filter(flow=fast).delete()
        queue(slow, WAITING_CALLS)
        wait_until(
            lambda: not Execution.objects.filter(flow=slow, started_at=None).exists(),
            60,
            f"{WAITING_CALLS} calls to be claimed",
        )
        total = ARRIVALS_PER_SECOND * ARRIVAL_SECONDS
        interval = 1 / ARRIVALS_PER_SECOND
        next_arrival = time.perf_counter()
        for _ in range(total):
            queue(fast, 1)
            next_arrival += interval
            time.sleep(max(0.0, next_arrival - time.perf_counter()))
        still_waiting = Execution.objects.filter(flow=slow, status="running").count()
        wait_until(lambda: Execution.objects.filter(flow=fast, status="completed").count() >= total, 30, "fast calls")
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    fast_latencies = latencies(fast)
    p95 = percentile(fast_latencies, 0.95)
    print(
        f"  {total} fast calls at {ARRIVALS_PER_SECOND}/s while {WAITING_CALLS} wait on a 10 s endpoint"
        f" ({still_waiting} still waiting as the last arrived): p50 {statistics.median(fast_latencies):.0f} ms,"
        f" p95 {p95:.0f} ms  [{verdict(p95 < 250, 'the 250 ms target')}]",
        flush=True,
    )
    Execution.objects.filter(flow__in=[fast, slow]).delete()


class MachineCpu(threading.Thread):
    """Samples the whole machine's CPU counters (/proc/stat) every 100 ms until stop().

    busy_between(begin, end) is the share of all CPUs that were not idle between two wall-clock
    times: with one worker process, the room left on the machine for a second one (the worker,
    PostgreSQL and the HTTP server share the CPUs).
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int, int]] = []  # (time.time(), idle ticks, total ticks)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.1):
            with open("/proc/stat") as stat:
                ticks = [int(value) for value in stat.readline().split()[1:]]
            self.samples.append((time.time(), ticks[3] + ticks[4], sum(ticks)))  # idle + iowait

    def stop(self) -> None:
        self._done.set()
        self.join()

    def busy_between(self, begin: float, end: float) -> float:
        inside = [sample for sample in self.samples if begin <= sample[0] <= end]
        if len(inside) < 2:
            return float("nan")
        (_, idle_first, total_first), (_, idle_last, total_last) = inside[0], inside[-1]
        return 1 - (idle_last - idle_first) / max(total_last - total_first, 1)


def processes_rate(flow, processes: int) -> tuple[float, float]:
    """Executions/s of `processes` runworker --once processes over FAST_RUN executions, while all of them ran;
    and the machine's busy CPU share over the same span.

    Counted between the last process's first claim and the first process's last finish: the
    processes start (Python, Django) at different speeds, and the time one ran alone is not
    the rate of several.
    """
    from flows.models import Execution

    queue(flow, FAST_RUN)
    cpu = MachineCpu()
    cpu.start()
    workers = [start_worker_process(8, "--once") for _ in range(processes)]
    for worker in workers:
        worker.wait(timeout=300)
    cpu.stop()
    rows = Execution.objects.filter(flow=flow)
    assert rows.filter(status="completed", attempts=1).count() == FAST_RUN, "an execution ran twice or not at all"
    spans = {}
    for worker_id, started, finished in rows.values_list("claimed_by", "started_at", "finished_at"):
        first, last = spans.get(worker_id, (started, finished))
        spans[worker_id] = (min(first, started), max(last, finished))
    assert len(spans) == processes, f"{len(spans)} of the {processes} processes ran executions"
    begin, end = max(first for first, _ in spans.values()), min(last for _, last in spans.values())
    finished = rows.filter(finished_at__gte=begin, finished_at__lte=end).count()
    rows.delete()
    return finished / max((end - begin) / timedelta(seconds=1), 1e-9), cpu.busy_between(
        begin.timestamp(), end.timestamp()
    )


def run() -> None:
    import ipaddress

    from django.conf import settings
    from django.db import connection

    from accounts.models import Account

    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    print(f"flows capacity, on {connection.vendor} (load average before: {load_average()}, {os.cpu_count()} CPUs)")
    began = time.perf_counter()
    with server_process({"/fast": 0, "/five": 5, "/ten": 10}) as base_url:
        account = Account.objects.create(slug=f"cap-{uuid.uuid4().hex[:8]}", name="Capacity", http_support_enabled=True)
        five = make_flow(account, f"{base_url}/five", "Five seconds")
        in_flight(five, base_url)
        fast = make_flow(account, f"{base_url}/fast", "Fast")
        ten = make_flow(account, f"{base_url}/ten", "Ten seconds")
        fast_beside_slow(fast, ten)
        if connection.vendor == "postgresql":
            one, busy_one = processes_rate(fast, 1)
            two, busy_two = processes_rate(fast, 2)
            print(
                f"  runworker --once --concurrency 8 over {FAST_RUN} fast calls: one process {one:.0f}/s,"
                f" two {two:.0f}/s = {two / one:.2f}x  [{verdict(two / one >= 1.7, 'the 1.7x target')}]"
                " (each execution claimed once)\n"
                f"    machine CPU busy: {busy_one:.0%} with one process (so at most {1 / max(busy_one, 0.01):.2f}x"
                f" fits on these {os.cpu_count()} CPUs), {busy_two:.0%} with two",
                flush=True,
            )
    print(f"  total {time.perf_counter() - began:.1f} s, load average after: {load_average()}", flush=True)
