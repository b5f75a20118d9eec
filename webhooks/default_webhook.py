"""The account's default webhook (the flow end webhook's destination): at most one, moved atomically."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Account

from .models import Webhook


def set_default(webhook: Webhook) -> None:
    """Make this the account's default webhook, in one transaction with clearing the old mark."""
    with transaction.atomic():
        lock_defaults(webhook.account)
        clear_default(webhook.account, keep=webhook.pk)
        Webhook.objects.filter(pk=webhook.pk).update(is_default=True)
    webhook.is_default = True


def lock_defaults(account: Account) -> None:
    """Serialise default changes of one account (a row lock on PostgreSQL; SQLite locks at BEGIN IMMEDIATE).

    Call inside the transaction that moves the mark.
    """
    list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))


def clear_default(account: Account, *, keep: int | None) -> None:
    Webhook.objects.for_account(account).filter(is_default=True).exclude(pk=keep).update(is_default=False)
