"""One object per account for every route of the webhooks app that takes a pk.

The foundation's route-walking test builds another account's object with these and expects 404.
"""

from collections.abc import Callable
from itertools import count

from django.db.models import Model

from accounts.models import Account
from webhooks.models import Webhook

_serial = count(1)


def make_webhook(account: Account, **fields) -> Webhook:
    n = next(_serial)
    # A public address literal: passes the policy with no DNS lookup (tests have no internet).
    values = {"name": f"Hook {n}", "url": f"https://93.184.215.14/hooks/{n}", "method": "POST"} | fields
    return Webhook.objects.create(account=account, **values)


CROSS_ACCOUNT_FACTORIES: dict[str, Callable[[Account], Model]] = {
    "webhook-detail": make_webhook,
    "webhook-rotate-secret": make_webhook,
    "webhooks:edit": make_webhook,
    "webhooks:detail": make_webhook,
    "webhooks:delete": make_webhook,
    "webhooks:set-default": make_webhook,
    "webhooks:rotate-secret": make_webhook,
    "webhooks:end-secret-overlap": make_webhook,
    "webhook-end-secret-overlap": make_webhook,
}
