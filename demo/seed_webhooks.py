"""Demo data for `seed_demo`: webhooks pointing at the local demo API, and Direct Dial numbers."""

from django.conf import settings

from accounts.models import Account
from phone_numbers.models import DirectDialNumber
from webhooks.default_webhook import set_default
from webhooks.models import Method, Webhook

DEMO_DIRECT_DIALS = (
    ("+911234567890", "Sales line"),
    ("+911234567891", "Support line"),
    ("+911234567892", "After-hours line"),
)


def seed_demo_webhooks(account: Account) -> dict[str, Webhook]:
    """Idempotent: creates what is missing, repoints the demo webhooks at DEMO_BASE_URL, keeps the rest.

    Saved without the URL check on purpose: the demo API is this site itself, which may not be
    serving yet while the demo is seeded.
    """
    base = settings.DEMO_BASE_URL.rstrip("/")
    wanted = {
        "receiver": (
            "Demo receiver",
            f"{base}/demo-api/receiver/",
            Method.POST,
            "Receives the flow end webhook of every demo call.",
        ),
        "orders": ("Demo orders API", f"{base}/demo-api/orders/", Method.GET, "The demo JSON API of order statuses."),
    }
    webhooks = {}
    for key, (name, url, method, notes) in wanted.items():
        webhook, _ = Webhook.objects.for_account(account).update_or_create(
            account=account, name=name, defaults={"url": url, "method": method, "notes": f"<p>{notes}</p>"}
        )
        webhooks[key] = webhook
    set_default(webhooks["receiver"])
    for number, label in DEMO_DIRECT_DIALS:
        DirectDialNumber.objects.for_account(account).get_or_create(
            account=account, number=number, defaults={"label": label}
        )
    return webhooks
