"""The support staff's view of tenancy. HTTP support changes only through the audited function."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from .http_support import set_http_support
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
    list_display = ["slug", "name", "http_support_enabled", "created_at"]
    list_filter = ["http_support_enabled"]
    search_fields = ["slug", "name"]
    readonly_fields = ["http_support_enabled", "created_at"]
    inlines = [MembershipInline, HttpSupportChangeInline]
    actions = ["turn_http_support_on", "turn_http_support_off"]

    def _set_http_support(self, request, queryset, enabled: bool) -> None:
        changed = unchanged = 0
        for account in queryset:
            try:
                change = set_http_support(account, enabled, by=request.user)
            except PermissionDenied as error:
                self.message_user(request, str(error), messages.ERROR)
                return
            if change is None:
                unchanged += 1
            else:
                changed += 1
        state = "on" if enabled else "off"
        self.message_user(
            request, f"HTTP support turned {state} for {changed} account(s); {unchanged} already {state}."
        )

    @admin.action(description="Turn HTTP support on (audit-logged)")
    def turn_http_support_on(self, request, queryset) -> None:
        self._set_http_support(request, queryset, True)

    @admin.action(description="Turn HTTP support off (audit-logged)")
    def turn_http_support_off(self, request, queryset) -> None:
        self._set_http_support(request, queryset, False)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_staff:
            actions.pop("turn_http_support_on", None)
            actions.pop("turn_http_support_off", None)
        return actions


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
