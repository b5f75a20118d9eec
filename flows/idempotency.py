"""`Idempotency-Key` on `POST /api/v1/executions/` (SPEC §7): a retried request starts no second call.

The same key with the same body answers the execution the first request started; the same key
with another body is 409. Keys are per account and kept 24 h. Expired keys are removed on
access: a key older than 24 h is forgotten when it is sent again, and each new key removes the
account's expired ones, so no housekeeping job is needed and storage stays bounded by a day of
keys per account.

Two concurrent requests with one key: both may miss the lookup, but only one can insert the key
(the unique constraint), and it inserts in the transaction that creates its execution; the
loser's execution is rolled back with its failed insert, and it answers the winner's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions, status

from accounts.models import Account
from flows.models import Execution, IdempotencyKey

HEADER = "Idempotency-Key"
KEPT_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255
# Printable ASCII without spaces: what fits in a header unchanged (a UUID does).
KEY_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~]+$"}


class KeyReused(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_key_reused"
    default_detail = (
        "This Idempotency-Key was already used with another body in the last 24 hours; "
        "send a new key for a new call, or the first body to get its execution."
    )


def clean_key(key: str) -> str:
    """The header's key as KEY_SCHEMA says, else a 400 saying so."""
    if not 0 < len(key) <= MAX_KEY_LENGTH or not all("!" <= char <= "~" for char in key):
        raise exceptions.ValidationError(
            {HEADER: [f"Give 1 to {MAX_KEY_LENGTH} printable ASCII characters without spaces, e.g. a UUID."]}
        )
    return key


def body_fingerprint(data: Any) -> str:
    """SHA-256 of the body as canonical JSON, so key order and whitespace do not make it "another body"."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def forget_expired_keys(account: Account) -> None:
    IdempotencyKey.objects.for_account(account).filter(created_at__lt=timezone.now() - KEPT_FOR).delete()


def execution_for_key(account: Account, key: str, fingerprint: str) -> Execution | None:
    """The execution a live key started (409 if it came with another body); None for a new key."""
    stored = IdempotencyKey.objects.for_account(account).filter(key=key).select_related("execution").first()
    if stored is None:
        return None
    if stored.created_at < timezone.now() - KEPT_FOR:
        stored.delete()
        return None
    if stored.request_hash != fingerprint:
        raise KeyReused()
    return stored.execution


def create_once(
    account: Account, key: str, fingerprint: str, create: Callable[[], Execution]
) -> tuple[Execution, bool]:
    """(execution, True) after `create()` ran under a new key, or (the key's first execution, False)."""
    existing = execution_for_key(account, key, fingerprint)
    if existing is not None:
        return existing, False
    forget_expired_keys(account)
    try:
        with transaction.atomic():
            execution = create()
            IdempotencyKey.objects.create(account=account, key=key, request_hash=fingerprint, execution=execution)
        return execution, True
    except IntegrityError:
        # Another request inserted this key between our lookup and our insert: answer its execution.
        existing = execution_for_key(account, key, fingerprint)
        if existing is None:
            raise
        return existing, False
