"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

They need /usr/bin/chromium. Where it is missing they are deselected (not skipped) with a note;
CI installs Chromium, so there they always run. Screenshots go to test-artifacts/browser/.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.chromium import CHROMIUM, CHROMIUM_ARGS, missing_chromium_note

BROWSER_TESTS = Path(__file__).parent
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"

# Playwright's sync API runs an event loop in the test's thread; the ORM calls the tests make
# (fixtures, assertions on the database) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# A loaded CI machine (the suite runs in two processes on two cores) can take longer than
# Playwright's 5 s default to render the designer; a real failure still fails, just later.
BROWSER_TIMEOUT_MS = 20_000
expect.set_options(timeout=BROWSER_TIMEOUT_MS)


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


@pytest.fixture(autouse=True)
def patient_page(request):
    """Every browser test's page waits as long as its expectations do."""
    if "page" in request.fixturenames:
        request.getfixturevalue("page").set_default_timeout(BROWSER_TIMEOUT_MS)


@pytest.fixture
def screenshot(page, request):
    """screenshot("designer-saved") writes test-artifacts/browser/<test>--designer-saved.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, of=None) -> Path:
        path = ARTIFACTS / f"{request.node.name}--{name}.png"
        (of or page).screenshot(path=str(path), full_page=False)
        return path

    return take


def sign_in(page, live_server, user):
    """Log `user` in through the login form."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def signed_in(page, live_server, alice):
    """The page, after alice logged in through the login form."""
    return sign_in(page, live_server, alice)


@pytest.fixture
def phone(browser):
    """A page on a 390 x 844 touch screen (a phone); screenshot("name", of=phone) shows it."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT_MS)
    yield page
    context.close()
