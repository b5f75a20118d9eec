"""Fixtures of the worker tests (threads_db) and of the flow-end delivery tests (a real local
receiver as the account's default webhook)."""

import ipaddress

import pytest

from phonon.lib.testing.http_server import local_http_server
from webhooks.models import Webhook

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


@pytest.fixture
def receiver():
    with local_http_server() as server:
        yield server


@pytest.fixture
def allow_loopback(settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = LOOPBACK
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0, 0]
    return settings


@pytest.fixture
def default_webhook(acme, receiver, allow_loopback):
    acme.http_support_enabled = True
    acme.save()
    return Webhook.objects.create(account=acme, name="CRM", url=receiver.url("/hook"), is_default=True)


@pytest.fixture
def threads_db(transactional_db):
    """Worker threads use their own connections: the data must be committed for them to see it."""
