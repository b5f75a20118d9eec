"""The OpenAPI schema is a contract: Schemathesis finds no answer it does not describe.

Schemathesis (the schema-driven API tester) reads /api/schema/ from a live server started here
and sends what the schema calls valid and invalid to every operation, with an owner's token,
running `--checks all`: no 500, every status code and body as documented, valid data accepted
(but for the rules `tests/schemathesis.toml` names), invalid data refused, no 2xx without a
token. Bounds and seed are in that file.

Nothing may reach out: the URL policy allows no private network (so not even loopback), and in
this process every name but localhost fails to resolve and every connection but to loopback is
refused, so the check button and the flows' save-time URL checks stay on this machine.
Schemathesis itself talks only to the live server on 127.0.0.1.
"""

import ipaddress
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import ApiToken, IpWhitelistEntry
from flows.tests.factories import make_delivery
from phone_numbers.tests.factories import make_direct_dial
from webhooks.tests.factories import make_webhook

CONFIG = Path(__file__).with_name("schemathesis.toml")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def loopback_only(monkeypatch, settings):
    """Every lookup but loopback fails and every connection but to loopback is refused (this process)."""
    settings.WEBHOOK_ALLOWED_NETWORKS = ()
    # The run sends thousands of requests a minute with one token; API_RATE has tests of its own.
    settings.API_RATE = "1000000/min"
    refused: list[str] = []
    resolve, connect = socket.getaddrinfo, socket.socket.connect

    def guarded_getaddrinfo(host, *args, **kwargs):
        if host is not None and not is_loopback(str(host)):
            refused.append(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, "outbound lookups are off in this test")
        return resolve(host, *args, **kwargs)

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            refused.append(f"connect {address[0]}")
            raise ConnectionRefusedError("outbound connections are off in this test")
        return connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return refused


def schemathesis(*arguments: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    executable = Path(sys.executable).with_name("schemathesis")
    return subprocess.run(
        [str(executable), "--no-color", "--config-file", str(CONFIG), "run", *arguments],
        cwd=cwd,
        env={**environment, **env, "NO_PROXY": "*"},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.django_db(transaction=True)
def test_schemathesis_finds_nothing_the_schema_does_not_describe(
    live_server, loopback_only, alice, acme, charlie, globex, tmp_path
):
    # Something to find: the run reads, edits and deletes what the lists show (it cannot create
    # webhooks itself: saving one checks its URL, which would reach out).
    make_webhook(acme)
    delivery = make_delivery(acme)  # with its flow and execution
    make_direct_dial(acme, number="+911234")
    _, key = ApiToken.issue(user=alice, account=acme)
    _, whitelist_key = ApiToken.issue(user=charlie, account=globex)

    run = schemathesis(
        f"{live_server.url}/api/schema/",
        "--checks",
        "all",
        cwd=tmp_path,
        env={"PHONON_API_TOKEN": key, "PHONON_WHITELIST_TOKEN": whitelist_key, "PHONON_DELIVERY_ID": str(delivery.pk)},
    )

    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert not IpWhitelistEntry.objects.for_account(acme).exists(), "the run's own account was locked out"
