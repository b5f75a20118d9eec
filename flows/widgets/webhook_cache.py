"""The webhook widget's response cache (SPEC §15): a good answer kept per account, flow, widget
and rendered key, fresh for the widget's ttl and kept 24 h more for `stale_on_error`.

Each function is one short database touch (no transaction open while a request runs). Entries
are bounded per account (RESPONSE_CACHE_MAX_ENTRIES): storing removes the account's entries
past their stale time, then the oldest beyond the bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from flows.models import CachedResponse
from phonon.lib.outbound import OutboundResult

STALE_KEPT = timedelta(hours=24)


@dataclass(frozen=True)
class CacheHit:
    result: OutboundResult
    fresh: bool
    stored_at: str


def look_up(account, key: str) -> CacheHit | None:
    """The entry for `key` while it is fresh or still kept for stale use; None otherwise."""
    now = timezone.now()
    entry = CachedResponse.objects.filter(account=account, key=key, stale_until__gt=now).first()
    if entry is None:
        return None
    result = OutboundResult(
        status_code=entry.status_code,
        headers=dict(entry.headers),
        body=bytes(entry.body),
        final_url=entry.final_url,
    )
    return CacheHit(result=result, fresh=entry.fresh_until > now, stored_at=entry.stored_at.isoformat())


def store(account, key: str, result: OutboundResult, ttl: int) -> None:
    """Keep `result` (a good answer) under `key` for `ttl` seconds, and prune the account's entries."""
    now = timezone.now()
    fresh_until = now + timedelta(seconds=ttl)
    CachedResponse.objects.update_or_create(
        account=account,
        key=key,
        defaults={
            "status_code": result.status_code,
            "headers": result.headers,
            "body": result.body,
            "final_url": result.final_url,
            "stored_at": now,
            "fresh_until": fresh_until,
            "stale_until": fresh_until + STALE_KEPT,
        },
    )
    entries = CachedResponse.objects.for_account(account)
    entries.filter(stale_until__lte=now).delete()
    beyond = entries.order_by("-stored_at").values_list("pk", flat=True)[settings.RESPONSE_CACHE_MAX_ENTRIES :]
    overflow = list(beyond[:1000])
    if overflow:
        CachedResponse.objects.filter(pk__in=overflow).delete()
