"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

They need /usr/bin/chromium. Where it is missing they are deselected (not skipped) with a note;
CI installs Chromium, so there they always run. Screenshots go to test-artifacts/browser/.
"""

import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from phonon.lib.testing.http_server import LocalHTTPServer, local_http_server
from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, missing_chromium_note

BROWSER_TESTS = Path(__file__).parent
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# (fixtures, assertions on the database) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    note = missing_chromium_note()
    if note is None:
        return
    browser_items = [item for item in items if BROWSER_TESTS in Path(item.fspath).parents]
    if not browser_items:
        return
    items[:] = [item for item in items if item not in browser_items]
    config.hook.pytest_deselected(items=browser_items)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:  # with xdist, the root conftest's report header says it instead
        reporter.write_line(f"{len(browser_items)} {note}", yellow=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """A 1366 x 768 laptop screen."""
    return {**browser_context_args, "viewport": {"width": 1366, "height": 768}}


@pytest.fixture
def screenshot(page, request):
    """screenshot("designer-saved") writes test-artifacts/browser/<test>--designer-saved.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{request.node.name}--{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


@pytest.fixture
def signed_in(page, live_server, alice):
    """The page, after alice logged in through the login form."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", alice.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    """A real HTTP server on 127.0.0.1 that the flows and the check button call."""
    with local_http_server() as running:
        yield running


@pytest.fixture
def loopback_allowed(settings, acme):
    """acme may call 127.0.0.0/8 over plain http, like the demo."""
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    acme.http_support_enabled = True
    acme.save(update_fields=["http_support_enabled"])
    return acme
