"""The report page, its CSV download and its chart data (SPEC §9), for signed-in members.

Viewers see everything here: nothing on these pages changes data.
"""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict, StreamingHttpResponse
from django.views import View
from django.views.generic import TemplateView

from accounts.tenancy import AccountRequiredMixin
from phonon.downloads import csv_attachment

from .filters import SORT_NEWEST_FIRST, SORT_OLDEST_FIRST, ReportFilterForm
from .udf_report import UdfReport

PAGE_SIZE = 50


def csv_download(report: UdfReport) -> StreamingHttpResponse:
    """The streamed CSV answer, shared by the site and the API."""
    return csv_attachment(report.csv_lines(), f"udf-report-{report.account.slug}")


class ReportMixin(AccountRequiredMixin):
    """Reads the filters from the query string; `report` is None when they are invalid."""

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        if request.user.is_authenticated and request.account is not None:
            self.form = ReportFilterForm(request.GET, account=request.account)
            self.report = UdfReport(request.account, self.form.filters()) if self.form.is_valid() else None
        return super().dispatch(request, *args, **kwargs)


class ReportView(ReportMixin, TemplateView):
    template_name = "reports/udf_report.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(form=self.form, report=self.report, **kwargs)
        # The filters for the CSV link and the chart data: what was given, without the page.
        query = QueryDict(mutable=True)
        for name, values in self.request.GET.lists():
            if name != "page" and any(values):
                query.setlist(name, [value for value in values if value])
        context["filter_query"] = query.urlencode()
        if self.report is None:
            return context
        page = Paginator(self.report.ordered_rows(), PAGE_SIZE).get_page(self.request.GET.get("page"))
        columns = self.report.columns
        context.update(
            page_obj=page,
            columns=columns,
            table=[(row, [row.udf.get(column) for column in columns]) for row in page],
            newest_first=self.report.filters.newest_first,
            toggled_sort=SORT_OLDEST_FIRST if self.report.filters.newest_first else SORT_NEWEST_FIRST,
            is_filtered=any(self.request.GET.get(name) for name in ("flow", "since", "until", "status")),
        )
        if not page.object_list:
            context["account_has_rows"] = self.report.has_any_rows()
        return context


class ReportCsvView(ReportMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        if self.report is None:
            lines = [f"{name}: {' '.join(messages)}" for name, messages in self.form.errors.items()]
            return HttpResponse("\n".join(lines), status=400, content_type="text/plain; charset=utf-8")
        return csv_download(self.report)


class ReportChartDataView(ReportMixin, View):
    def get(self, request: HttpRequest) -> JsonResponse:
        if self.report is None:
            return JsonResponse(self.form.errors, status=400)
        return JsonResponse(self.report.chart_data())
