"""The account's default webhook (the flow end webhook's destination): at most one, moved atomically."""

from __future__ import annotations

from django.db import transaction

from accounts import audit
from accounts.models import Account

from .models import Webhook


def set_default(webhook: Webhook, *, request=None) -> None:
    """Make this the account's default webhook, in one transaction with clearing the old mark
    (audited as a change of the webhook that had it, when a `request` names who moved it)."""
    with transaction.atomic():
        clear_default(webhook.account, keep=webhook.pk, request=request)
        Webhook.objects.filter(pk=webhook.pk).update(is_default=True)
    webhook.is_default = True


def clear_default(account: Account, *, keep: int | None, request=None) -> None:
    """Take the mark off the account's default webhook unless it is `keep`; with a `request`, its
    audit row says so (the webhook that gains the mark has its own).

    Call inside the transaction that gives the mark: it first locks the account's row, so moves of
    one account's mark take turns (a row lock on PostgreSQL; SQLite locks at BEGIN IMMEDIATE).
    """
    list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))
    for previous in Webhook.objects.for_account(account).filter(is_default=True).exclude(pk=keep):
        Webhook.objects.filter(pk=previous.pk).update(is_default=False)
        if request is not None:
            audit.record(request, audit.CHANGED, previous, changed=["is_default"])
