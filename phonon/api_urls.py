"""/api/v1/: each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("webhooks.api_urls")),
    path("", include("flows.api_urls")),
    path("", include("reports.api_urls")),
]
