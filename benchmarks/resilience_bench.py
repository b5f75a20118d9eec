"""In-call resilience (SPEC §15, issue 17): what the breaker and the cache save a caller.

1. Circuit breaker: a webhook widget (timeout 1 s) calls an endpoint that never answers in time,
   twelve calls one after another, each through the call's own path (`exchange` with a call's
   context: breaker, busy limit, health row). The first CIRCUIT_FAILURES calls wait out the
   timeout; the later ones fail with CIRCUIT_OPEN. Target: the 6th and later calls < 50 ms.
2. Cache: one call fills the widget's cache, then HITS calls with the same key are answered from
   it. Figures: worker CPU per hit (this process's `process_time`) and the requests the server
   saw during the hits. Target: < 2 ms CPU a hit and no request.

The server is phonon.lib.testing's LocalHTTPServer in this process: its threads idle while the
hits run (no request reaches it), and the hanging endpoint only sleeps.
"""

from __future__ import annotations

import ipaddress
import os
import statistics
import time
import uuid

CALLS = 12
HITS = 300
OPEN_TARGET_MS = 50
HIT_CPU_TARGET_MS = 2


def run() -> None:
    from django.conf import settings

    from accounts.models import Account
    from flows.models import Flow
    from flows.validation import validate_flow
    from flows.variables import ERROR_REASON
    from flows.widgets.webhook import CallContext, exchange
    from phonon.lib.testing.http_server import Reply, local_http_server

    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    account = Account.objects.create(slug=f"bench-{uuid.uuid4().hex[:8]}", name="Bench", http_support_enabled=True)

    def widget_flow(url: str, **config) -> tuple[Flow, dict]:
        widget = {"id": "w1", "type": "webhook", "config": {"mode": "custom", "method": "GET", "url": url, **config}}
        widget["next"] = {"0": "end", "1": "end"}
        cleaned = validate_flow(
            {"name": "bench", "start": "w1", "widgets": [widget, {"id": "end", "type": "end"}]}, account=account
        )
        flow = Flow.objects.create(account=account, **cleaned)
        return flow, flow.widgets[0]["config"]

    def call(flow: Flow, config: dict, n: int):
        context = CallContext(execution_id=f"bench-{n}", flow_id=flow.pk, widget_id="w1")
        return exchange(config, {"$call.cli": "555"}, account=account, context=context)

    # Two servers: the breaker is per origin, and the first one's circuit ends open.
    with local_http_server() as server, local_http_server() as cached_server:
        server.reply("/hang", Reply(body="{}", delay=3))
        cached_server.reply("/fast", Reply(body='{"ok": true}', headers={"Content-Type": "application/json"}))

        flow, config = widget_flow(server.url("/hang"), timeout=1)
        timings = []
        for n in range(CALLS):
            started = time.perf_counter()
            outcome = call(flow, config, n).outcome
            timings.append(((time.perf_counter() - started) * 1000, outcome.variables[ERROR_REASON]))
        print(
            f"Resilience ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, load {os.getloadavg()[0]:.1f})"
        )
        print(f"  endpoint that times out (1 s), {CALLS} calls in a row, CIRCUIT_FAILURES={settings.CIRCUIT_FAILURES}:")
        for n, (ms, reason) in enumerate(timings, start=1):
            print(f"    call {n:2d}: {ms:7.1f} ms  {reason}")
        later = [ms for ms, _ in timings[settings.CIRCUIT_FAILURES :]]
        print(
            f"  calls {settings.CIRCUIT_FAILURES + 1}+ : max {max(later):.1f} ms, "
            f"median {statistics.median(later):.1f} ms (target < {OPEN_TARGET_MS} ms)"
        )

        flow, config = widget_flow(
            cached_server.url("/fast"),
            mappings=[{"save_in": "$flow.key.ok", "path": "data.ok", "mandatory": True}],
            cache={"ttl": 3600, "key": "$call.cli"},
        )
        call(flow, config, 0)  # fills the cache
        before = len(cached_server.requests)
        cpu = time.process_time()
        started = time.perf_counter()
        for n in range(HITS):
            assert call(flow, config, n).outcome.variables["$flow.key.response_cached"] == "true"
        cpu_ms = (time.process_time() - cpu) * 1000 / HITS
        wall_ms = (time.perf_counter() - started) * 1000 / HITS
        print(
            f"  cache hit: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall a hit (target < {HIT_CPU_TARGET_MS} ms CPU); "
            f"requests during {HITS} hits: {len(cached_server.requests) - before} (target 0)"
        )
