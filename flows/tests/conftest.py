"""Fixtures of the engine, worker, API and page tests: a real local HTTP server the flows may call."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from phonon.lib.testing.http_server import LocalHTTPServer, local_http_server


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with local_http_server() as running:
        yield running


@pytest.fixture
def loopback_allowed(settings, acme):
    """Flows of acme may call 127.0.0.0/8 over plain http, like the demo."""
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    acme.http_support_enabled = True
    acme.save(update_fields=["http_support_enabled"])
    return acme
