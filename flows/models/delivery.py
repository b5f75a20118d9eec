"""Flow end webhook deliveries (SPEC §8): one per finished execution, every attempt logged."""

import uuid

from django.db import models

from accounts.models import AccountOwned


def new_message_id() -> str:
    """The Standard Webhooks `webhook-id`: the same on every attempt, so receivers can dedupe."""
    return f"msg_{uuid.uuid4().hex}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    # Recorded, not sent: the webhook was disabled for failing too long (SPEC §16); replayable.
    SKIPPED = "skipped"


class Delivery(AccountOwned):
    execution = models.OneToOneField("flows.Execution", on_delete=models.CASCADE, related_name="delivery")
    webhook = models.ForeignKey("webhooks.Webhook", on_delete=models.SET_NULL, null=True, related_name="deliveries")
    message_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    # The body is fixed when the execution ends, so every attempt sends (and signs) the same bytes.
    payload = models.TextField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # Attempts since the delivery was created or last replayed: the index into WEBHOOK_RETRY_SCHEDULE.
    round_attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    replay_requested = models.BooleanField(default=False)
    claimed_by = models.CharField(max_length=100, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The deliveries page and API: one account's deliveries, newest first, by status or not.
            models.Index(fields=["account", "-created_at"], name="delivery_account_created"),
            models.Index(fields=["account", "status", "-created_at"], name="delivery_account_status"),
            # send_due_delivery(): pending deliveries whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"


class DeliveryAttempt(AccountOwned):
    RESPONSE_EXCERPT_BYTES = 2048

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration = models.FloatField(help_text="Seconds.")
    error_reason = models.CharField(max_length=32, blank=True)
    error_detail = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)
    replay = models.BooleanField(default=False, help_text="Sent because someone pressed replay.")

    class Meta:
        ordering = ["attempted_at", "pk"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error_reason}"
