"""The shared cast: alice owns acme, bob only views acme, charlie owns globex."""

import ipaddress
from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts.models import Account, ApiToken, Membership, Role
from phonon.lib.testing.http_server import LocalHTTPServer, local_http_server
from phonon.logs import _context as log_ids
from tests.browser.chromium import missing_chromium_note


def pytest_report_header(config):
    """Say up front when tests/browser/ is deselected (the only place xdist's controller prints)."""
    return missing_chromium_note()


@pytest.fixture(autouse=True)
def plain_static_storage(settings):
    """Tests run without collectstatic, so {% static %} must not need the manifest."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def fresh_caches_and_log_ids():
    """Each test starts with empty caches (API throttle counts are keyed by token ids, which a
    rolled-back database hands out again) and no log ids bound by an earlier test in this thread
    (tests run the engine directly, outside the worker's log_context)."""
    caches["default"].clear()
    token = log_ids.set(None)
    yield
    log_ids.reset(token)


@pytest.fixture(autouse=True)
def fresh_endpoint_guard(monkeypatch):
    """Each test starts with this process's view of the endpoints empty: no circuit it knows open,
    no request in flight (webhooks.endpoints.Guard lives as long as the process)."""
    from webhooks import endpoints

    monkeypatch.setattr(endpoints, "guard", endpoints.Guard())


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """PBKDF2's ~0.4 s per password would dominate the suite; tests need no strong hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_member(username: str, account: Account, role: str):
    user = get_user_model().objects.create_user(username=username, password="correct horse battery")
    Membership.objects.create(user=user, account=account, role=role)
    return user


def api_client(user, account: Account) -> APIClient:
    _, key = ApiToken.issue(user=user, account=account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def acme(db) -> Account:
    return Account.objects.create(slug="acme", name="Acme")


@pytest.fixture
def globex(db) -> Account:
    return Account.objects.create(slug="globex", name="Globex")


@pytest.fixture
def alice(acme):
    return make_member("alice", acme, Role.OWNER)


@pytest.fixture
def bob(acme):
    return make_member("bob", acme, Role.VIEWER)


@pytest.fixture
def charlie(globex):
    return make_member("charlie", globex, Role.OWNER)


@pytest.fixture
def alice_api(alice, acme) -> APIClient:
    return api_client(alice, acme)


@pytest.fixture
def bob_api(bob, acme) -> APIClient:
    return api_client(bob, acme)


@pytest.fixture
def charlie_api(charlie, globex) -> APIClient:
    return api_client(charlie, globex)


@pytest.fixture
def alice_client(client, alice):
    """The site, signed in as alice."""
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


# --- A real local endpoint for webhooks and flows --------------------------------------------


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    """A real HTTP server on 127.0.0.1 that the flows and the check button call."""
    with local_http_server() as running:
        yield running


@pytest.fixture
def acme_with_http(acme) -> Account:
    acme.http_support_enabled = True
    acme.save(update_fields=["http_support_enabled"])
    return acme


@pytest.fixture
def loopback_network_allowed(settings) -> None:
    """The URL policy lets 127.0.0.0/8 through; plain http still needs HTTP support."""
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
def loopback_allowed(loopback_network_allowed, acme_with_http) -> Account:
    """acme may call 127.0.0.0/8 over plain http, like the demo."""
    return acme_with_http


# --- Database for worker tests (flows) -------------------------------------------------------


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite tests use a file, not memory, so worker threads and `runworker` subprocesses share it.

    The name carries the pid and a random part, so test runs side by side never share a file
    (not even runs in other PID namespaces that share this temporary directory).
    """
    import os
    import secrets
    import tempfile

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = os.path.join(tempfile.gettempdir(), f"test_phonon_{os.getpid()}_{secrets.token_hex(4)}.sqlite3")
        database.setdefault("TEST", {})["NAME"] = name


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres_only: needs PostgreSQL (runs when DATABASE_URL is postgres://…)")
    config.addinivalue_line("markers", "restarts_database: restarts PostgreSQL, so runs alone among this run's tests")


_restarts_seen = {"count": ""}


@pytest.fixture(autouse=True)
def database_restart_lock(request) -> Iterator[None]:
    """A test marked restarts_database waits for the tests running beside it (pytest-xdist) to end,
    and none starts until it is done: they share this run's lock file, it holds it alone. It then
    counts a restart in the file, and the other processes drop their dead connections."""
    import fcntl
    import os
    import tempfile

    from django.db import connections

    run = getattr(request.config, "workerinput", {}).get("testrunuid", str(os.getpid()))
    alone = request.node.get_closest_marker("restarts_database") is not None
    with open(os.path.join(tempfile.gettempdir(), f"phonon-tests-{run}.lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        lock.seek(0)
        restarts = lock.read()
        if restarts != _restarts_seen["count"]:
            _restarts_seen["count"] = restarts
            connections.close_all()
        yield
        if alone:
            lock.write("1")
            lock.flush()
            _restarts_seen["count"] = restarts + "1"


def pytest_collection_modifyitems(config, items):
    """Deselect (never skip) postgres_only tests on SQLite: CI runs them in its PostgreSQL pass."""
    import os

    if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return
    deselected = [item for item in items if item.get_closest_marker("postgres_only")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("postgres_only")]
