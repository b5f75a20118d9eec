"""The audit log's one writer: `record(request, action, obj)` from any view, serializer or command.

Who is read from the request: the signed-in user on the site, `token:<prefix>` in the API
(`by=` for calls without a request, e.g. a staff command). Only field *names* are stored, so
no secret value can enter the log. Callers take a `snapshot()` before a change and pass
`changed_fields(before, obj)` after it.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models, transaction

from .client_ip import canonical_client_ip
from .models import Account, ApiToken, AuditAction, AuditEntry

# What the log calls each audited model (filter values of the page and the API).
OBJECT_TYPES = {
    "webhooks.webhook": "webhook",
    "flows.flow": "flow",
    "accounts.apitoken": "token",
    "accounts.ipwhitelistentry": "ip_whitelist",
    "accounts.membership": "member",
    "accounts.account": "http_support",
}

CREATED, CHANGED, DELETED, PUBLISHED, ROTATED = (
    AuditAction.CREATED,
    AuditAction.CHANGED,
    AuditAction.DELETED,
    AuditAction.PUBLISHED,
    AuditAction.ROTATED,
)


def snapshot(obj: models.Model) -> dict[str, Any]:
    """The object's stored values, to compare after a change (auto-updated timestamps left out)."""
    return {
        field.name: field.value_from_object(obj)
        for field in obj._meta.concrete_fields
        if not field.primary_key and not getattr(field, "auto_now", False)
    }


def changed_fields(before: dict[str, Any], obj: models.Model) -> list[str]:
    after = snapshot(obj)
    return sorted(name for name, value in after.items() if before.get(name) != value)


def object_type_of(obj: models.Model) -> str:
    label = obj._meta.label_lower
    return OBJECT_TYPES.get(label, obj._meta.model_name)


def _actor(request, by) -> tuple[Any, str]:
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken):
        return token.user, f"token:{token.prefix}"
    user = by if by is not None else getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None, "system"
    return user, user.get_username()


def record(
    request,
    action: str,
    obj: models.Model,
    *,
    changed: Iterable[str] = (),
    by=None,
    account: Account | None = None,
    object_repr: str | None = None,
) -> AuditEntry:
    """Write one audit row for `action` on `obj` in its account; call it before a delete.

    `request` is a Django or DRF request (or None with `by=` the user, for commands).
    """
    if account is None:
        account = obj if isinstance(obj, Account) else obj.account
    user, actor = _actor(request, by)
    return AuditEntry.objects.create(
        account=account,
        actor_user=user,
        actor=actor,
        action=action,
        object_type=object_type_of(obj),
        object_id=str(obj.pk),
        object_repr=(object_repr if object_repr is not None else str(obj))[:200],
        changed_fields=sorted(changed),
        address=canonical_client_ip(request) if request is not None else "",
    )


def record_change(request, obj: models.Model, before: dict[str, Any], **kwargs) -> AuditEntry | None:
    """A "changed" row naming the fields that differ from `before`; none when nothing changed."""
    changed = changed_fields(before, obj)
    if not changed:
        return None
    return record(request, CHANGED, obj, changed=changed, **kwargs)


class AuditedViewSetMixin:
    """For DRF viewsets of audited models: create, update and destroy each write one row."""

    @transaction.atomic
    def perform_create(self, serializer) -> None:
        super().perform_create(serializer)
        record(self.request, CREATED, serializer.instance)

    @transaction.atomic
    def perform_update(self, serializer) -> None:
        before = snapshot(serializer.instance)
        super().perform_update(serializer)
        record_change(self.request, serializer.instance, before)

    @transaction.atomic
    def perform_destroy(self, instance) -> None:
        record(self.request, DELETED, instance)
        super().perform_destroy(instance)
