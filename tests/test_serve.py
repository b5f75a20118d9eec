"""`make serve` as an operator runs it: gunicorn and a worker, DEBUG off, on the test run's database.

One test on purpose: collectstatic and the processes' start-up are most of its time. It starts
`manage.py serve` (what `make serve` runs) on a free port, watches /readyz turn ready when the
worker reports, signs in, loads every page reachable from the menu and every static file they
reference, runs a call through the API, reads /metrics, then sends SIGTERM while a slow call is
in hand and sees that call finish and the process exit 0.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from accounts.models import ApiToken, Role
from conftest import make_member
from flows.models import Execution
from flows.tests.factories import end, make_flow, webhook
from flows.tests.workers import database_url, wait_until
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}\.\w+$")


class Links(HTMLParser):
    """The same-site links and the static files a page references."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: set[str] = set()
        self.static: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            url = values.get(name) or ""
            if url.startswith("/static/"):
                self.static.add(url)
            elif tag == "a" and name == "href" and url.startswith("/") and not url.startswith("//"):
                self.pages.add(url.split("#")[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_serve(port: int, tmp_path: Path) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,  # the test's: it derives the key of the secrets stored here
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url(),
        "SESSION_COOKIE_SECURE": "false",  # plain http on loopback
        "CSRF_COOKIE_SECURE": "false",
        "WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "WORKER_PROCESSES": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "STATIC_ROOT": str(tmp_path / "static"),  # not the checkout's: other tests' whitenoise reads that
        "LOG_FORMAT": "json",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "serve"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (serve's children run in process groups of their own)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout.split()
    return [grandchild for child in map(int, found) for grandchild in (child, *descendants(child))]


def kill_tree(process: subprocess.Popen) -> None:
    """A test that fails half-way must not leave gunicorn and workers running after it."""
    for pid in (process.pid, *descendants(process.pid)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def metric(text: str, name: str, **labels: str) -> float:
    """One sample of a Prometheus text page (0 when absent)."""
    label_text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    wanted = f"{name}{{{label_text}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.split()[-1])
    return 0.0


def test_make_serve_serves_the_site_and_a_worker_then_stops_cleanly_on_sigterm(tmp_path, loopback_allowed, server):
    account = loopback_allowed
    alice = make_member("alice", account, Role.OWNER)
    alice.password = PBKDF2PasswordHasher().encode(PASSWORD, "servetestsalt")  # the real cost: no re-hash at login
    alice.save(update_fields=["password"])
    _, token = ApiToken.issue(user=alice, account=account)
    server.reply("/orders", Reply(body='{"status": "shipped"}'))
    server.reply("/slow", Reply(body="{}", delay=2))
    server.reply("/receiver", Reply(status=204))
    Webhook.objects.create(account=account, name="Receiver", url=server.url("/receiver"), is_default=True)
    flow = make_flow(account, webhook("w1", server.url("/orders")), end(), flow_end_webhook=True)
    slow_flow = make_flow(account, webhook("w1", server.url("/slow")), end(), name="Slow")

    port = free_port()
    site = f"http://127.0.0.1:{port}"
    process = start_serve(port, tmp_path)
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout), daemon=True).start()
    try:
        # /readyz: 503 while the site answers but no worker has reported, then 200.
        answers = []

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"make serve exited with code {process.returncode}.")
            try:
                answers.append(requests.get(f"{site}/readyz", timeout=60))
            except requests.ConnectionError:
                return False
            return answers[-1].status_code == 200

        wait_until(ready, timeout=600, what="/readyz to say ready")
        assert answers[0].status_code == 503
        assert "No worker has reported" in " ".join(answers[0].json()["problems"])
        assert requests.get(f"{site}/healthz", timeout=60).json() == {"status": "ok"}

        # Sign in, then every page reachable from the menu and every static file they reference.
        browser = requests.Session()
        login = browser.get(f"{site}/login/", timeout=60)
        assert login.status_code == 200
        signed_in = browser.post(
            f"{site}/login/",
            data={"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": f"{site}/login/"},
            timeout=120,  # PBKDF2 at its production cost: about half a second, much more on a busy machine
        )
        assert signed_in.url == f"{site}/", signed_in.text
        to_visit, visited, static = ["/", f"/flows/{flow.pk}/"], set(), set()
        while to_visit:
            path = to_visit.pop()
            if path in visited or path.startswith(("/logout", "/admin")):
                continue
            visited.add(path)
            page = browser.get(urljoin(site, path), timeout=60)
            assert page.status_code == 200, f"{path}: {page.status_code}"
            links = Links()
            links.feed(page.text)
            to_visit.extend(sorted(links.pages - visited))
            static |= links.static
        assert {"/", "/webhooks/", "/flows/", "/executions/", "/reports/", "/api/docs/"} <= visited
        assert any(name.endswith(".css") for name in static) and any(name.endswith(".js") for name in static)
        for url in sorted(static):
            assert HASHED_NAME.search(urlsplit(url).path), f"{url} is not a hashed name"
            answer = requests.get(urljoin(site, url), headers={"Accept-Encoding": "gzip"}, timeout=60)
            assert answer.status_code == 200, url
            if url.endswith((".css", ".js", ".svg")):
                assert answer.headers.get("Content-Encoding") == "gzip", url

        # One call end to end, over the API; the counters move.
        before = requests.get(f"{site}/metrics", timeout=60).text
        api = {"Authorization": f"Token {token}"}
        queued = requests.post(f"{site}/api/v1/executions/", json={"flow": flow.pk}, headers=api, timeout=60)
        assert queued.status_code == 202, queued.text
        execution_url = f"{site}/api/v1/executions/{queued.json()['id']}/"
        wait_until(
            lambda: requests.get(execution_url, headers=api, timeout=60).json()["status"] == "completed",
            what="the call to complete",
        )
        wait_until(lambda: server.requests_to("/receiver"), what="the flow-end delivery")
        wait_until(
            lambda: metric(
                requests.get(f"{site}/metrics", timeout=60).text, "phonon_deliveries_total", status="delivered"
            ),
            what="the delivery in the metrics",
        )
        after = requests.get(f"{site}/metrics", timeout=60).text
        assert metric(after, "phonon_executions_total", status="completed") == (
            metric(before, "phonon_executions_total", status="completed") + 1
        )
        assert metric(after, "phonon_webhook_requests_total", outcome="SUCCESS") == 1
        assert metric(after, "phonon_webhook_duration_seconds_count") == 1
        assert metric(after, "phonon_queue_depth") == 0
        assert metric(after, "phonon_workers") == 1

        # SIGTERM while a slow call is in hand: the call completes, everything exits 0.
        in_hand = Execution.queue(slow_flow, call={"cli": "+15550100"})
        wait_until(lambda: server.requests_to("/slow"), what="the slow call to be sent")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- make serve's output:\n{''.join(output)[-6000:]}") from None
    finally:
        if process.poll() is None:
            kill_tree(process)
    in_hand.refresh_from_db()
    assert in_hand.status == "completed", "".join(output)
    assert in_hand.steps[0]["status_code"] == 200
    lines = "".join(output)
    assert f'"execution": "{in_hand.pk}"' in lines  # LOG_FORMAT=json names the execution
