"""`GET /api/v1/reports/udf/` (JSON or `?format=csv`) and `GET /api/v1/reports/charts/`.

Read-only: viewers may use both; any other method is 403 for viewers and 405 for writers.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.negotiation import CsvOrJsonMixin, CsvRenderer

from .filters import parse_filters
from .serializers import FILTER_PARAMETERS, ReportChartsSerializer, UdfReportSerializer
from .udf_report import UdfReport
from .views import csv_download


class ReportApiMixin:
    def get_report(self, request) -> UdfReport:
        """The token's account's report under the query string's filters; 400 naming bad parameters."""
        filters, errors = parse_filters(request.query_params, request.auth.account)
        if errors:
            raise exceptions.ValidationError(errors)
        return UdfReport(request.auth.account, filters)


class UdfReportView(CsvOrJsonMixin, ReportApiMixin, GenericAPIView):
    """The UDF report: executions with one column per persisted variable, 50 a page.

    `?format=csv` answers the whole filtered report as a streamed CSV whose header is the JSON
    record's keys (execution, flow, flow_name, started_at, status, cli, did), then the columns.
    """

    @extend_schema(
        parameters=[*FILTER_PARAMETERS, OpenApiParameter("format", str, enum=["json", "csv"])],
        responses={
            (200, "application/json"): UdfReportSerializer,
            (200, CsvRenderer.media_type): OpenApiResponse(OpenApiTypes.STR, description="With ?format=csv."),
        },
    )
    def get(self, request, *args, **kwargs):
        report = self.get_report(request)
        if self.wants_csv():
            return csv_download(report)
        page = self.paginate_queryset(report.ordered_rows())
        return Response(
            {
                "columns": report.columns,
                "count": self.paginator.page.paginator.count,
                "next": self.paginator.get_next_link(),
                "previous": self.paginator.get_previous_link(),
                "results": [report.as_record(row) for row in page],
            }
        )


class ReportChartsView(ReportApiMixin, APIView):
    """The report's chart data under the same filters: executions per day by outcome, and
    response duration (average, p95) per webhook widget."""

    @extend_schema(parameters=FILTER_PARAMETERS, responses={200: ReportChartsSerializer})
    def get(self, request, *args, **kwargs):
        return Response(self.get_report(request).chart_data())
