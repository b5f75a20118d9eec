"""Content negotiation for the API: an unknown `?format=` answers a sentence, not a bare 404, and
`?format=csv` reaches the views that stream CSV."""

from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response


class FormatNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with a sentence for an unknown `?format=` instead of a bare Http404."""

    def filter_renderers(self, renderers, format):
        matching = [renderer for renderer in renderers if renderer.format == format]
        if not matching:
            known = " or ".join(sorted({renderer.format for renderer in renderers}))
            raise exceptions.NotFound(f"The format {format!r} is not supported here; use {known}.")
        return matching


class CsvRenderer(BaseRenderer):
    """Lets `?format=csv` through content negotiation; the view streams the CSV itself."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise NotImplementedError("The CSV is streamed by the view, never rendered from data.")


class CsvOrJsonMixin:
    """For an API view that answers JSON, or streams CSV with `?format=csv`: errors stay JSON."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    def wants_csv(self) -> bool:
        """`?format=csv`: every match, unpaged; a `?page=` that is no page number is refused all the same."""
        if self.request.accepted_renderer.format != CsvRenderer.format:
            return False
        self.paginator.check_page_number(self.request)
        return True

    def finalize_response(self, request, response, *args, **kwargs):
        # Only the CSV itself is streamed as CSV; errors and OPTIONS (DRF Responses) stay JSON.
        if isinstance(response, Response) and getattr(request, "accepted_renderer", None) is not None:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
