"""The demo: an account, its users, its webhooks, Direct Dial numbers and flows.

Safe to run again: it finds what exists and only fills in what is missing.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.http_support import set_http_support
from accounts.models import Account, Membership, Role
from demo.seed_flows import seed_demo_flows
from demo.seed_webhooks import seed_demo_webhooks
from phonon.lib.url_policy import UrlPolicyError, check_url

DEMO_SLUG = "demo"
DEMO_USERS = [
    # username, password, role in the demo account (None: staff only)
    ("demo", "demo-password", Role.OWNER),
    ("viewer", "viewer-password", Role.VIEWER),
    ("admin", "admin-password", None),
]


def check_demo_api_allowed(base_url: str) -> None:
    """Refuse to seed when the URL policy would refuse the demo API: the demo flows would be
    skipped and the webhooks fail, leaving a demo that does not work."""
    try:
        check_url(f"{base_url}/demo-api/", allow_http=True, allowed_networks=settings.WEBHOOK_ALLOWED_NETWORKS)
    except UrlPolicyError as error:
        raise CommandError(
            f"The demo calls its API at {base_url}/demo-api/, which the URL policy refuses: {error.reason} "
            "Set WEBHOOK_ALLOWED_NETWORKS=127.0.0.0/8 (as `make run` does), or a network that holds "
            "DEMO_BASE_URL's host, and run seed_demo again. Nothing was created."
        ) from None


class Command(BaseCommand):
    help = "Create (or complete) the demo account, its users, webhooks and flows."

    @transaction.atomic
    def handle(self, *args, **options):
        base_url = settings.DEMO_BASE_URL.rstrip("/")
        check_demo_api_allowed(base_url)
        account, _ = Account.objects.get_or_create(slug=DEMO_SLUG, defaults={"name": "Demo Telecom"})
        users = get_user_model().objects
        staff = None
        for username, password, role in DEMO_USERS:
            user = users.filter(username=username).first()
            if user is None:
                # Set directly, as an operator would: the short demo passwords skip the validators.
                # The address lets "Forgot your password?" be tried (make run prints the mail).
                user = users.create_user(username=username, email=f"{username}@example.com", password=password)
            if role is None:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
                staff = user
            else:
                Membership.objects.update_or_create(user=user, account=account, defaults={"role": role})
        # The demo API is plain http on this machine. Turned on like any other change: by staff, logged.
        set_http_support(account, True, by=staff)
        seed_demo_webhooks(account)
        seed_demo_flows(account)
        self.stdout.write(
            f"Demo ready at {base_url}/ — log in as demo / demo-password (owner) or viewer / viewer-password "
            f"(read-only); admin / admin-password opens {base_url}/admin/."
        )
