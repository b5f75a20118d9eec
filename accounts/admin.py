"""The support staff's view of tenancy. HTTP support changes only through the audited function,
from a switch on the account's page that first says what will change."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .http_support import http_usage, may_change_http_support, set_http_support
from .login_throttle import unlock
from .models import Account, ApiToken, AuditEntry, HttpSupportChange, IpWhitelistEntry, LoginLock, Membership


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class HttpSupportChangeInline(ReadOnlyInline):
    model = HttpSupportChange
    fields = ["changed_at", "changed_by", "old_value", "new_value"]
    readonly_fields = fields
    verbose_name_plural = "HTTP support audit log"

    def has_view_permission(self, request, obj=None) -> bool:
        """Whoever may use the switch sees its history beside it."""
        return may_change_http_support(request.user) or super().has_view_permission(request, obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "email", "invite_expires_at"]
    readonly_fields = ["email", "invite_expires_at"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """The account's page carries the HTTP-support switch: a button, then a confirmation saying
    what changes for this account, then `set_http_support()` (audited, staff only)."""

    list_display = ["slug", "name", "http_support_enabled", "created_at"]
    list_filter = ["http_support_enabled"]
    search_fields = ["slug", "name"]
    exclude = ["http_support_enabled"]  # changed only through the switch below
    readonly_fields = ["http_support", "created_at"]
    inlines = [MembershipInline, HttpSupportChangeInline]

    def has_module_permission(self, request) -> bool:
        return may_change_http_support(request.user) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        """Every active staff member may see accounts, because SPEC §1 makes `is_staff` itself the
        role that turns HTTP support on and off (`set_http_support --by` asks nothing more) and
        the switch lives on this page. Viewing is the narrowest grant that reaches it: editing
        the other fields, adding and deleting still need Django's model permissions, and the page
        shows nothing secret (members, tokens and webhooks stay behind their own permissions)."""
        return may_change_http_support(request.user) or super().has_view_permission(request, obj)

    def get_urls(self):
        switch = path(
            "<int:pk>/http-support/",
            self.admin_site.admin_view(self.http_support_view),
            name="accounts_account_http_support",
        )
        return [switch, *super().get_urls()]

    @admin.display(description="HTTP support")
    def http_support(self, account: Account) -> str:
        state = "on: webhooks may call plain http:// URLs" if account.http_support_enabled else "off: https only"
        if account.pk is None:
            return state
        url = reverse("admin:accounts_account_http_support", args=[account.pk])
        action = "Turn it off…" if account.http_support_enabled else "Turn it on…"
        return format_html('{} <a class="button" href="{}">{}</a>', state, url, action)

    def http_support_view(self, request, pk: int):
        """GET: what turning the switch changes, with Confirm; POST: change it (audited)."""
        account = get_object_or_404(Account, pk=pk)
        if not may_change_http_support(request.user):
            raise PermissionDenied("Only active support staff may change HTTP support.")
        enabled = not account.http_support_enabled
        if request.method == "POST":
            set_http_support(account, enabled, by=request.user, request=request)
            state = "on" if enabled else "off"
            self.message_user(request, f"HTTP support is {state} for {account.name} (logged).")
            return redirect("admin:accounts_account_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "enabled": enabled,
            "title": f"Turn HTTP support {'on' if enabled else 'off'} for {account.name}?",
            # What would fail: asked only when turning support off (with it off, nothing calls http).
            "http_usage": {} if enabled else http_usage(account),
        }
        return TemplateResponse(request, "admin/accounts/http_support_confirm.html", context)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "email", "account", "role", "invite_expires_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "email", "account__slug", "account__name"]
    autocomplete_fields = ["user", "account"]
    readonly_fields = ["invited_by", "invited_at", "invite_expires_at"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `create_token` or on the site; here they can be inspected or revoked."""

    list_display = ["prefix", "name", "user", "account", "created_at", "last_used_at"]
    list_filter = ["account"]
    search_fields = ["prefix", "name", "user__username", "account__slug"]
    fields = ["prefix", "name", "user", "account", "created_at", "last_used_at"]
    readonly_fields = ["prefix", "user", "account", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(IpWhitelistEntry)
class IpWhitelistEntryAdmin(admin.ModelAdmin):
    list_display = ["cidr", "label", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["cidr", "label", "account__slug"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["time", "account", "actor", "action", "object_type", "object_repr", "address"]
    list_filter = ["action", "object_type", "account"]
    search_fields = ["actor", "object_repr", "account__slug"]


@admin.register(LoginLock)
class LoginLockAdmin(admin.ModelAdmin):
    """Locked-out user names and addresses; delete a row (or use the action) to let it in again."""

    list_display = ["kind", "value", "locked_until", "created_at"]
    list_filter = ["kind"]
    search_fields = ["value"]
    readonly_fields = ["kind", "value", "locked_until", "created_at"]
    actions = ["unlock_selected"]

    def has_add_permission(self, request) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        unlock(obj)

    def delete_queryset(self, request, queryset) -> None:
        for lock in queryset:
            unlock(lock)

    @admin.action(description="Unlock (clear the lock and its failed logins)")
    def unlock_selected(self, request, queryset) -> None:
        count = len(queryset)
        self.delete_queryset(request, queryset)
        self.message_user(request, f"Unlocked {count} login lock(s).")


@admin.register(HttpSupportChange)
class HttpSupportChangeAdmin(ReadOnlyAdmin):
    list_display = ["account", "old_value", "new_value", "changed_by", "changed_at"]
    list_filter = ["account", "new_value"]
    readonly_fields = ["account", "changed_by", "changed_at", "old_value", "new_value"]
