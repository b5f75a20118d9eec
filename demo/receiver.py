"""The demo's flow-end receiver: what the default webhook of `seed_demo` posts to.

It keeps the last deliveries in this process's memory (a demo, not a product feature) and
shows them at GET /demo-api/receiver/, each with whether its Standard Webhooks signature
verified against a default webhook pointing here.
"""

import json
import threading
from collections import deque
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError

from phonon.lib.json_input import JSONInputError, read_json_input
from webhooks.models import Webhook

KEEP = 50
_received: deque[dict] = deque(maxlen=KEEP)
_lock = threading.Lock()


def signature_verifies(request: HttpRequest) -> bool:
    """True when any default webhook that points at this receiver signed the request."""
    headers = {name: value for name, value in request.headers.items()}
    candidates = Webhook.objects.filter(is_default=True, url__endswith=request.path)
    for webhook in candidates:
        try:
            StandardWebhook(webhook.signing_secret).verify(request.body, headers, json_parse=False)
            return True
        except WebhookVerificationError:
            continue
    return False


@csrf_exempt
def receiver(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        with _lock:
            received = list(reversed(_received))
        return render(request, "demo/receiver.html", {"received": received})
    try:
        body = json.dumps(read_json_input(request.body), indent=2, ensure_ascii=False)
    except JSONInputError:
        body = request.body.decode("utf-8", "replace")
    entry = {
        "received_at": datetime.now(UTC),
        "method": request.method,
        "webhook_id": request.headers.get("webhook-id", ""),
        "verified": signature_verifies(request),
        "body": body,
    }
    with _lock:
        _received.append(entry)
    return JsonResponse({"received": True})


urlpatterns = [path("receiver/", receiver, name="demo-receiver")]
