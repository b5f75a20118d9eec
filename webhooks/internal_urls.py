"""/internal/v1/<name>/: the internal functions as HTTP endpoints (token + IP whitelist)."""

from django.urls import path

from .api import InternalFunctionEndpoint

urlpatterns = [path("<slug:name>/", InternalFunctionEndpoint.as_view(), name="internal-function")]
