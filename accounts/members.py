"""Members and invitations (SPEC §17): the one place that invites, accepts, changes roles and removes.

The site's Members page and `/api/v1/members/` both call these functions, so the rules — an
address that is already a member is refused, an account keeps at least one owner, a removed
member's tokens go with them — hold whichever way a change comes in. Each function writes its
audit row.
"""

import logging
import secrets
import smtplib
from datetime import timedelta

from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from . import audit
from .models import Account, ApiToken, Membership, Role, hash_token_key

INVITATION_VALID_FOR = timedelta(days=7)
LAST_OWNER = "{account} needs at least one owner: make someone else an owner first."

logger = logging.getLogger(__name__)


class MailNotSent(Exception):
    """The mail server refused or could not be reached; what would have been saved is rolled back."""

    def __init__(self) -> None:
        super().__init__("The email could not be sent (the mail server did not take it); please try again later.")


def _send(subject: str, template: str, context: dict, to: list[str]) -> None:
    try:
        send_mail(subject, render_to_string(template, context), None, to)
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send %r to %s", subject, to)
        raise MailNotSent from None


def members_of(account: Account):
    """Active members first (by username), then pending invitations (by address)."""
    return (
        Membership.objects.filter(account=account)
        .select_related("user", "invited_by")
        .order_by(F("user__username").asc(nulls_last=True), "email")
    )


def _record(request, action: str, membership: Membership, **kwargs) -> None:
    audit.record(request, action, membership, object_repr=membership.display_name, **kwargs)


def invitation_url(request, key: str) -> str:
    return request.build_absolute_uri(reverse("accounts:invitation", args=[key]))


@transaction.atomic
def invite(request, account: Account, email: str, role: str) -> Membership:
    """Invite `email` with `role` and mail the one-time link; inviting a pending address again
    sends a fresh link (the old one stops working) with the new role.

    Raises ValidationError when the address already belongs to a member, MailNotSent (and
    nothing is saved) when the mail server does not take the message.
    """
    email = BaseUserManager.normalize_email(email.strip())
    if Membership.objects.filter(account=account, user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of {account.name}; change their role in the list instead.")
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    membership = Membership.objects.filter(account=account, user__isnull=True, email__iexact=email).first()
    before = audit.snapshot(membership) if membership else None
    membership = membership or Membership(account=account, email=email)
    membership.role = role
    membership.invited_by = request.user
    membership.invited_at = now
    membership.invite_expires_at = now + INVITATION_VALID_FOR
    membership.invite_key_hash = hash_token_key(key)
    membership.save()
    if before is None:
        _record(request, audit.CREATED, membership)
    else:
        _record(request, audit.CHANGED, membership, changed=audit.changed_fields(before, membership))
    context = {"membership": membership, "url": invitation_url(request, key), "valid_days": INVITATION_VALID_FOR.days}
    _send(f"You are invited to {account.name} on Phonon", "accounts/email/invitation.txt", context, [email])
    return membership


def find_invitation(key: str) -> Membership | None:
    """The invitation the emailed key belongs to (accepted ones too, to say the link was used)."""
    return (
        Membership.objects.select_related("account", "invited_by").filter(invite_key_hash=hash_token_key(key)).first()
    )


def is_member(account: Account, user) -> bool:
    return Membership.objects.filter(account=account, user=user).exists()


@transaction.atomic
def accept(request, membership: Membership, user) -> bool:
    """Join `user` to the invitation's account; False (and the invitation stays open for its
    addressee) when they are a member already, e.g. an owner trying the link."""
    if is_member(membership.account, user):
        return False
    membership.user = user
    membership.save(update_fields=["user"])
    _record(request, audit.CREATED, membership, by=user)
    return True


def owner_emails(account_id: int) -> list[str]:
    """The addresses of the account's owners who have joined (a pending invitation has no user yet)."""
    owners = Membership.objects.filter(account_id=account_id, role=Role.OWNER, user__isnull=False)
    return sorted({email for email in owners.values_list("user__email", flat=True) if email})


def ask_for_new_invitation(request, membership: Membership) -> None:
    """Mail the inviter (or, if they left, every owner) that an expired link was followed.

    Raises MailNotSent when the mail server does not take it."""
    addresses = [membership.invited_by.email] if membership.invited_by and membership.invited_by.email else []
    addresses = addresses or owner_emails(membership.account_id)
    if not addresses:
        return
    context = {"membership": membership, "url": request.build_absolute_uri(reverse("accounts:members"))}
    subject = f"{membership.email} asks for a new invitation to {membership.account.name}"
    _send(subject, "accounts/email/invitation_renewal.txt", context, addresses)


def _check_owner_remains(membership: Membership) -> None:
    """Refuse to take away the account's last (active) owner; the owner rows are locked so two
    owners demoting each other at once cannot both succeed."""
    if membership.is_pending or membership.role != Role.OWNER:
        return
    owners = Membership.objects.select_for_update().filter(
        account=membership.account_id, role=Role.OWNER, user__isnull=False
    )
    if len(owners) <= 1:
        raise ValidationError(LAST_OWNER.format(account=membership.account.name))


@transaction.atomic
def change_role(request, membership: Membership, role: str) -> None:
    if role == membership.role:
        return
    if role != Role.OWNER:
        _check_owner_remains(membership)
    membership.role = role
    membership.save(update_fields=["role"])
    _record(request, audit.CHANGED, membership, changed=["role"])


@transaction.atomic
def remove(request, membership: Membership) -> None:
    """Remove a member, with their API tokens for this account; for a pending invitation, revoke it."""
    _check_owner_remains(membership)
    _record(request, audit.DELETED, membership)
    if membership.user_id:
        ApiToken.objects.for_account(membership.account).filter(user=membership.user_id).delete()
    membership.delete()
