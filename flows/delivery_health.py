"""The disable clock of flow-end deliveries (SPEC §16), run after every attempt.

A webhook whose every attempt has failed for DELIVERY_DISABLE_AFTER_DAYS is disabled for
flow-end deliveries: new ones are recorded `skipped`, not sent, so a receiver that is gone for
good stops costing retries. Its owners get an email when the failing starts and when it is
disabled. Each transition is one conditional UPDATE, so with several workers exactly one of them
sees it happen and sends the email.
"""

import functools
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from accounts.members import owner_emails
from webhooks.models import Webhook

from .models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def note_attempt(webhook_id: int, delivered: bool, error: str, now: datetime) -> None:
    """Move the webhook's clock after one attempt: a success stops it; a failure starts it, or
    disables the webhook once it has run for DELIVERY_DISABLE_AFTER_DAYS."""
    webhooks = Webhook.objects.filter(pk=webhook_id)
    if delivered:
        webhooks.exclude(deliveries_failing_since=None).update(deliveries_failing_since=None, deliveries_last_error="")
        return
    error = error[: Webhook._meta.get_field("deliveries_last_error").max_length]
    if webhooks.filter(deliveries_failing_since=None).update(deliveries_failing_since=now, deliveries_last_error=error):
        mail_owners_after_commit(webhooks.get(), disabled=False)
        return
    webhooks.update(deliveries_last_error=error)
    cutoff = now - timedelta(days=settings.DELIVERY_DISABLE_AFTER_DAYS)
    if webhooks.filter(deliveries_disabled_at=None, deliveries_failing_since__lte=cutoff).update(
        deliveries_disabled_at=now
    ):
        logger.warning("webhook %s disabled for flow-end deliveries after failing since %s", webhook_id, cutoff)
        mail_owners_after_commit(webhooks.get(), disabled=True)


def mail_owners_after_commit(webhook: Webhook, *, disabled: bool) -> None:
    """The mail goes once the attempt's transaction has committed: a slow mail server holds no
    row lock or worker connection, and a rolled-back attempt sends nothing."""
    transaction.on_commit(functools.partial(email_owners, webhook, disabled=disabled))


def reenable(webhook: Webhook) -> int:
    """After a passing check: send flow-end deliveries again; the number of skipped ones to offer for replay."""
    Webhook.objects.filter(pk=webhook.pk).update(
        deliveries_disabled_at=None, deliveries_failing_since=None, deliveries_last_error=""
    )
    webhook.deliveries_disabled_at = webhook.deliveries_failing_since = None
    webhook.deliveries_last_error = ""
    return skipped_deliveries(webhook).count()


def skipped_deliveries(webhook: Webhook):
    return Delivery.objects.for_account(webhook.account_id).filter(webhook=webhook, status=DeliveryStatus.SKIPPED)


def email_owners(webhook: Webhook, *, disabled: bool) -> None:
    """Tell the account's owners; a mail server that fails is logged, never fails the delivery."""
    recipients = owner_emails(webhook.account_id)
    if not recipients:
        return
    page = settings.SITE_URL + reverse("webhooks:edit", args=[webhook.pk])
    since = f"{webhook.deliveries_failing_since:%Y-%m-%d %H:%M} UTC"
    if disabled:
        subject = f"Flow-end deliveries to “{webhook.name}” are disabled"
        opening = (
            f"Every flow-end delivery to the webhook “{webhook.name}” ({webhook.url}) has failed since {since}, "
            f"for {settings.DELIVERY_DISABLE_AFTER_DAYS:g} days, so it is now disabled: new deliveries are "
            "recorded as skipped and not sent."
        )
        closing = (
            "Fix the receiver, then press Check on the webhook's page to re-enable it and replay what was skipped."
        )
    else:
        subject = f"Flow-end deliveries to “{webhook.name}” are failing"
        opening = (
            f"Flow-end deliveries to the webhook “{webhook.name}” ({webhook.url}) have been failing since {since}. "
            f"If every delivery keeps failing for {settings.DELIVERY_DISABLE_AFTER_DAYS:g} days, the webhook "
            "will be disabled for flow-end deliveries."
        )
        closing = "Failed deliveries are retried on the schedule and can be replayed from the deliveries page."
    body = f"{opening}\n\nLast error: {webhook.deliveries_last_error or 'unknown'}\n\n{closing}\n{page}\n"
    try:
        send_mail(subject, body, None, recipients)
    except Exception:  # an unreachable mail server must not fail the delivery's bookkeeping
        logger.exception("could not email the owners of account %s about webhook %s", webhook.account_id, webhook.pk)
    else:
        logger.info("emailed %d owner(s) about webhook %s (disabled=%s)", len(recipients), webhook.pk, disabled)
