"""UDF storage for reports (SPEC §9): one row per finished execution, written only by
`reports.recording.record_finished_execution`.

Why a JSON column and not an entity-attribute-value table: every question the report asks is
answered from this one table without a join — a page of 50 rows carries its UDFs, the CSV
export is a single keyset scan, and the distinct columns of the filtered executions are a
`DISTINCT udf_names` over the same filter (a handful of distinct name sets, however many rows).
Nobody filters by a UDF value, which is the one thing EAV would do better.
"""

from django.db import models

from accounts.models import AccountOwned

# udf_names joins the sorted column names with this; a variable name never contains it.
UDF_NAMES_SEPARATOR = "\n"


class ReportOutcome(models.TextChoices):
    """The statuses a finished execution can have: the report's status filter and chart series."""

    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ReportedExecution(AccountOwned):
    """What the report keeps of one finished execution: its call, outcome and persisted variables."""

    execution = models.OneToOneField(
        "flows.Execution", on_delete=models.CASCADE, primary_key=True, related_name="report"
    )
    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    # The UTC day of started_at, kept so "executions per day" groups on a column, not on a
    # per-row date function (SQLite runs those in Python).
    day = models.DateField()
    status = models.CharField(max_length=10, choices=ReportOutcome.choices)
    # How many of its webhook calls failed: an execution that completes through line 1 is
    # "completed" although its webhook failed, and the per-day chart says so.
    webhook_failures = models.PositiveSmallIntegerField(default=0)
    cli = models.CharField(max_length=64, blank=True)
    did = models.CharField(max_length=64, blank=True)
    # {column: value}: `$flow.key.order_status` is stored under `order_status`.
    udf = models.JSONField(default=dict, blank=True)
    # The sorted keys of `udf`, joined by UDF_NAMES_SEPARATOR: the report's columns come from
    # `SELECT DISTINCT udf_names` over the filtered rows.
    udf_names = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-execution"]
        indexes = [
            # The unfiltered report page, its count, the date-range filter and the CSV keyset
            # scan: WHERE account_id = ? [AND started_at BETWEEN ? AND ?] ORDER BY started_at, execution_id.
            models.Index(fields=["account", "started_at", "execution"], name="report_account_time"),
            # The flow filter (page, count, CSV, charts): WHERE account_id = ? AND flow_id = ? ORDER BY started_at.
            models.Index(fields=["account", "flow", "started_at", "execution"], name="report_account_flow_time"),
            # The status filter: WHERE account_id = ? AND status = ? ORDER BY started_at.
            models.Index(fields=["account", "status", "started_at", "execution"], name="report_account_status_time"),
            # The unfiltered "executions per day" chart: WHERE account_id = ? GROUP BY day, status,
            # counting webhook_failures > 0, read from the index alone, already in day order.
            models.Index(fields=["account", "day", "status", "webhook_failures"], name="report_account_day_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} ({self.status})"

    @property
    def column_names(self) -> list[str]:
        return self.udf_names.split(UDF_NAMES_SEPARATOR) if self.udf_names else []


class ReportedWebhookCall(AccountOwned):
    """One webhook widget step of a reported execution: the response-duration chart reads these."""

    report = models.ForeignKey(ReportedExecution, on_delete=models.CASCADE, related_name="webhook_calls")
    # Copies of the report row's filter fields, so the chart filters this table without a join.
    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReportOutcome.choices)
    widget = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField(help_text="The step's index in the execution's steps.")
    duration = models.FloatField(null=True, blank=True, help_text="Seconds; null when the step did not say.")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error_reason = models.CharField(max_length=40, blank=True, help_text="Empty when the call succeeded.")

    class Meta:
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "position"], name="one_reported_call_per_step"),
        ]
        indexes = [
            # The webhook charts: WHERE account_id = ? [AND flow_id = ?] GROUP BY flow_id, widget
            # (counts, failures, average: from the index alone), and each widget's p95 read at its
            # rank in duration order, which this index already holds.
            models.Index(
                fields=["account", "flow", "widget", "duration", "error_reason"], name="reported_call_widget_outcome"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow_id}/{self.widget} {self.duration}s {self.error_reason or 'ok'}"

    @property
    def succeeded(self) -> bool:
        return not self.error_reason
