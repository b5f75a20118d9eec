"""The support staff's view of tenancy. HTTP support changes only through the audited function,
from a switch on the account's page that first says what will change."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from .http_support import http_usage, set_http_support
from .models import Account, ApiToken, HttpSupportChange, IpWhitelistEntry, Membership


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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


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
        if not request.user.is_staff or not self.has_change_permission(request, account):
            raise PermissionDenied("Only support staff may change HTTP support.")
        enabled = not account.http_support_enabled
        if request.method == "POST":
            set_http_support(account, enabled, by=request.user)
            state = "on" if enabled else "off"
            self.message_user(request, f"HTTP support is {state} for {account.name} (logged).")
            return redirect("admin:accounts_account_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "account": account,
            "enabled": enabled,
            "title": f"Turn HTTP support {'on' if enabled else 'off'} for {account.name}?",
            "http_usage": http_usage(account),
        }
        return TemplateResponse(request, "admin/accounts/http_support_confirm.html", context)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "account__slug", "account__name"]
    autocomplete_fields = ["user", "account"]


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


@admin.register(HttpSupportChange)
class HttpSupportChangeAdmin(admin.ModelAdmin):
    list_display = ["account", "old_value", "new_value", "changed_by", "changed_at"]
    list_filter = ["account", "new_value"]
    readonly_fields = ["account", "changed_by", "changed_at", "old_value", "new_value"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
