"""Basic-auth passwords inside webhook widgets: stored encrypted in the flow's widget list."""

from django.db import transaction

from phonon.encryption import rotate_secret

from .models import Flow


def widget_auth(widget: dict) -> dict:
    return (widget.get("config") or {}).get("auth") or {}


def rotate_widget_passwords() -> int:
    """Re-encrypt every widget password with the newest key; how many were re-encrypted.

    Each flow is rewritten under a row lock, so a designer save meanwhile is not lost.
    """
    rotated = 0
    for pk in Flow.objects.values_list("pk", flat=True).iterator():
        with transaction.atomic():
            flow = Flow.objects.select_for_update().only("widgets").get(pk=pk)
            count = 0
            for widget in flow.widgets:
                auth = widget_auth(widget)
                if auth.get("password_encrypted"):
                    auth["password_encrypted"] = rotate_secret(auth["password_encrypted"])
                    count += 1
            if count:
                Flow.objects.filter(pk=pk).update(widgets=flow.widgets)
                rotated += count
    return rotated
