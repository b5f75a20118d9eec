from django.db import models

from accounts.models import AccountOwned


class WidgetTestUse(AccountOwned):
    """One accepted widget test (SPEC §13), kept about a minute so the rolling limit per account
    can count them across every web process; `flows.trial.admit_test` writes and prunes them."""

    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            # admit_test(): the account's uses within the last minute.
            models.Index(fields=["account", "created_at"], name="widget_test_use_recent"),
        ]
