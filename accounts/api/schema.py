"""The OpenAPI schema as a contract: the token scheme, and the error answers of every operation.

`ApiAutoSchema` is the project's default schema class (settings `DEFAULT_SCHEMA_CLASS`). It
documents the error statuses an operation can answer from what the view *is* — authenticated,
reading a body or query parameters, naming an object in its path, paginated, throttled — never
from a list of views, so a route added tomorrow is documented the day it is added. A code a view
declares itself with `@extend_schema(responses={…})` wins over the default.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

JSON = ["application/json"]
# Query parameter types the filters share: an object's id (ids start at 1), and what
# `since`/`until` take (a date meaning its whole day, or a date-time).
OBJECT_ID = {"type": "integer", "minimum": 1}
DATE_OR_DATETIME = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
BODY_METHODS = ("POST", "PUT", "PATCH")
# DRF's page number pagination answers 404 for a page that does not exist; it is not a filter.
PAGE_PARAMETER = "page"


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Teaches drf-spectacular our token scheme, so /api/docs/ offers an "Authorize" box for it."""

    target_class = "accounts.api.authentication.TokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "Enter `Token KEY`, with a key from the API tokens page or `manage.py create_token`.",
        }


class ErrorSerializer(serializers.Serializer):
    """Every refusal but a 400: one sentence saying what went wrong and how to fix it."""

    detail = serializers.CharField()

    class Meta:
        ref_name = "Error"


VALIDATION_ERROR = {
    "type": "object",
    "description": (
        "What was wrong, keyed by field (a dotted path for nested input) with a list of sentences, "
        'or `{"detail": sentence}`; `non_field_errors` holds problems of the request as a whole.'
    ),
    "additionalProperties": True,
}

ERROR_DESCRIPTIONS = {
    "400": "The request was refused: each problem is named with the rule it broke.",
    "401": "No valid token: send `Authorization: Token KEY`.",
    "403": "Not allowed: the address is not on the account's IP whitelist, or a viewer tried to write.",
    "404": "Nothing with this id in the token's account (another account's id reads the same), or no such page.",
    "415": "The body must be JSON (`Content-Type: application/json`).",
    "429": "Too many requests: wait the seconds `Retry-After` names.",
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, adding the error answers the view can give (see the module)."""

    def _get_response_bodies(self, direction="response") -> dict:
        responses = super()._get_response_bodies(direction)
        for code in self.error_statuses():
            if code not in responses:
                body = VALIDATION_ERROR if code == "400" else ErrorSerializer
                responses[code] = self._get_response_for_code(body, code, media_types=JSON, direction=direction)
                responses[code]["description"] = ERROR_DESCRIPTIONS[code]
        return responses

    def _get_parameters(self) -> list[dict]:
        """An empty query parameter means "not given" throughout the API (the site's filter forms
        share the code and send unset fields empty); only `?page=` must be a number."""
        parameters = super()._get_parameters()
        for parameter in parameters:
            if parameter["in"] == "query" and parameter["name"] != PAGE_PARAMETER:
                parameter["allowEmptyValue"] = True
        return parameters

    def _map_basic_serializer(self, serializer, direction) -> dict:
        """A request body whose serializer refuses unknown fields says so (`additionalProperties: false`)."""
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            schema["additionalProperties"] = False
        return schema

    def error_statuses(self) -> list[str]:
        """The refusals this operation can answer, read from the view's own configuration."""
        parameters = self._get_parameters()
        located = {parameter["in"] for parameter in parameters}
        query = {parameter["name"] for parameter in parameters if parameter["in"] == "query"}
        reads_body = self.method in BODY_METHODS and self._get_request_body() is not None
        codes = []
        # Any write may break a rule that no schema can state (the last owner, a flow's graph).
        if reads_body or query - {PAGE_PARAMETER} or self.method in {"POST", "PUT", "PATCH", "DELETE"}:
            codes.append("400")
        auth = self.get_auth()
        if auth and {} not in auth:
            codes += ["401", "403"]
        if "path" in located or PAGE_PARAMETER in query or "format" in query:
            codes.append("404")
        if reads_body:
            codes.append("415")
        if self.view.get_throttles():
            codes.append("429")
        return codes
