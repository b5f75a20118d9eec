"""Every API error is JSON with a sentence: `{"detail": …}` or DRF's field errors."""

import math

from django.conf import settings
from django.http import Http404
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

NOT_FOUND = "Not found: nothing with this id exists in your account."


def valid_form(form):
    """The Django form bound to a request's query or body, or a 400 with its errors by field."""
    if not form.is_valid():
        raise exceptions.ValidationError({name: list(messages) for name, messages in form.errors.items()})
    return form


class TooManyRequests(exceptions.Throttled):
    """A 429 whose detail is the whole sentence, the wait included: DRF's Throttled would append its
    own "Expected available in N seconds." to it. `wait` still becomes Retry-After."""

    def __init__(self, wait: float | None, detail: str) -> None:
        super().__init__(detail=detail)
        self.wait = None if wait is None else math.ceil(wait)


def api_exception_handler(exc, context):
    """DRF's handler, with one 404 sentence for "missing" and "another account's" alike, and a 429 naming the limit.

    NOT_FOUND is the answer to object lookups (`get_object_or_404` raises a bare Http404); a
    404 that means something else raises `exceptions.NotFound` with its own sentence.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    elif isinstance(exc, exceptions.Throttled) and not isinstance(exc, TooManyRequests):
        # The token throttle's bare refusal; a refusal with its own sentence (30 widget tests a minute) keeps it.
        # DRF gives no wait when more requests were counted than the rate allows (it was lowered).
        limit = f"Too many requests with this token: the limit is {settings.API_RATE}"
        exc = TooManyRequests(exc.wait, f"{limit}; try again in {exc.wait} s." if exc.wait else f"{limit}.")
    return drf_exception_handler(exc, context)
