import ipaddress
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts.models import Account, HttpSupportChange, Membership, Role
from flows.models import Flow


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo_api_allowed(settings) -> None:
    """What `make run` sets: the demo API on this machine passes the URL policy."""
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    settings.DEMO_BASE_URL = "http://127.0.0.1:8000"


def test_seed_demo_creates_the_demo_and_can_run_again(db, client, demo_api_allowed):
    seed()
    output = seed()
    account = Account.objects.get(slug="demo")
    assert account.name == "Demo Telecom"
    assert account.http_support_enabled is True
    assert HttpSupportChange.objects.filter(account=account).count() == 1  # turned on once, by staff
    roles = dict(Membership.objects.filter(account=account).values_list("user__username", "role"))
    assert roles == {"demo": Role.OWNER, "viewer": Role.VIEWER}
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert "demo / demo-password" in output
    assert client.login(username="demo", password="demo-password")
    assert client.login(username="viewer", password="viewer-password")
    assert client.login(username="admin", password="admin-password")
    assert get_user_model().objects.get(username="demo").email == "demo@example.com"  # to try a reset
    assert Flow.objects.filter(account=account).count() == 4


def test_seed_demo_refuses_to_start_when_the_url_policy_blocks_the_demo_api(db, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ()
    settings.DEMO_BASE_URL = "http://127.0.0.1:8000"

    with pytest.raises(CommandError, match=r"Set WEBHOOK_ALLOWED_NETWORKS=127\.0\.0\.0/8 \(as `make run` does\)"):
        seed()

    assert not Account.objects.exists()
    assert not get_user_model().objects.exists()
