"""Secrets inside webhook widgets (basic-auth passwords, secret header and query-parameter values):
stored encrypted in the flow's widget list."""

from collections.abc import Iterator

from django.db import transaction

from flows.widgets.webhook_config import ROW_LISTS
from phonon.encryption import rotate_secret

from .models import Flow, FlowRevision


def encrypted_fields(widget: dict) -> Iterator[tuple[dict, str]]:
    """(holder, key) for every encrypted value of one widget: its password and secret rows."""
    config = widget.get("config") or {}
    auth = config.get("auth") or {}
    if auth.get("password_encrypted"):
        yield auth, "password_encrypted"
    for key in ROW_LISTS:
        for row in config.get(key) or []:
            if isinstance(row, dict) and row.get("value_encrypted"):
                yield row, "value_encrypted"


def rotate_widget_secrets() -> int:
    """Re-encrypt every widget secret with the newest key, in drafts and revisions; how many were re-encrypted.

    Each row is rewritten under a row lock, so a designer save meanwhile is not lost.
    """
    return sum(_rotate_rows(model) for model in (Flow, FlowRevision))


def _rotate_rows(model) -> int:
    rotated = 0
    for pk in model.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            flow = model.objects.select_for_update().only("widgets").get(pk=pk)
            count = 0
            for widget in flow.widgets:
                for holder, key in encrypted_fields(widget):
                    holder[key] = rotate_secret(holder[key])
                    count += 1
            if count:
                model.objects.filter(pk=pk).update(widgets=flow.widgets)
                rotated += count
    return rotated
