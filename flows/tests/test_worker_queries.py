"""How many statements one execution costs the worker: the machine-independent throughput figure.

The worker's speed is bounded by the database work per execution (see benchmarks/flows_bench.py),
so these counts may only go down, unless a feature buys a statement on purpose and names it below
(SPEC §15's health row: HEALTH_STATEMENTS). Transaction control (BEGIN, SAVEPOINT, COMMIT…) is left out:
how much of it there is depends on whether a test transaction is open, not on the worker.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flows import worker as worker_module
from flows.models import Execution
from flows.tests.factories import end, make_flow, queue_execution, webhook
from flows.worker import Worker
from phonon.lib.testing.http_server import Reply

TRANSACTION_CONTROL = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK", "COMMIT")
# reports.recording (on flows.signals.execution_finished), in the transaction that ends the execution: the
# report row's INSERT and one INSERT of the webhook step rows; on PostgreSQL both in one statement.


def report_statements() -> list[str]:
    return ["WITH"] if connection.vendor == "postgresql" else ["INSERT", "INSERT"]


# webhooks.endpoints.save_requests, in the same transaction: one INSERT of the requests the calls sent
# (the endpoint health figures). A healthy endpoint costs nothing more: the circuit breaker and the
# busy limit are kept in this process and its heartbeat; the breaker's row is written only on a failure
# or a probe, and a widget without a cache reads no cache entry.
HEALTH_STATEMENTS = 1


def statements(run) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert run()
    return [query["sql"] for query in captured if not query["sql"].upper().startswith(TRANSACTION_CONTROL)]


def on_executions(sqls: list[str]) -> list[str]:
    return [sql.split()[0] for sql in sqls if '"flows_execution"' in sql]


def claim_and_load() -> list[str]:
    """PostgreSQL claims and loads in one statement (UPDATE … RETURNING inside WITH); SQLite in two."""
    return ["WITH"] if connection.vendor == "postgresql" else ["UPDATE", "SELECT"]


@pytest.fixture
def fast(loopback_allowed, server):
    server.reply("/fast", Reply(body='{"ok": true}', headers={"Content-Type": "application/json"}))
    return server.url("/fast")


def test_a_one_webhook_execution_costs_a_claim_a_read_and_a_write(loopback_allowed, fast):
    queue_execution(make_flow(loopback_allowed, webhook("w1", fast), end()))

    sqls = statements(lambda: Worker().run_one_execution(probe_first=False))

    # claim and load (the revision it runs comes with the load, at no extra cost); then the
    # finishing transaction: the execution's UPDATE, the health INSERT, the report INSERTs.
    # Nothing between the load and the finish, while the request runs.
    assert on_executions(sqls) == [*claim_and_load(), "UPDATE"], sqls
    load = sqls[len(claim_and_load()) - 1]
    assert '"flows_flowrevision"' in load, load
    assert 'JOIN "flows_flow"' not in load, load  # the draft's widgets are not read for nothing
    assert len(sqls) == len(claim_and_load()) + 1 + HEALTH_STATEMENTS + len(report_statements()), sqls
    finishing = sqls[len(claim_and_load()) :]
    assert [sql.split()[0] for sql in finishing] == ["UPDATE", "INSERT", *report_statements()], sqls
    assert '"webhooks_endpointrequest"' in finishing[1], sqls


def test_the_loop_probes_only_after_a_claim_that_found_nothing(threads_db, loopback_allowed, fast, monkeypatch):
    flow = make_flow(loopback_allowed, webhook("w1", fast), end())
    for _ in range(3):
        queue_execution(flow)
    probes = []
    probe = worker_module._nothing_due
    monkeypatch.setattr(worker_module, "_nothing_due", lambda now: probes.append(now) or probe(now))

    assert Worker(concurrency=1).run(once=True)

    # The first claim probes (the loop starts idle); the next three claim straight away, the
    # last of them finding the queue empty.
    assert len(probes) == 1
    assert Execution.objects.filter(status="completed").count() == 3


def test_an_idle_worker_probes_with_one_read_and_claims_nothing(db):
    sqls = statements(lambda: not Worker().run_one_execution())

    assert on_executions(sqls) == ["SELECT"], sqls
    assert len(sqls) == 1, sqls


def test_each_further_webhook_widget_adds_one_checkpoint_write(loopback_allowed, fast):
    queue_execution(make_flow(loopback_allowed, webhook("w1", fast, ok="w2"), webhook("w2", fast), end()))

    sqls = statements(lambda: Worker().run_one_execution(probe_first=False))

    assert on_executions(sqls) == [*claim_and_load(), "UPDATE", "UPDATE"], sqls


def test_a_cache_hit_reads_its_entry_and_sends_nothing_to_count(loopback_allowed, server, fast):
    flow = make_flow(loopback_allowed, webhook("w1", fast, cache={"ttl": 300, "key": "$call.cli"}), end())
    queue_execution(flow)
    assert Worker().run_one_execution(probe_first=False)  # the miss stores the answer
    queue_execution(flow)

    sqls = statements(lambda: Worker().run_one_execution(probe_first=False))

    # claim and load, the entry's SELECT, then the finish and the report rows: no health INSERT,
    # as no request went out.
    assert len(server.requests_to("/fast")) == 1
    assert len(sqls) == len(claim_and_load()) + 1 + 1 + len(report_statements()), sqls
    read = sqls[len(claim_and_load())]
    assert read.startswith("SELECT") and '"flows_cachedresponse"' in read, sqls
