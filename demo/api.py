"""The demo API the demo flows call (mounted under /demo-api/ by demo.urls).

A stand-in for a customer's order system, so `make run` works with no internet:

- `orders/<id>/`             JSON `{"order": {...}}` — the status depends on the id; a mapping
                             reads it as `data.order.status` (`data` is the answer's root, SPEC §6)
- `secure/orders/<id>/`      the same behind basic auth (demo / demo-secret)
- `orders/<id>/status.xml`   the same order as XML
- `failing/`                 always 500, for the failure branch
- `slow/?seconds=2`          answers after a pause (at most 10 s), for timeouts and no-wait calls
- `orders/0/`                404: no such order

Public on purpose (demo data only); nothing here touches the database.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import zlib
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

BASIC_USERNAME = "demo"
BASIC_PASSWORD = "demo-secret"  # noqa: S105 - a published demo credential
STATUSES = ("shipped", "processing", "delivered", "cancelled")
CATALOGUE = (("A-100", "Headset"), ("B-200", "Desk phone"), ("C-300", "Conference speaker"), ("D-400", "Cable"))
MAX_SLOW_SECONDS = 10


def demo_order(order_id: str) -> dict | None:
    """A made-up order, the same every time for the same id; None for "0" (not found)."""
    if order_id.strip("+0") == "":
        return None
    seed = zlib.crc32(order_id.encode())
    items = [
        {"sku": sku, "name": name, "quantity": 1 + (seed >> shift) % 3}
        for shift, (sku, name) in zip((0, 4, 8), CATALOGUE[seed % 2 : seed % 2 + 1 + seed % 3], strict=False)
    ]
    return {
        "id": order_id,
        "status": STATUSES[seed % len(STATUSES)],
        "eta": f"2030-01-{1 + seed % 28:02d}",
        "items": items,
        "tracking": hashlib.sha256(order_id.encode()).hexdigest()[:12].upper(),
    }


def order_json(order_id: str) -> JsonResponse:
    order = demo_order(order_id)
    if order is None:
        return JsonResponse({"error": f"No order {order_id}."}, status=404)
    return JsonResponse({"order": order})


@csrf_exempt
def order(request: HttpRequest, order_id: str) -> JsonResponse:
    return order_json(order_id)


def basic_auth_matches(request: HttpRequest) -> bool:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return (username, password) == (BASIC_USERNAME, BASIC_PASSWORD)


@csrf_exempt
def secure_order(request: HttpRequest, order_id: str) -> HttpResponse:
    if not basic_auth_matches(request):
        response = JsonResponse({"error": "Log in with basic auth: demo / demo-secret."}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="demo orders"'
        return response
    return order_json(order_id)


@csrf_exempt
def order_xml(request: HttpRequest, order_id: str) -> HttpResponse:
    found = demo_order(order_id)
    if found is None:
        return HttpResponse("<error>No such order</error>", status=404, content_type="application/xml")
    items = "".join(
        f'<item sku={quoteattr(item["sku"])} quantity="{item["quantity"]}">{escape(item["name"])}</item>'
        for item in found["items"]
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<order><id>{escape(found['id'])}</id><status>{found['status']}</status>"
        f"<eta>{found['eta']}</eta><items>{items}</items></order>"
    )
    return HttpResponse(document, content_type="application/xml")


@csrf_exempt
def failing(request: HttpRequest) -> JsonResponse:
    response = JsonResponse({"error": "The demo order system is down (on purpose)."}, status=500)
    # Django logs every 5xx as "ERROR Internal Server Error"; this one is the demo working as meant.
    response._has_been_logged = True
    return response


@csrf_exempt
def slow(request: HttpRequest) -> JsonResponse:
    try:
        seconds = min(max(float(request.GET.get("seconds", "2")), 0.0), MAX_SLOW_SECONDS)
    except ValueError:
        seconds = 2.0
    time.sleep(seconds)
    return JsonResponse({"waited": seconds})


urlpatterns = [
    path("orders/<str:order_id>/", order, name="demo-order"),
    path("orders/<str:order_id>/status.xml", order_xml, name="demo-order-xml"),
    path("secure/orders/<str:order_id>/", secure_order, name="demo-secure-order"),
    path("failing/", failing, name="demo-failing"),
    path("slow/", slow, name="demo-slow"),
]
