"""Fixtures for the widget and validation tests; import the ones a module uses.

Each fixture function is named `<fixture>_fixture` (the fixture itself is `<fixture>`), so a
test module imports `widget_server_fixture` and its tests take `widget_server` as usual.

`widget_server` is a real HTTP server on 127.0.0.1 that outbound requests may reach
(`widget_loopback_allowed` puts 127.0.0.0/8 in WEBHOOK_ALLOWED_NETWORKS and gives acme HTTP
support). `widget_public_dns` makes api.example.com resolve to a public address, for unit tests
whose network is `responses`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from flows.validation import validate_flow
from phonon.lib.testing.http_server import LocalHTTPServer, local_http_server

PUBLIC_HOST = "api.example.com"
PUBLIC_ADDRESS = "93.184.215.14"


@pytest.fixture(name="widget_server")
def widget_server_fixture() -> Iterator[LocalHTTPServer]:
    with local_http_server() as server:
        yield server


@pytest.fixture(name="widget_loopback_allowed")
def widget_loopback_allowed_fixture(settings, acme):
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    acme.http_support_enabled = True
    acme.save()
    return acme


@pytest.fixture(name="widget_public_dns")
def widget_public_dns_fixture(monkeypatch) -> str:
    def resolve(host: str, port: int) -> list[str]:
        if host == PUBLIC_HOST:
            return [PUBLIC_ADDRESS]
        raise OSError(f"no such host {host}")

    monkeypatch.setattr("phonon.lib.url_policy.resolve_host", resolve)
    return PUBLIC_HOST


def webhook_widget(widget_id: str = "w1", **config: Any) -> dict[str, Any]:
    """A webhook widget in wire format, lines 0 and 1 to the end widget "end"."""
    return {
        "id": widget_id,
        "type": "webhook",
        "config": {"mode": "custom", "url": f"https://{PUBLIC_HOST}/orders/$call.cli", **config},
        "next": {"0": "end", "1": "end"},
    }


def end_widget(widget_id: str = "end") -> dict[str, Any]:
    return {"id": widget_id, "type": "end"}


def flow_data(*widgets: dict[str, Any], start: str = "w1", name: str = "Order status") -> dict[str, Any]:
    return {"name": name, "flow_end_webhook": False, "start": start, "widgets": list(widgets)}


def clean_webhook_config(account, **config: Any) -> dict[str, Any]:
    """A webhook config as validate_flow stores it (defaults filled, password encrypted)."""
    cleaned = validate_flow(flow_data(webhook_widget(**config), end_widget()), account=account)
    return cleaned["widgets"][0]["config"]
