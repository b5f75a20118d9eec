"""Every API error is JSON with a sentence: `{"detail": …}` or DRF's field errors."""

from django.conf import settings
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.views import exception_handler as drf_exception_handler

NOT_FOUND = "Not found: nothing with this id exists in your account."
API_PREFIXES = ("/api/", "/internal/")


def api_exception_handler(exc, context):
    """DRF's handler, with one 404 sentence for "missing" and "another account's" alike, and a 429 naming the limit.

    NOT_FOUND is the answer to object lookups (`get_object_or_404` raises a bare Http404); a
    404 that means something else raises `exceptions.NotFound` with its own sentence.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, exceptions.Throttled):  # DRF adds "Expected available in N seconds."
        exc = exceptions.Throttled(exc.wait, f"Too many requests with this token: the limit is {settings.API_RATE}.")
    return drf_exception_handler(exc, context)


class FormatNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a sentence for an unknown `?format=` instead of a bare Http404."""

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            known = " or ".join(sorted({renderer.format for renderer in renderers}))
            raise exceptions.NotFound(f"The format {format!r} is not supported here; use {known}.")
        return matching


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": f"No API endpoint at {request.path}; see /api/docs/ for the list."}, status=404)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Server error; the details are in the server log. Please retry later."}, status=500)
