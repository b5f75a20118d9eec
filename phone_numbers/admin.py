from django.contrib import admin

from .models import BlockedCaller, DirectDialNumber


@admin.register(DirectDialNumber)
class DirectDialNumberAdmin(admin.ModelAdmin):
    list_display = ["number", "label", "account", "is_paused", "updated_at"]
    list_filter = ["is_paused"]
    search_fields = ["number", "label", "account__slug"]


@admin.register(BlockedCaller)
class BlockedCallerAdmin(admin.ModelAdmin):
    list_display = ["number", "reason", "account", "created_at"]
    search_fields = ["number", "account__slug"]
