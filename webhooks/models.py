"""The Advanced → Webhook registry."""

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import AccountOwned
from phonon.encryption import EncryptedTextField


class Method(models.TextChoices):
    GET = "GET"
    POST = "POST"
    PUT = "PUT"
    PATCH = "PATCH"
    DELETE = "DELETE"
    OPTIONS = "OPTIONS"
    HEAD = "HEAD"


class AuthType(models.TextChoices):
    NONE = "none", "None"
    BASIC = "basic", "Basic"


class BodyType(models.TextChoices):
    NONE = "none", "None"


def new_signing_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class Webhook(AccountOwned):
    """A registered endpoint; the account's default one receives every flow-end delivery."""

    name = models.CharField(max_length=100)
    url = models.CharField(max_length=2000)
    method = models.CharField(max_length=7, choices=Method.choices, default=Method.POST)
    auth_type = models.CharField(max_length=8, choices=AuthType.choices, default=AuthType.NONE)
    username = models.CharField(max_length=200, blank=True)
    password = EncryptedTextField(blank=True)
    body_type = models.CharField(max_length=8, choices=BodyType.choices, default=BodyType.NONE)
    is_default = models.BooleanField(default=False)
    signing_secret = EncryptedTextField(default=new_signing_secret)
    # After a rotation the old secret still signs (beside the new one) until this time (SPEC §16).
    previous_signing_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Flow-end delivery health (SPEC §16): since when every attempt has failed, and when that
    # lasted DELIVERY_DISABLE_AFTER_DAYS, so deliveries are recorded `skipped` instead of sent.
    deliveries_failing_since = models.DateTimeField(null=True, blank=True)
    deliveries_last_error = models.CharField(max_length=300, blank=True)
    deliveries_disabled_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True, help_text="Sanitised rich text, at most 1000 visible characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    SECRET_FIELDS = ["signing_secret", "previous_signing_secret", "previous_secret_expires_at", "updated_at"]

    class Meta:
        ordering = ["name"]
        constraints = [
            # Backs `Webhook.objects.for_account(a).filter(is_default=True)` (the flow end webhook).
            models.UniqueConstraint(
                fields=["account"], condition=models.Q(is_default=True), name="one_default_webhook_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:  # never the password or the signing secret
        return f"<Webhook {self.pk} {self.name!r} {self.method} {self.url}>"

    def rotate_signing_secret(self) -> str:
        """A new signing secret; deliveries sign with it from their next attempt on, and with the
        old one too for SIGNING_SECRET_OVERLAP_HOURS, so the receiver can switch without a gap."""
        overlap = timedelta(hours=settings.SIGNING_SECRET_OVERLAP_HOURS)
        self.previous_signing_secret = self.signing_secret if overlap else ""
        self.previous_secret_expires_at = timezone.now() + overlap if overlap else None
        self.signing_secret = new_signing_secret()
        self.save(update_fields=self.SECRET_FIELDS)
        return self.signing_secret

    def end_secret_overlap(self) -> None:
        """Stop signing with the old secret now (the receiver has switched)."""
        self.previous_signing_secret = ""
        self.previous_secret_expires_at = None
        self.save(update_fields=self.SECRET_FIELDS)

    def signing_secrets(self, now: datetime | None = None) -> list[str]:
        """The secrets a delivery is signed with: the current one, then the old one while it overlaps."""
        now = now or timezone.now()
        if self.previous_signing_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            return [self.signing_secret, self.previous_signing_secret]
        return [self.signing_secret]

    @property
    def deliveries_disabled(self) -> bool:
        return self.deliveries_disabled_at is not None


class Endpoint(AccountOwned):
    """One account's circuit breaker for one endpoint origin (scheme://host:port), shared by every
    worker process through this row (SPEC §15; webhooks.endpoints). Written only when a request
    fails or the circuit moves; an origin that never failed has no row (its circuit is closed)."""

    origin = models.CharField(max_length=300)
    state = models.CharField(max_length=10, default="closed")
    failure_times = models.JSONField(default=list, blank=True)  # epoch seconds, closed state
    opened_at = models.FloatField(null=True, blank=True)
    probe_until = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "origin"], name="endpoint_unique_origin")]
        indexes = [
            # webhooks.endpoints.read_circuits(): every worker reads the circuits not closed each heartbeat.
            models.Index(fields=["state"], name="endpoint_not_closed", condition=~models.Q(state="closed")),
        ]

    def __str__(self) -> str:
        return f"{self.origin} ({self.state})"


class EndpointRequest(AccountOwned):
    """One request a call sent to an endpoint origin, kept a day for the endpoint health figures.

    Written in the transaction that ends the execution (flows.engine), one INSERT for all of its
    requests."""

    origin = models.CharField(max_length=300)
    at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    error_reason = models.CharField(max_length=32, blank=True)
    error_detail = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            # endpoint_health(): an account's requests of the last day; save_requests(): pruning by age.
            models.Index(fields=["account", "at"], name="endpoint_request_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.origin} at {self.at}: {self.error_reason or 'ok'}"
