"""Flow end webhook deliveries (SPEC §8).

When an execution ends, `enqueue_flow_end_delivery` freezes the predefined JSON body in a
Delivery, in the same transaction. The worker calls `send_due_delivery`, which claims one due
delivery, sends it through the one outbound client with Standard Webhooks signature headers,
logs the attempt and schedules a retry (timeout, connection error, 3xx, 429, 5xx) on
WEBHOOK_RETRY_SCHEDULE, or ends it (2xx delivered; anything else failed).

Redirects are not followed (Standard Webhooks): a 3xx would drop the payload (302 → GET) or
post it somewhere the account never registered (307). It is a failed attempt, logged with its
Location, and retried like a 5xx, so a receiver that moved can be fixed without losing calls.
"""

import functools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from standardwebhooks.webhooks import Webhook as StandardWebhook

from phonon import sql
from phonon.lib import resilience
from phonon.lib.outbound import USER_AGENT, OutboundResult, send_request
from phonon.lib.storable import storable_error
from phonon.logs import log_context
from webhooks.models import AuthType, Webhook

from . import metrics
from .delivery_health import note_attempt
from .leases import CONNECTION_TROUBLE, lease_end, run_inline
from .models import Delivery, DeliveryAttempt, DeliveryStatus, Execution
from .variables import FLOW_KEY_PREFIX, ErrorReason
from .widgets.webhook import body_text, error_reason_for

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 30
RETRY_AFTER_CAP_SECONDS = 24 * 3600
RETRYABLE_ERRORS = frozenset({ErrorReason.TIMEOUT, ErrorReason.CONNECTION_ERROR})
# An attempt's reason when it was sent but could not be recorded (a fault of ours, not the receiver's).
ENGINE_ERROR = "ENGINE_ERROR"

# SPEC §8: callDetails keys and the call fields they come from.
CALL_DETAIL_FIELDS = {
    "calleeNumber": "callee",
    "connectTime": "connect_time",
    "didNumber": "did",
    "duration": "duration",
    "endTime": "end_time",
    "hangupCause": "hangup_cause",
    "incoming": "incoming",
    "startTime": "start",
}


def call_times(execution: Execution) -> dict[str, str]:
    """A call that gave its `start` but no `end_time`/`duration` (every call started from the site)
    lasted until its flow ended: those two come from the execution's end."""
    call = execution.call or {}
    times: dict[str, str] = {}
    start = parse_datetime(str(call.get("start") or ""))
    end = execution.finished_at
    if start is None or end is None or start.tzinfo is None:
        return times
    if call.get("end_time") in (None, ""):
        times["end_time"] = end.isoformat(timespec="seconds")
    if call.get("duration") in (None, ""):
        times["duration"] = str(max(0, round((end - start).total_seconds())))
    return times


def build_payload(execution: Execution) -> dict:
    """The predefined format: callDetails, keys (every $flow.key variable), phonon-uuid, recordingUrls."""
    call = {**(execution.call or {}), **call_times(execution)}
    details = {}
    for key, field in CALL_DETAIL_FIELDS.items():
        value = call.get(field)
        if key == "incoming":
            details[key] = value in (True, "true", "True", "1", 1)
        else:
            details[key] = "" if value is None else str(value)
    return {
        "callDetails": [details],
        "keys": [
            {"name": name, "value": value}
            for name, value in (execution.variables or {}).items()
            if name.startswith(FLOW_KEY_PREFIX)
        ],
        "phonon-uuid": str(execution.id),
        "recordingUrls": [
            {"recordedFileName": item.get("file_name", ""), "recordedFilePublicPath": item.get("public_url", "")}
            for item in (execution.recordings or [])
        ],
    }


def enqueue_flow_end_delivery(execution: Execution) -> Delivery | None:
    """Called by the engine inside the transaction that ends an execution (completed or failed)."""
    if not execution.revision.flow_end_webhook:  # the setting of the revision the call ran
        return None
    webhook = Webhook.objects.for_account(execution.account_id).filter(is_default=True).first()
    if webhook is None:
        return None
    disabled = webhook.deliveries_disabled  # recorded for a later replay, not sent (SPEC §16)
    delivery, _ = Delivery.objects.get_or_create(
        execution=execution,
        defaults={
            "account_id": execution.account_id,
            "webhook": webhook,
            "payload": json.dumps(build_payload(execution), separators=(",", ":"), ensure_ascii=False),
            "status": DeliveryStatus.SKIPPED if disabled else DeliveryStatus.PENDING,
            "next_attempt_at": None if disabled else timezone.now(),
        },
    )
    return delivery


def signature_headers(delivery: Delivery, secrets: list[str], now: datetime) -> dict[str, str]:
    """Standard Webhooks headers: the same webhook-id on every attempt, a fresh timestamp, and one
    signature per secret (`v1,<new> v1,<old>` while a rotated secret overlaps)."""
    timestamp = now.astimezone(UTC)
    signatures = (StandardWebhook(secret).sign(delivery.message_id, timestamp, delivery.payload) for secret in secrets)
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


