import uuid

from django.db import models

from accounts.models import AccountOwned


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class Execution(AccountOwned):
    """One run of a flow for one call; its id is the `phonon-uuid` of the flow end webhook."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="executions")
    status = models.CharField(max_length=10, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED)
    failure_reason = models.TextField(blank=True)
    call = models.JSONField(default=dict, blank=True)
    user_keys = models.JSONField(default=dict, blank=True)
    recordings = models.JSONField(default=list, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    steps = models.JSONField(default=list, blank=True)
    # Variable names mapped by widgets with persist_response on: they become report UDFs.
    persisted_variables = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The worker's claim: only the claimant may write results, and a dead worker's claim expires.
    claimed_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["account", "-created_at"], name="execution_account_recent")]

    def __str__(self) -> str:
        return f"{self.flow} {self.id} ({self.status})"
