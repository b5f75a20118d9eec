"""The staff-only HTTP-support switch: one function, used by the command and the admin's switch."""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import transaction

from . import audit
from .models import Account, HttpSupportChange, on_off


def may_change_http_support(user) -> bool:
    """The switch's one rule (SPEC §1): being active support staff is the role itself, so neither
    the command nor the admin asks for a model permission on top."""
    return user is not None and user.is_active and user.is_staff


def set_http_support(account: Account, enabled: bool, *, by, request=None) -> HttpSupportChange | None:
    """Turn plain-http webhooks on or off for an account and write the audit rows (the admin's
    HttpSupportChange and the account's audit log; `request` gives the latter its address).

    Only staff may do it (PermissionDenied otherwise). Returns the audit row, or None when the
    account already had that value (nothing changes, nothing is logged). The row is locked so
    two concurrent changes log the true old value each.
    """
    if not may_change_http_support(by):
        raise PermissionDenied(
            f"{getattr(by, 'username', by)!s} is not staff: only support staff may change HTTP support."
        )
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        old = locked.http_support_enabled
        if old == enabled:
            account.http_support_enabled = old
            return None
        Account.objects.filter(pk=account.pk).update(http_support_enabled=enabled)
        account.http_support_enabled = enabled
        audit.record(
            request,
            audit.CHANGED,
            account,
            by=by,
            changed=["http_support_enabled"],
            object_repr=f"HTTP support {on_off(old)} → {on_off(enabled)}",
        )
        return HttpSupportChange.objects.create(account=account, changed_by=by, old_value=old, new_value=enabled)


# What calls plain http:// in an account, for the switch's confirmation. The apps that own such
# URLs register a finder in their AppConfig.ready(), so accounts imports none of them.
HTTP_URL_FINDERS: dict[str, Callable[[Account], list[str]]] = {}


def register_http_urls(label: str, find: Callable[[Account], list[str]]) -> None:
    """`find(account)` names what in the account calls an http:// URL ("Orders → w1")."""
    HTTP_URL_FINDERS[label] = find


def http_usage(account: Account) -> dict[str, list[str]]:
    """{label: names} of everything that calls http:// in the account (turning support off makes it fail)."""
    return {label: find(account) for label, find in HTTP_URL_FINDERS.items()}


def is_http(url: object) -> bool:
    return str(url or "").lower().startswith("http://")