def is_retryable(result: OutboundResult) -> bool:
    if result.status_code is None:
        return result.error_reason in RETRYABLE_ERRORS
    return 300 <= result.status_code < 400 or result.status_code == 429 or result.status_code >= 500


def next_status(result: OutboundResult, round_attempts: int, now: datetime) -> tuple[str, datetime | None]:
    """After an attempt: (status, when to try next). round_attempts counts this attempt too."""
    if result.status_code is not None and 200 <= result.status_code < 300:
        return DeliveryStatus.DELIVERED, None
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if not is_retryable(result) or round_attempts > len(schedule):
        return DeliveryStatus.FAILED, None
    # The answer's Retry-After (seconds or an HTTP date), capped at a day, else the schedule's step.
    retry_after = resilience.parse_retry_after(result.header("Retry-After"), now=now)
    delay = schedule[round_attempts - 1] if retry_after is None else min(retry_after, RETRY_AFTER_CAP_SECONDS)
    return DeliveryStatus.PENDING, now + timedelta(seconds=delay)


def send(delivery: Delivery) -> OutboundResult:
    """One attempt over the one outbound client; the URL policy and HTTP support apply at send time."""
    webhook = delivery.webhook
    now = timezone.now()
    if webhook is None:
        return OutboundResult(
            status_code=None, error_reason="WEBHOOK_DELETED", error_detail="The webhook was deleted; nothing was sent."
        )
    auth = (webhook.username, webhook.password) if webhook.auth_type == AuthType.BASIC else None
    return send_request(
        webhook.method,
        webhook.url,
        headers=signature_headers(delivery, webhook.signing_secrets(now), now),
        data=delivery.payload.encode(),
        auth=auth,
        timeout=DELIVERY_TIMEOUT_SECONDS,
        max_redirects=0,
        **delivery.account.url_policy(),
        max_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES,
    )


@functools.cache
def claim_statement_for_deliveries(vendor: str, many: bool = False) -> str:
    """The claim of claim_due_delivery() (`many`: of claim_due_deliveries()), written once per backend
    (phonon.sql.claim).

    `pending` is a literal, so the sub-select reads the `delivery_due` partial index (pending
    rows by next_attempt_at) instead of scanning every delivered one.
    """
    status, next_attempt_at = sql.columns(Delivery, "status", "next_attempt_at")
    due = f"{status} = {sql.literal(DeliveryStatus.PENDING)} AND {next_attempt_at} <= %s AND {sql.lease_free(Delivery)}"
    return sql.claim(Delivery, due=due, order_by=next_attempt_at, many=many)


def _claim_params(worker_id: str) -> list:
    adapt = connection.ops.adapt_datetimefield_value
    now = timezone.now()
    due_params = [adapt(now), adapt(now)]
    return [worker_id, adapt(lease_end(now)), *due_params, *due_params]


def claim_due_delivery(worker_id: str):
    """Claim the pending delivery due first for `worker_id`; its pk, or None when nothing is due."""
    return sql.run_claim(claim_statement_for_deliveries(connection.vendor), _claim_params(worker_id), Delivery)


def claim_due_deliveries(worker_id: str, limit: int) -> list[Delivery]:
    """Claim up to `limit` due deliveries for `worker_id`, loaded with their webhook and account (runworker)."""
    with connection.cursor() as cursor:
        cursor.execute(claim_statement_for_deliveries(connection.vendor, many=True), [*_claim_params(worker_id), limit])
        pks = [row[0] for row in cursor.fetchall()]
    if not pks:
        return []
    return list(Delivery.objects.select_related("webhook", "account").filter(pk__in=pks).order_by("next_attempt_at"))


def send_due_delivery(worker_id: str) -> bool:
    """Claim one due delivery and make one attempt, in this thread; False when nothing is due."""
    pk = claim_due_delivery(worker_id)
    if pk is None:
        return False
    attempt_delivery(Delivery.objects.select_related("webhook", "account").get(pk=pk), worker_id)
    return True


def attempt_delivery(delivery: Delivery, worker_id: str, *, database: Callable = run_inline) -> None:
    """One attempt of a claimed delivery: send (no database connection held), then record it through `database`."""
    with log_context(delivery=delivery.pk, execution=delivery.execution_id, account=delivery.account_id):
        attempted_at = timezone.now()
        try:
            result = send(delivery)
            database(record_attempt, delivery, result, attempted_at, worker_id)
        except CONNECTION_TROUBLE:
            raise  # the database out of reach for a whole lease: the claim expires, another worker sends it
        except Exception as error:
            # Not the database's reach (`database` retries that): a fault of ours in making or
            # recording the attempt. Ended failed, or its lease would bring it back again and again.
            database(record_unrecordable, delivery, attempted_at, worker_id, error)
            raise


def record_unrecordable(delivery: Delivery, attempted_at: datetime, worker_id: str, error: Exception) -> None:
    """End a delivery whose attempt failed on our side: failed, with an attempt saying why."""
    with transaction.atomic():
        won = _close_attempt(
            delivery,
            worker_id,
            DeliveryStatus.FAILED,
            None,
            attempted_at=attempted_at,
            duration=round((timezone.now() - attempted_at).total_seconds(), 3),
            error_reason=ENGINE_ERROR,
            error_detail=f"The attempt failed on our side (it may have been sent): {storable_error(error)}",
        )
    if won:
        metrics.count_delivery(DeliveryStatus.FAILED)


