"""REST API: /api/v1/webhooks/, the check button, the internal function catalogue and endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.api.viewsets import AccountScopedViewSet

from .internal_functions import INTERNAL_FUNCTIONS, call_internal_function
from .models import Webhook
from .reachability import check_answer, check_webhook_url
from .serializers import (
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
        webhook.rotate_signing_secret()
        audit.record(request, audit.ROTATED, webhook, changed=["signing_secret"])
        return Response(self.get_serializer(webhook).data)

    @extend_schema(request=None, responses=WebhookSerializer)
    @action(detail=True, methods=["post"], url_path="end-secret-overlap")
    def end_secret_overlap(self, request, pk=None):
        """Stop signing deliveries with the previous secret before the overlap runs out."""
        webhook = self.get_object()
        webhook.end_secret_overlap()
        return Response(self.get_serializer(webhook).data)


class InternalFunctionCatalogue(APIView):
    """GET /api/v1/internal-webhooks/: the internal functions a webhook widget can call."""

    @extend_schema(responses=InternalFunctionSerializer(many=True))
    def get(self, request):
        return Response([function.as_catalogue_entry() for function in INTERNAL_FUNCTIONS.values()])


class InternalFunctionEndpoint(APIView):
    """/internal/v1/<name>/: runs one internal function with the request's parameters.

    Parameters come from the query string and, for methods with a body, a JSON object on top.
    """

    @extend_schema(request=None, responses=InternalResultSerializer)
    def handle_any(self, request, name: str):
        function = INTERNAL_FUNCTIONS.get(name)
        if function is None:
            known = ", ".join(INTERNAL_FUNCTIONS)
            raise exceptions.NotFound(
                f"There is no internal function named {name!r}; the available ones are {known} "
                "(GET /api/v1/internal-webhooks/ describes them)."
            )
        if request.method not in function.methods:
            return Response(
                {"detail": f"{name} does not accept {request.method}; use {' or '.join(function.methods)}."},
                status=status.HTTP_405_METHOD_NOT_ALLOWED,
                headers={"Allow": ", ".join(function.methods)},
            )
        parameters = {key: request.query_params.get(key) for key in request.query_params}
        if request.method not in ("GET", "HEAD", "OPTIONS", "DELETE") and request.data:
            if not hasattr(request.data, "items"):
                return Response({"detail": "Send the parameters as a JSON object."}, status=status.HTTP_400_BAD_REQUEST)
            parameters.update(request.data.items())
        ok, value = call_internal_function(request.auth.account, name, request.method, parameters)
        return Response({"variable": function.variable, "value": value, "ok": ok})

    get = post = put = patch = delete = handle_any
