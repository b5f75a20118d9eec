"""Admin for support staff: flows and executions, read-only (the site and the API change them); the workers."""

from django.contrib import admin

from flows.models import Execution, Flow, WorkerHeartbeat


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


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """The running workers as they last reported; a stale one died without stopping (delete its row)."""

    list_display = ["worker_id", "host", "pid", "started_at", "last_seen", "alive", "concurrency", "in_flight"]
    readonly_fields = [field.name for field in WorkerHeartbeat._meta.fields]

    @admin.display(boolean=True, description="alive (seen in the last 30 s)")
    def alive(self, heartbeat: WorkerHeartbeat) -> bool:
        return not heartbeat.is_stale

    def has_add_permission(self, request) -> bool:
        return False
