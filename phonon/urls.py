from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("accounts.auth_urls")),  # login (throttled, also the admin's), logout, passwords
    path("admin/", admin.site.urls),
    path("", include("accounts.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("webhooks/", include("phone_numbers.urls")),  # Direct Dial and blocklist pages, beside the webhooks
    path("", include("flows.urls")),
    path("reports/", include("reports.urls")),
    path("api/v1/", include("phonon.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("internal/v1/", include("webhooks.internal_urls")),
    # By name, so nothing imports the demo app; its views answer 404 while DEMO_API is off.
    path("demo-api/", include("demo.urls")),
    path("summernote/", include("phonon.summernote")),
    # Browsers ask for /favicon.ico whatever the page links (JSON answers, the admin); send the SVG.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("favicon.svg"), permanent=True)),
]

# JSON under /api/ and /internal/, the usual pages elsewhere.
handler404 = "phonon.errors.page_not_found"
handler500 = "phonon.errors.server_error"
