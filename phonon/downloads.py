"""Streamed CSV downloads, shared by the site and the API (the UDF report, the deliveries log)."""

from collections.abc import Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone


def csv_attachment(lines: Iterator[str], basename: str) -> StreamingHttpResponse:
    """A CSV answer streamed piece by piece, saved as `<basename>-<UTC time>.csv`."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"{basename}-{timezone.now():%Y%m%d-%H%M%S}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
