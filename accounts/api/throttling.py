"""API_RATE: requests per token, the REST API and the internal webhook endpoints together."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """One budget per API token (its id), counted in the shared cache, so every web process sees it.

    Requests without a token are refused by authentication before they are counted. The rate is
    read per request, not when the class is defined, so it follows the settings.
    """

    scope = "token"

    def get_rate(self) -> str:
        return settings.API_RATE

    def get_cache_key(self, request, view) -> str | None:
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
