"""Reading mappings (phonon.lib.extraction, phonon.lib.mapping_sandbox): what a reader process costs.

1. A typical answer (an order of 1 kB JSON) and six mappings, one of them not linear (two
   descents): READS reads in the worker (the baseline, in the same run), then READS through a
   warm reader process, as a widget with such a path is read. Printed: ms a read each way and the
   ratio, the reader's whole cost (its round trip, and JSON both ways).
2. A hostile one: `//*[count(//*) > 0]` on 1 MiB of `<a/>` (62 billion steps): the wall time
   until the reader is stopped. Target: READ_SECONDS and a little, however long the path would run.

No database is used: the figures are the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time

READS = 300


def run() -> None:
    from phonon.lib import mapping_sandbox
    from phonon.lib.extraction import InvalidResponse, read_mappings
    from phonon.lib.mapping_sandbox import read_mappings_within

    order = {"order": {"id": "A-17", "status": "shipped", "items": [{"sku": f"p{n}", "qty": n} for n in range(40)]}}
    body = json.dumps(order).encode()
    costly = [
        {"save_in": "$flow.key.status", "path": "data.order.status"},
        {"save_in": "$flow.key.id", "path": "data.order.id"},
        {"save_in": "$flow.key.skus", "path": "data.order.items[*].sku"},
        {"save_in": "$flow.key.first", "path": "data.order.items[0]"},
        {"save_in": "$flow.key.big", "path": "data.order.items[?(@.qty > 30)].sku"},
        {"save_in": "$flow.key.all", "path": "data..items..sku"},
    ]

    def per_read_ms(read, mappings) -> float:
        read(body, "json", mappings)  # warm: the compiled paths, the reader process
        started = time.perf_counter()
        for _ in range(READS):
            read(body, "json", mappings)
        return (time.perf_counter() - started) * 1000 / READS

    in_worker = per_read_ms(read_mappings, costly)
    in_reader = per_read_ms(read_mappings_within, costly)
    print(f"Mappings ({len(body):,}-byte JSON answer, {len(costly)} mappings, one not linear; {READS} reads each)")
    print(f"  read in the worker (baseline)   {in_worker:6.2f} ms a read")
    print(
        f"  read by a reader process        {in_reader:6.2f} ms a read"
        f" = {in_reader / in_worker:.1f}x  (+{in_reader - in_worker:.2f} ms)"
    )

    hostile = b"<r>" + b"<a/>" * ((1 << 20) // 4 - 2) + b"</r>"
    started = time.perf_counter()
    try:
        read_mappings_within(hostile, "xml", [{"save_in": "$flow.key.all", "path": "//*[count(//*) > 0]"}])
        verdict = "read in full?"
    except InvalidResponse:
        verdict = "stopped"
    stopped = time.perf_counter() - started
    limit = mapping_sandbox.READ_SECONDS
    print(
        f"  //*[count(//*) > 0] on {len(hostile):,} bytes of <a/>: {verdict} after {stopped:.2f} s"
        f"  [{'ok' if stopped < limit + 1 else f'OVER {limit:g} s and a second'}]",
        flush=True,
    )
