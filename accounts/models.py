"""Tenancy: the Account, who belongs to it with which role, and how they reach it."""

import hashlib
import ipaddress
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .cidr import normalise_cidr


class Account(models.Model):
    """The tenant. Every tenant-owned row points at one."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    http_support_enabled = models.BooleanField(
        "HTTP support", default=False, help_text="Allows plain-http webhook URLs; changed by support staff (audited)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def url_policy(self) -> dict:
        """The URL policy's arguments for this account's outbound requests (SPEC §5): http only
        with HTTP support, non-public addresses only inside WEBHOOK_ALLOWED_NETWORKS."""
        return {"allow_http": self.http_support_enabled, "allowed_networks": tuple(settings.WEBHOOK_ALLOWED_NETWORKS)}


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    DEVELOPER = "developer", "Developer"
    VIEWER = "viewer", "Viewer"


WRITE_ROLES = frozenset({Role.OWNER, Role.DEVELOPER})


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_user_and_account")]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES


class AccountOwnedQuerySet(models.QuerySet):
    def for_account(self, account: Account) -> "AccountOwnedQuerySet":
        return self.filter(account=account)


class AccountOwned(models.Model):
    """Base of every tenant-owned model: the account column and the scoped queryset."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")

    objects = AccountOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


def hash_token_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(AccountOwned):
    """An API key. Only its SHA-256 is stored; the key itself is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, help_text="The key's first characters, to tell tokens apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, *, user, account: Account, name: str = "") -> tuple["ApiToken", str]:
        """Create a token; return it with the plain key, which is not stored anywhere."""
        key = "phk_" + secrets.token_urlsafe(30)
        token = cls.objects.create(user=user, account=account, name=name, prefix=key[:12], key_hash=hash_token_key(key))
        return token, key


class IpWhitelistEntry(AccountOwned):
    """An address or network allowed to use the account's API. No entries: any address."""

    cidr = models.CharField(max_length=64, help_text="An IPv4/IPv6 address or CIDR, e.g. 203.0.113.0/24.")
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["cidr"]
        verbose_name = "IP whitelist entry"
        verbose_name_plural = "IP whitelist entries"
        constraints = [models.UniqueConstraint(fields=["account", "cidr"], name="unique_whitelist_cidr_per_account")]

    def __str__(self) -> str:
        return self.cidr

    def clean(self) -> None:
        """Store the canonical spelling, so "10.0.0.1" and "10.0.0.1/32" are one entry."""
        if not self.cidr:  # the required-field check says so; a form may also have refused it already
            return
        try:
            self.cidr = normalise_cidr(self.cidr)
        except ValueError as error:
            raise ValidationError({"cidr": str(error)})

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=False)


def on_off(value: bool) -> str:
    return "on" if value else "off"


class HttpSupportChange(AccountOwned):
    """Audit log of the staff-only HTTP-support switch."""

    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now_add=True)
    old_value = models.BooleanField()
    new_value = models.BooleanField()

    class Meta:
        ordering = ["-changed_at"]
        verbose_name = "HTTP support change"

    def __str__(self) -> str:
        return f"{self.account}: {on_off(self.old_value)} → {on_off(self.new_value)} by {self.changed_by}"
