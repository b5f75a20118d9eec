"""Teaches drf-spectacular our token scheme, so /api/docs/ offers an "Authorize" box for it."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api.authentication.TokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Enter `Token KEY`, with a key from the API tokens page or `manage.py create_token`.",
        }