def _close_attempt(delivery: Delivery, worker_id: str, status: str, next_attempt_at, **attempt) -> bool:
    """Move a claimed delivery on and log its attempt (in the caller's transaction); False, writing
    nothing, when the claim is no longer `worker_id`'s."""
    won = Delivery.objects.filter(pk=delivery.pk, claimed_by=worker_id).update(
        status=status,
        round_attempts=F("round_attempts") + 1,
        next_attempt_at=next_attempt_at,
        claimed_by="",
        locked_until=None,
        replay_requested=False,
    )
    if won:
        DeliveryAttempt.objects.create(
            account_id=delivery.account_id, delivery=delivery, replay=delivery.replay_requested, **attempt
        )
    return bool(won)


def record_attempt(delivery: Delivery, result: OutboundResult, attempted_at: datetime, worker_id: str) -> None:
    """Log the attempt and move the delivery on; only the current claimant may write."""
    round_attempts = delivery.round_attempts + 1
    status, next_attempt_at = next_status(result, round_attempts, timezone.now())
    with transaction.atomic():
        won = _close_attempt(
            delivery,
            worker_id,
            status,
            next_attempt_at,
            attempted_at=attempted_at,
            status_code=result.status_code,
            duration=round(result.duration, 3),
            error_reason=error_reason_for(result) or "",
            error_detail=result.error_detail or "",
            response_excerpt=body_text(result.body[: DeliveryAttempt.RESPONSE_EXCERPT_BYTES], result.headers),
        )
        if not won:
            return
        if delivery.webhook_id is not None:
            note_attempt(
                delivery.webhook_id, status == DeliveryStatus.DELIVERED, describe_failure(result), attempted_at
            )
    metrics.count_delivery(status)
    logger.info(
        "delivery %s execution=%s status=%s code=%s error=%s %s",
        delivery.message_id,
        delivery.execution_id,
        status,
        result.status_code,
        error_reason_for(result) or "-",
        result.error_detail,
    )


def describe_failure(result: OutboundResult) -> str:
    """One line for the webhook's last error: the status code or the reason, and the detail."""
    what = f"HTTP {result.status_code}" if result.status_code is not None else (error_reason_for(result) or "error")
    return f"{what}: {result.error_detail}" if result.error_detail else what


def replay_delivery(delivery: Delivery) -> None:
    """Send a delivery again as a new attempt (the same webhook-id and body), with a fresh retry schedule."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, round_attempts=0, next_attempt_at=timezone.now(), replay_requested=True
    )


REPLAY_BATCH = 500


def replay_deliveries(account_id: int, deliveries: QuerySet[Delivery]) -> int:
    """Queue every delivery of `deliveries` again, oldest first, DELIVERY_REPLAY_PER_SECOND a second.

    Each gets its own due time, so the workers (however many) send them at that rate and a
    receiver that just recovered is not flattened; a second bulk replay queues behind the first.
    Pending deliveries are left alone (they are queued already). Returns how many were queued.
    """
    interval = timedelta(seconds=1 / settings.DELIVERY_REPLAY_PER_SECOND)
    now = timezone.now()
    queued_until = (
        Delivery.objects.for_account(account_id)
        .filter(status=DeliveryStatus.PENDING, replay_requested=True)
        .aggregate(last=Max("next_attempt_at"))["last"]
    )
    start = max(now, queued_until + interval) if queued_until else now
    pks = list(
        deliveries.exclude(status=DeliveryStatus.PENDING).order_by("created_at", "pk").values_list("pk", flat=True)
    )
    for offset in range(0, len(pks), REPLAY_BATCH):
        batch = [
            Delivery(
                pk=pk,
                status=DeliveryStatus.PENDING,
                round_attempts=0,
                replay_requested=True,
                next_attempt_at=start + interval * (offset + index),
            )
            for index, pk in enumerate(pks[offset : offset + REPLAY_BATCH])
        ]
        Delivery.objects.bulk_update(batch, ["status", "round_attempts", "replay_requested", "next_attempt_at"])
    return len(pks)


def describe_delivery(execution: Execution) -> dict | None:
    """The `flow_end_webhook` part of an execution's API answer and page."""
    delivery = Delivery.objects.filter(execution=execution).select_related("webhook").first()
    if delivery is None:
        return None
    return {
        "id": delivery.pk,
        "webhook": delivery.webhook_id,
        "webhook_name": delivery.webhook.name if delivery.webhook else None,
        "message_id": delivery.message_id,
        "status": delivery.status,
        "next_attempt_at": delivery.next_attempt_at,
        "attempts": [
            {
                "attempted_at": attempt.attempted_at,
                "status_code": attempt.status_code,
                "duration": attempt.duration,
                "error_reason": attempt.error_reason or None,
                "error_detail": attempt.error_detail,
                "response_excerpt": attempt.response_excerpt,
                "replay": attempt.replay,
            }
            for attempt in delivery.attempts.all()
        ],
    }
