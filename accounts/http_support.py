"""The staff-only HTTP-support switch: one function, used by the command and the admin's switch."""

from django.core.exceptions import PermissionDenied
from django.db import transaction

from .models import Account, HttpSupportChange


def set_http_support(account: Account, enabled: bool, *, by) -> HttpSupportChange | None:
    """Turn plain-http webhooks on or off for an account and write the audit row.

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
        return HttpSupportChange.objects.create(account=account, changed_by=by, old_value=old, new_value=enabled)


def http_usage(account: Account) -> dict[str, list[str]]:
    """What uses plain http:// in the account, for the switch's confirmation: webhook names and
    "flow name → widget id" of custom webhook widgets (turning support off makes them fail)."""
    from flows.models import Flow
    from webhooks.models import Webhook

    webhooks = [
        webhook.name
        for webhook in Webhook.objects.for_account(account).only("name", "url")
        if webhook.url.lower().startswith("http://")
    ]
    widgets = [
        f"{flow.name} → {widget['id']}"
        for flow in Flow.objects.for_account(account).only("name", "widgets")
        for widget in flow.widgets or []
        if widget.get("type") == "webhook"
        and str((widget.get("config") or {}).get("url", "")).lower().startswith("http://")
    ]
    return {"http_webhooks": webhooks, "http_widgets": widgets}
