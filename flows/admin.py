"""Admin for support staff: flows and executions, read-only (the site and the API change them)."""

from django.contrib import admin

from flows.models import Execution, Flow


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "start", "flow_end_webhook", "updated_at"]
    list_filter = ["flow_end_webhook", "account"]
    search_fields = ["name", "account__slug"]
    readonly_fields = ["widgets", "layout", "created_at", "updated_at"]


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ["id", "flow", "account", "status", "attempts", "claimed_by", "created_at", "finished_at"]
    list_filter = ["status", "account"]
    search_fields = ["id", "flow__name", "claimed_by"]
    list_select_related = ["flow", "account"]
    readonly_fields = [field.name for field in Execution._meta.fields]
