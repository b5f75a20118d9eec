from django.urls import path

from .api import ReportChartsView, UdfReportView

urlpatterns = [
    path("reports/udf/", UdfReportView.as_view(), name="report-udf"),
    path("reports/charts/", ReportChartsView.as_view(), name="report-charts"),
]
