import uuid

from django.db import models

from accounts.models import AccountOwned


class ExecutionStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


UNFINISHED_STATUSES = (ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)


class Execution(AccountOwned):
    """One run of a flow for one call; its id is the `phonon-uuid` of the flow end webhook."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    flow = models.ForeignKey("flows.Flow", on_delete=models.CASCADE, related_name="executions")
    # The revision the call runs, fixed when it is queued: publishing later never changes it.
    revision = models.ForeignKey("flows.FlowRevision", on_delete=models.CASCADE, related_name="executions")
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
    # The checkpoint: the widget to run next when a recovering worker takes the execution over
    # (empty: start from the flow's start widget). `variables` and `steps` are saved with it.
    next_widget = models.CharField(max_length=64, blank=True)
    # How many times a worker claimed it: more than one means it was recovered after a crash.
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="execution_account_recent"),
            # The executions list and API filtered by flow or status.
            models.Index(fields=["account", "flow", "-created_at"], name="execution_account_flow"),
            models.Index(fields=["account", "status", "-created_at"], name="execution_account_status"),
            # flows.worker.claim_next_execution(): unfinished executions, oldest first. Finished
            # rows (nearly all of them) stay out of this index, so it stays small.
            models.Index(
                fields=["created_at"], condition=models.Q(status__in=UNFINISHED_STATUSES), name="execution_unfinished"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.flow} {self.id} ({self.status})"

    @classmethod
    def queue(cls, flow, **fields) -> "Execution":
        """Queue a call of `flow`: it will run the flow's published revision, whatever is published later."""
        return cls.objects.create(
            account_id=flow.account_id, flow=flow, revision_id=flow.published_revision_id, **fields
        )

    @property
    def is_finished(self) -> bool:
        return self.status not in UNFINISHED_STATUSES

    @property
    def duration(self) -> float | None:
        """Seconds from the first claim to the end, for the pages."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
