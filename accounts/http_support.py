"""The staff-only HTTP-support switch: one function, used by the command and the admin action."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from . import audit
from .models import Account, HttpSupportChange, on_off


def set_http_support(account: Account, enabled: bool, *, by, request=None) -> HttpSupportChange | None:
    """Turn plain-http webhooks on or off for an account and write the audit rows (the admin's
    HttpSupportChange and the account's audit log; `request` gives the latter its address).

    Only staff may do it (PermissionDenied otherwise). Returns the audit row, or None when the
    account already had that value (nothing changes, nothing is logged). The row is locked so
    two concurrent changes log the true old value each.
    """
    if by is None or not by.is_active or not by.is_staff:
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
