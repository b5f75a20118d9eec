"""Tenancy: the Account, who belongs to it with which role, and how they reach it."""

import hashlib
import ipaddress
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .cidr import normalise_cidr


class Account(models.Model):
    """The tenant. Every tenant-owned row points at one."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    http_support_enabled = models.BooleanField(
        "HTTP support", default=False, help_text="Allows plain-http webhook URLs. Only staff may change it."
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
    """A user's role in an account; without a user yet, a pending invitation to `email`.

    Like Sentry's OrganizationMember, a pending invitation is a member row with no user, so
    members and invitations share one list and one id (`/api/v1/members/{id}/`). Accepting the
    emailed link fills in `user`; the key's hash stays so a second use can be told apart.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships", null=True, blank=True
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    email = models.EmailField(blank=True, help_text="The invited address (pending invitations).")
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    invited_at = models.DateTimeField(null=True, blank=True)
    invite_expires_at = models.DateTimeField(null=True, blank=True)
    invite_key_hash = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="one_membership_per_user_and_account"),
            # Backs the "already invited" lookup of accounts.members.invite().
            models.UniqueConstraint(
                Lower("email"),
                "account",
                condition=models.Q(user__isnull=True),
                name="one_pending_invitation_per_email_and_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.email} in {self.account} ({self.role})"

    @property
    def is_pending(self) -> bool:
        return self.user_id is None

    @property
    def status(self) -> str:
        return "pending" if self.is_pending else "active"

    @property
    def display_name(self) -> str:
        return self.user.username if self.user else self.email

    @property
    def invite_expired(self) -> bool:
        return self.invite_expires_at is not None and self.invite_expires_at <= timezone.now()

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
        named = f" “{self.name}”" if self.name else ""
        return f"{self.prefix}…{named} ({self.user})"

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


class AuditAction(models.TextChoices):
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"
    PUBLISHED = "published", "Published"
    ROTATED = "rotated", "Rotated"


class AuditEntry(AccountOwned):
    """Who did what to which object of the account, when and from where (SPEC §17).

    Written only by `accounts.audit.record()`. Holds field names, never values, so no secret
    can enter it; `actor` keeps the name after the user or token is gone.
    """

    time = models.DateTimeField(default=timezone.now)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    actor = models.CharField(max_length=160, help_text="The username, or token:<prefix> for API calls.")
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(max_length=32)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changed_fields = models.JSONField(default=list, blank=True)
    address = models.CharField(max_length=64, blank=True, help_text="The client address, as the IP whitelist reads it.")

    class Meta:
        ordering = ["-time", "-id"]
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        # Backs the audit log page and GET /api/v1/audit-log/: one account's newest first.
        indexes = [models.Index(fields=["account", "-time"], name="audit_account_time")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.object_type} {self.object_repr}"


class LoginFailure(models.Model):
    """One failed login, counted per user name and per client address by accounts.login_throttle."""

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64)
    time = models.DateTimeField(default=timezone.now)

    class Meta:
        # Back the two counts of login_throttle.record_failure().
        indexes = [
            models.Index(fields=["username", "time"], name="login_failure_username"),
            models.Index(fields=["address", "time"], name="login_failure_address"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address} at {self.time:%Y-%m-%d %H:%M:%S}"


class LoginLock(models.Model):
    """A user name or client address refused at the login form until `locked_until`.

    Deleting the row (the admin's "Unlock") lets it in again at once.
    """

    class Kind(models.TextChoices):
        USERNAME = "username", "User name"
        ADDRESS = "address", "Client address"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=150)
    locked_until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-locked_until"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="one_login_lock_per_key")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} until {self.locked_until:%Y-%m-%d %H:%M} UTC"
