"""Fixtures of the webhook tests: fake DNS for the URL policy and a local HTTPS endpoint."""

import pytest

from phonon.lib.testing.http_server import local_http_server, make_test_certificates


@pytest.fixture
def fake_dns(monkeypatch):
    """Names → addresses for the URL policy and the probe; unknown names fail like NXDOMAIN."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError("no such host")
        return table[host]

    monkeypatch.setattr("phonon.lib.url_policy.resolve_host", resolve)
    return table


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    return make_test_certificates(tmp_path_factory.mktemp("tls"), hostnames=("127.0.0.1", "localhost"))


@pytest.fixture
def https_server(certificates, monkeypatch, loopback_network_allowed):
    """A local HTTPS server the outbound client trusts (REQUESTS_CA_BUNDLE) and the policy allows."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_path))
    with local_http_server(tls=certificates) as server:
        yield server
