from django.db import models
from django.utils import timezone

from accounts.models import AccountOwned


class IdempotencyKey(AccountOwned):
    """An `Idempotency-Key` sent with `POST /api/v1/executions/`, and the execution it started.

    Kept 24 h (SPEC §7; `flows.idempotency`). The unique constraint, not a lookup, is what stops
    two concurrent requests with one key from both starting a call.
    """

    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request body, canonical JSON.")
    execution = models.ForeignKey("flows.Execution", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_key_once_per_account")]
        # flows.idempotency.forget_expired_keys(): an account's keys older than 24 h.
        indexes = [models.Index(fields=["account", "created_at"], name="idempotency_key_account_age")]

    def __str__(self) -> str:
        return f"{self.key} → {self.execution_id}"
