"""The account's telephony numbers: Direct Dial numbers and the caller blocklist.

The internal webhooks (`webhooks.internal_functions`) act on them; the site manages them under
Advanced → Direct Dial and Advanced → Caller blocklist.
"""

import re

from django.db import models

from accounts.models import AccountOwned

_NOT_DIALLABLE = re.compile(r"[^\d+]")


def normalise_number(text: str) -> str:
    """Digits with an optional leading +, punctuation and spaces dropped: "+91 (123) 4-5" → "+9112345"."""
    text = _NOT_DIALLABLE.sub("", text or "")
    return ("+" if text.startswith("+") else "") + text.replace("+", "")


def number_variants(text: str) -> list[str]:
    """The spellings a stored number may have: with and without the leading + (carriers differ)."""
    number = normalise_number(text)
    digits = number.lstrip("+")
    return [digits, "+" + digits] if digits else []


class AccountNumber(AccountOwned):
    """A phone number of the account, always stored in the one spelling `normalise_number` gives."""

    number: str

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        self.number = normalise_number(self.number)
        super().save(*args, **kwargs)


class DirectDialNumber(AccountNumber):
    """A number callers dial to reach the account; a paused one is taken out of service by the flows."""

    number = models.CharField(max_length=32, help_text="Digits with an optional leading +, e.g. +911234567890.")
    label = models.CharField(max_length=100, blank=True)
    is_paused = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["account", "number"], name="unique_direct_dial_per_account")]


class BlockedCaller(AccountNumber):
    """A caller number the `caller_blocklist_check` internal webhook answers "blocked" for."""

    number = models.CharField(max_length=32, help_text="Digits with an optional leading +.")
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["account", "number"], name="unique_blocked_caller_per_account")]
