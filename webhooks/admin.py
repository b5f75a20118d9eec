from django.contrib import admin

from .models import Webhook


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Read-only: changes go through the site or API, where the URL policy and default rules apply.

    The password and signing secret are left out: the admin would render them in plain text.
    """

    list_display = ["name", "account", "method", "url", "auth_type", "is_default"]
    list_filter = ["is_default", "method", "auth_type"]
    search_fields = ["name", "url", "account__slug"]
    fields = ["account", "name", "method", "url", "auth_type", "username", "body_type", "is_default", "notes"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
