from django.db import models

from accounts.models import AccountOwned


class CachedResponse(AccountOwned):
    """A webhook widget's last good answer for one cache key (SPEC §15; flows.widgets.webhook_cache).

    `key` is a digest of the account, flow, widget and rendered key template, so entries are
    never shared across accounts, widgets or callers with different keys.
    """

    key = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    final_url = models.CharField(max_length=2000, blank=True)
    stored_at = models.DateTimeField()
    fresh_until = models.DateTimeField()
    stale_until = models.DateTimeField()  # fresh_until + 24 h: kept for stale_on_error

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="cached_response_unique_key")]
        indexes = [
            # store(): pruning an account's entries past stale_until, and the oldest beyond the bound.
            models.Index(fields=["account", "stale_until"], name="cached_response_expiry"),
        ]
