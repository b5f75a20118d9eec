"""The Advanced → Webhook registry."""

import base64
import secrets

from django.db import models

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
    notes = models.TextField(blank=True, help_text="Sanitised rich text, at most 1000 visible characters.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

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
        """A new signing secret; deliveries sign with it from their next attempt on."""
        self.signing_secret = new_signing_secret()
        self.save(update_fields=["signing_secret", "updated_at"])
        return self.signing_secret
