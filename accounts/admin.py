"""The support staff's view of tenancy. HTTP support changes only through the audited function."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied

from .http_support import set_http_support
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


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "email", "invite_expires_at"]
    readonly_fields = ["email", "invite_expires_at"]


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
                change = set_http_support(account, enabled, by=request.user, request=request)
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
