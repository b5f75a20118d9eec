"""Every API error is JSON with a sentence: `{"detail": …}` or DRF's field errors."""

from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

NOT_FOUND = "Not found: nothing with this id exists in your account."
API_PREFIXES = ("/api/", "/internal/")


def api_exception_handler(exc, context):
    """DRF's handler, with one 404 sentence for "missing" and "another account's" alike."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    return drf_exception_handler(exc, context)


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIXES)


def api_not_found(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": f"No API endpoint at {request.path}; see /api/docs/ for the list."}, status=404)


def api_server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"detail": "Server error; the details are in the server log. Please retry later."}, status=500)
