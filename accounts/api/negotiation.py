"""Content negotiation for the API: an unknown `?format=` answers a sentence, not a bare 404."""

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class FormatNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a sentence for an unknown `?format=` instead of a bare Http404."""

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            known = " or ".join(sorted({renderer.format for renderer in renderers}))
            raise exceptions.NotFound(f"The format {format!r} is not supported here; use {known}.")
        return matching
