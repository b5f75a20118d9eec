"""The demo: seed_demo_flows against the demo API served by a live test server, run by the worker."""

from __future__ import annotations

import ipaddress

from demo.seed_flows import seed_demo_flows
from flows.models import Execution, Flow
from flows.worker import Worker


def test_the_demo_flows_run_against_the_demo_api(live_server, settings, transactional_db, acme):
    settings.DEMO_BASE_URL = live_server.url
    settings.DEMO_API = True
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    acme.http_support_enabled = True
    acme.save()

    flows = seed_demo_flows(acme)
    seed_demo_flows(acme)  # again: nothing doubles

    assert len(flows) == Flow.objects.count() == 4
    assert Execution.objects.count() == 8
    worker = Worker()
    while worker.run_one_execution():
        pass

    by_flow = {flow.name: list(Execution.objects.filter(flow=flow)) for flow in flows}
    json_flow = next(flow for flow in flows if flow.name == "Order status (JSON API)")
    api_key = json_flow.widgets[0]["config"]["headers"][1]
    assert api_key["key"] == "X-Api-Key" and api_key["secret"] is True and "value" not in api_key
    json_call = by_flow["Order status (JSON API)"][0]
    assert json_call.steps[0]["request_headers"]["X-Api-Key"] == "***"
    assert json_call.steps[0]["unmatched"] == []  # the help's data.order.status matches the demo API
    assert json_call.status == "completed", json_call.failure_reason
    assert json_call.steps[0]["line"] == "0", json_call.steps[0]
    assert json_call.variables["$flow.key.order_status"] in ("shipped", "processing", "delivered", "cancelled")
    assert "$flow.key.order_status" in json_call.persisted_variables
    xml_call = by_flow["Order status (XML API)"][0]
    assert xml_call.steps[0]["line"] == "0", xml_call.steps[0]
    assert xml_call.variables["$flow.key.order_status"] == json_call.variables["$flow.key.order_status"]
    failing = by_flow["Failing API with a fallback"][0]
    assert [step["line"] for step in failing.steps] == ["1", "0", "0", None]
    assert failing.steps[2]["background"] == "SUCCESS"
    internal = by_flow["Pause the dialled number (internal function)"][0]
    assert internal.status == "completed"
    assert "$flow.key.cli_pause_update" in internal.variables
