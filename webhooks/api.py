"""REST API: /api/v1/webhooks/, the check button, the internal function catalogue and endpoints."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.api.schema import BODY_METHODS, ApiAutoSchema
from accounts.api.strict import refuse_fields
from accounts.api.viewsets import AccountScopedViewSet

from .endpoints import endpoint_health
from .internal_functions import INTERNAL_FUNCTIONS, InternalFunction, call_internal_function
from .models import Webhook
from .reachability import check_answer, check_webhook_url
from .serializers import (
    EndpointHealthSerializer,
    InternalFunctionSerializer,
    InternalResultSerializer,
    UrlCheckResultSerializer,
    UrlCheckSerializer,
    WebhookSerializer,
)


class WebhookViewSet(audit.AuditedViewSetMixin, AccountScopedViewSet):
    queryset = Webhook.objects.all()
    serializer_class = WebhookSerializer

    @extend_schema(request=UrlCheckSerializer, responses=UrlCheckResultSerializer)
    @action(detail=False, methods=["post"])
    def check(self, request):
        """The check button: syntax, scheme, DNS, network policy, then a reachability probe."""
        serializer = UrlCheckSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(check_answer(check_webhook_url(self.account, serializer.validated_data["url"])))

    @extend_schema(request=None, responses=WebhookSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """Replace the signing secret; deliveries carry the old one's signature too for
        SIGNING_SECRET_OVERLAP_HOURS, so receivers can switch without a gap."""
        webhook = self.get_object()
        refuse_fields(request.data)
        webhook.rotate_signing_secret()
        audit.record(request, audit.ROTATED, webhook, changed=["signing_secret"])
        return Response(self.get_serializer(webhook).data)

    @extend_schema(request=None, responses=WebhookSerializer)
    @action(detail=True, methods=["post"], url_path="end-secret-overlap")
    def end_secret_overlap(self, request, pk=None):
        """Stop signing deliveries with the previous secret before the overlap runs out."""
        webhook = self.get_object()
        refuse_fields(request.data)
        webhook.end_secret_overlap()
        return Response(self.get_serializer(webhook).data)


class InternalFunctionCatalogue(APIView):
    """GET /api/v1/internal-webhooks/: the internal functions a webhook widget can call."""

    @extend_schema(responses=InternalFunctionSerializer(many=True))
    def get(self, request):
        return Response([function.as_catalogue_entry() for function in INTERNAL_FUNCTIONS.values()])


class InternalFunctionSchema(ApiAutoSchema):
    """One internal function's operations: its parameters as query string (GET) or JSON body."""

    @property
    def function(self) -> InternalFunction:
        return self.view.function

    def get_description(self) -> str:
        return f"{self.function.description} The answer's value lands in {self.function.variable}."

    def get_tags(self) -> list[str]:
        return ["internal"]

    def get_override_parameters(self) -> list:
        if self.method in BODY_METHODS:
            return []
        return [OpenApiParameter(p.name, str, description=p.description) for p in self.function.parameters]

    def get_request_serializer(self) -> dict | None:
        if self.method not in BODY_METHODS:
            return None
        properties = {p.name: {"type": "string", "description": p.description} for p in self.function.parameters}
        body = {"type": "object", "properties": properties, "additionalProperties": True}
        body["description"] = "The named parameters; flow variables ($call.did, …) and variable groups are read too."
        return {"application/json": body}

    def get_response_serializers(self):
        return InternalResultSerializer


class InternalFunctionEndpoint(APIView):
    """/internal/v1/<name>/: runs one internal function with the request's parameters.

    One route per function (`internal_urls`), which passes the function and its methods, so
    another method is 405 naming the right ones and the schema shows each function's own path.
    Parameters come from the query string and, for methods with a body, a JSON object on top.
    """

    function: InternalFunction | None = None
    schema = InternalFunctionSchema()

    def handle(self, request):
        function = self.function
        parameters = {key: request.query_params.get(key) for key in request.query_params}
        if request.method in BODY_METHODS:
            if not isinstance(request.data, dict):
                raise exceptions.ValidationError({"detail": "Send the parameters as a JSON object (or no body)."})
            wrong = [
                p.name
                for p in function.parameters
                if p.name in request.data and not isinstance(request.data[p.name], str)
            ]
            if wrong:
                raise exceptions.ValidationError({name: ["Give text (a JSON string)."] for name in wrong})
            parameters.update(request.data)
        ok, value = call_internal_function(request.auth.account, function.name, request.method, parameters)
        return Response({"variable": function.variable, "value": value, "ok": ok})

    get = post = put = handle

    def http_method_not_allowed(self, request, *args, **kwargs):
        methods = " or ".join(self.function.methods)
        raise exceptions.MethodNotAllowed(
            request.method, detail=f"{self.function.name} does not accept {request.method}; use {methods}."
        )


@extend_schema(exclude=True)
class UnknownInternalFunction(APIView):
    """Any other name under /internal/v1/: a 404 that lists the functions there are."""

    def refuse(self, request, name: str):
        raise exceptions.NotFound(
            f"There is no internal function named {name!r}; the available ones are {', '.join(INTERNAL_FUNCTIONS)} "
            "(GET /api/v1/internal-webhooks/ describes them)."
        )

    get = post = put = patch = delete = refuse


class EndpointHealthList(APIView):
    """GET /api/v1/endpoints/: each endpoint's health (SPEC §15), for the token's account only."""

    @extend_schema(responses=EndpointHealthSerializer(many=True))
    def get(self, request):
        return Response(endpoint_health(request.auth.account))
