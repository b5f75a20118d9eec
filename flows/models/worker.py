from datetime import timedelta

from django.db import models
from django.utils import timezone

# A worker reports every few seconds (flows.heartbeat.HEARTBEAT_SECONDS); silent this long, it is stale.
STALE_AFTER = timedelta(seconds=30)


class WorkerHeartbeatQuerySet(models.QuerySet):
    def live(self):
        """Workers that reported within STALE_AFTER (/readyz, /metrics)."""
        return self.filter(last_seen__gte=timezone.now() - STALE_AFTER)


class WorkerHeartbeat(models.Model):
    """One running `runworker` process, as it last reported itself (flows.heartbeat).

    Not tenant data: support staff read it in the admin, /readyz and /metrics read it. A worker
    that stops cleanly deletes its row; a row whose `last_seen` is old is a worker that died.
    """

    worker_id = models.CharField(max_length=100, unique=True)  # the `claimed_by` of its claims
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)  # /readyz: any worker seen lately?
    concurrency = models.PositiveIntegerField()
    in_flight = models.PositiveIntegerField(default=0)
    # Its requests in flight per account and origin, {"<account id> <origin>": n}: the busy limit
    # of every other worker counts them (webhooks.endpoints, SPEC §15).
    endpoints_in_flight = models.JSONField(default=dict, blank=True)

    objects = WorkerHeartbeatQuerySet.as_manager()

    class Meta:
        ordering = ["host", "pid"]

    def __str__(self) -> str:
        return self.worker_id

    @property
    def is_stale(self) -> bool:
        return self.last_seen < timezone.now() - STALE_AFTER
