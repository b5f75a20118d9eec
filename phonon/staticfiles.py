"""collectstatic leaves out what the site never serves, so `make serve` starts sooner.

ReDoc (drf-spectacular's sidecar ships it; the site's API docs are Swagger UI) and DRF's
browsable-API files (the API renders JSON only) are about 60 % of the bytes that would be
hashed and compressed at every start.
"""

from django.contrib.staticfiles.apps import StaticFilesConfig


class PhononStaticFilesConfig(StaticFilesConfig):
    ignore_patterns = [*StaticFilesConfig.ignore_patterns, "redoc", "rest_framework"]
