from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.ReportView.as_view(), name="udf"),
    path("export.csv", views.ReportCsvView.as_view(), name="udf-csv"),
    path("charts.json", views.ReportChartDataView.as_view(), name="udf-charts"),
]
