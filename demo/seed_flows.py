"""Demo flows for `seed_demo`, calling the local demo API (demo.api) at DEMO_BASE_URL.

Idempotent: flows are found by name and rewritten with the current DEMO_BASE_URL; a couple of
executions are queued only the first time, so the pages have something to show once the worker
runs.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from accounts.models import Account
from flows.models import Execution, Flow
from flows.revisions import save_revision
from flows.validation import FlowValidationError, validate_flow

logger = logging.getLogger(__name__)

DEMO_API_KEY = "demo-api-key"  # published with the demo, like its basic-auth password
DEMO_CALLS = ({"cli": "+15550100", "did": "+911234567890"}, {"cli": "+15550142", "did": "+911234567891"})


def demo_flow_definitions(base: str) -> list[dict[str, Any]]:
    api = f"{base}/demo-api"

    def say(widget_id: str, text: str, next_id: str = "end") -> dict[str, Any]:
        return {
            "id": widget_id,
            "type": "assign",
            "config": {"assignments": [{"variable": "$flow.key.announcement", "value": text}]},
            "next": {"0": next_id},
        }

    def webhook(widget_id: str, config: dict[str, Any], on_success: str = "end", on_failure: str = "end") -> dict:
        return {"id": widget_id, "type": "webhook", "config": config, "next": {"0": on_success, "1": on_failure}}

    end = {"id": "end", "type": "end"}
    return [
        {
            "name": "Order status (JSON API)",
            "flow_end_webhook": True,
            "start": "lookup",
            "widgets": [
                webhook(
                    "lookup",
                    {
                        "mode": "custom",
                        "method": "GET",
                        "url": f"{api}/secure/orders/$call.cli/",
                        "auth": {"type": "basic", "username": "demo", "password": "demo-secret"},
                        "headers": [
                            {"key": "X-Caller", "value": "$call.cli", "mandatory": True},
                            # Kept like a password: encrypted, shown as "***", masked in steps.
                            {"key": "X-Api-Key", "value": DEMO_API_KEY, "mandatory": True, "secret": True},
                        ],
                        "response_type": "json",
                        "mappings": [
                            {"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": True},
                            {"save_in": "$flow.key.order_eta", "path": "data.order.eta", "mandatory": False},
                            {
                                "save_in": "$flow.key.item_skus",
                                "path": "data.order.items[*].sku",
                                "mandatory": False,
                            },
                        ],
                        "timeout": 10,
                        "persist_response": True,
                        "notes": "<p>Looks the caller's order up by their number; the status is kept for reports.</p>",
                    },
                    "found",
                    "sorry",
                ),
                say("found", "Your order is $flow.key.order_status, expected on $flow.key.order_eta."),
                say("sorry", "We could not find your order; please hold for an agent."),
                end,
            ],
        },
        {
            "name": "Order status (XML API)",
            "flow_end_webhook": False,
            "start": "lookup",
            "widgets": [
                webhook(
                    "lookup",
                    {
                        "mode": "custom",
                        "method": "GET",
                        "url": f"{api}/orders/$call.cli/status.xml",
                        "response_type": "xml",
                        "mappings": [
                            {"save_in": "$flow.key.order_status", "path": "/order/status", "mandatory": True},
                            {"save_in": "$flow.key.item_names", "path": "/order/items/item", "mandatory": False},
                        ],
                        "timeout": 10,
                        "persist_response": True,
                    },
                    "found",
                    "sorry",
                ),
                say("found", "Your order is $flow.key.order_status."),
                say("sorry", "Our order system did not answer."),
                end,
            ],
        },
        {
            "name": "Failing API with a fallback",
            "flow_end_webhook": True,
            "start": "crm",
            "widgets": [
                webhook(
                    "crm",
                    {
                        "mode": "custom",
                        "method": "POST",
                        "url": f"{api}/failing/",
                        "body_type": "json",
                        "body": '{"caller": "$call.cli", "dialled": "$call.did"}',
                        "timeout": 5,
                        "notes": "<p>This API always answers 500: the call takes line 1.</p>",
                    },
                    "end",
                    "fallback",
                ),
                say("fallback", "The CRM failed ($flow.key.error_reason); routing to the general queue.", "notify"),
                webhook(
                    "notify",
                    {
                        "mode": "custom",
                        "method": "GET",
                        "url": f"{api}/slow/",
                        "query_params": [{"key": "seconds", "value": "1", "mandatory": False}],
                        "wait_for_response": False,
                        "timeout": 5,
                    },
                ),
                end,
            ],
        },
        {
            "name": "Pause the dialled number (internal function)",
            "flow_end_webhook": False,
            "start": "pause",
            "widgets": [
                webhook(
                    "pause",
                    {
                        "mode": "internal",
                        "function": "cli_pause_update",
                        "method": "POST",
                        "parameters": ["call"],
                    },
                ),
                end,
            ],
        },
    ]


def seed_demo_flows(account: Account) -> list[Flow]:
    """Create or refresh the demo flows of `account`; queue two calls of each the first time."""
    base = settings.DEMO_BASE_URL.rstrip("/")
    flows = []
    for definition in demo_flow_definitions(base):
        existing = Flow.objects.for_account(account).filter(name=definition["name"]).first()
        try:
            cleaned = validate_flow(definition, account=account, previous=existing.widgets if existing else None)
        except FlowValidationError as error:
            logger.warning(
                "Demo flow %r skipped: %s (the demo needs WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8, as `make run` sets)",
                definition["name"],
                error,
            )
            continue
        flow = save_revision(existing, cleaned, account=account, user=None, publish=True, force=True).flow
        if not Execution.objects.filter(flow=flow).exists():
            for call in DEMO_CALLS:
                Execution.queue(flow, call={**call, "incoming": True})
        flows.append(flow)
    return flows
