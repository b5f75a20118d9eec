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


# E.164-ish: an optional leading +, digits, and the separators people type between them.
_PHONE_NUMBER = re.compile(r"\+?[\d\s().-]+")
MIN_DIGITS, MAX_DIGITS = 3, 15  # a short code … E.164's longest number


def clean_phone_number(text: str) -> str:
    """`text` as a phone number in the one stored spelling, or ValueError saying what to type.

    The one rule for Direct Dial numbers, blocked callers and the site's "Start a call":
    "+91 (123) 456-7890" → "+911234567890"; letters, markup or a + in the middle are refused.
    """
    text = (text or "").strip()
    example = (
        "use digits with an optional leading +, e.g. +15550100 (spaces, dots, hyphens and brackets may separate them)"
    )
    if not _PHONE_NUMBER.fullmatch(text):
        raise ValueError(f"{text!r} is not a phone number: {example}." if text else f"Enter a phone number: {example}.")
    number = normalise_number(text)
    if not MIN_DIGITS <= len(number.lstrip("+")) <= MAX_DIGITS:
        raise ValueError(
            f"A phone number has {MIN_DIGITS} to {MAX_DIGITS} digits; {text!r} has {len(number.lstrip('+'))}."
        )
    return number


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
