"""`/api/v1/flows/`, `/api/v1/executions/` and `/api/v1/deliveries/`, scoped to the token's account."""

from __future__ import annotations

from functools import cached_property

from django.db.models import Max
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse

from accounts.api.errors import TooManyRequests, valid_form
from accounts.api.negotiation import CsvOrJsonMixin
from accounts.api.schema import DATE_OR_DATETIME, OBJECT_ID, ErrorSerializer
from accounts.api.strict import refuse_fields
from accounts.api.viewsets import AccountScopedCreateListRetrieveViewSet, AccountScopedMixin, AccountScopedViewSet
from accounts.audit import AuditedViewSetMixin
from flows import idempotency, revisions
from flows.deliveries import replay_deliveries, replay_delivery
from flows.delivery_log import DeliveryFilterForm, ReplayForm, as_record, csv_lines
from flows.forms import ExecutionFilterForm
from flows.models import Delivery, DeliveryStatus, Execution, ExecutionStatus, Flow, FlowRevision, FlowTestCase
from flows.serializers import (
    DeliveryRecordSerializer,
    ExecutionCreateSerializer,
    ExecutionDetailSerializer,
    ExecutionSerializer,
    FlowSerializer,
    PublishedSerializer,
    PublishSerializer,
    QueuedSerializer,
    ReplayRequestSerializer,
    RestoreSerializer,
    RevisionSerializer,
    TestCaseSerializer,
    WidgetTestResultSerializer,
    WidgetTestSerializer,
)
from flows.test_cases import run_test_cases
from flows.trial import TooManyTests, WidgetNotFound, run_widget_test
from flows.validation import FlowValidationError
from phonon.downloads import csv_attachment
from phonon.lib.numbers import whole_number


class FlowViewSet(AuditedViewSetMixin, AccountScopedViewSet):
    """Call flows in the SPEC §6 wire format; a 400 names each problem by its dotted path.

    Every write makes a revision (SPEC §14); `publish/`, `revisions/` and `restore/` manage them.
    """

    queryset = (
        Flow.objects.select_related("published_revision")
        .annotate(latest_revision=Max("revisions__number"))
        .order_by("name", "pk")  # an aggregate drops Meta.ordering
    )
    serializer_class = FlowSerializer

    @extend_schema(
        request=WidgetTestSerializer,
        responses={
            200: WidgetTestResultSerializer,
            404: OpenApiResponse(ErrorSerializer, description="No such webhook widget in the account's flows."),
            429: OpenApiResponse(ErrorSerializer, description="Too many tests this minute; see Retry-After."),
        },
        description=(
            "Send one webhook widget's request exactly as a call would (SPEC §13) and show the answer, "
            "each mapping's value (or suggestions) and the line a call would take. Nothing is stored. "
            "At most WIDGET_TESTS_PER_MINUTE (30) tests per rolling minute per account, then 429 with Retry-After."
        ),
    )
    @action(detail=False, methods=["post"], url_path="test-widget")
    def test_widget(self, request):
        try:
            return Response(run_widget_test(request.data, account=self.account))
        except FlowValidationError as error:
            raise ValidationError(error.errors)
        except WidgetNotFound:
            raise Http404
        except TooManyTests as error:
            raise TooManyRequests(error.wait, str(error))

    @extend_schema(request=PublishSerializer, responses={200: PublishedSerializer, 404: None, 409: None})
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Publish the draft, or `{"revision": N}` to roll back to N; 409 names failing test cases unless `force`."""
        flow = self.get_object()
        options = checked_options(request.data, PublishSerializer)
        number = options.get("revision") or revisions.latest_number(flow)
        revision = find_revision(flow, number)
        try:
            revision = revisions.publish_revision(
                flow, revision, user=request.user, force=options.get("force", False), request=request
            )
        except revisions.PublishBlocked as blocked:
            return blocked_response(blocked)
        return Response({"published_revision": revision.number, "forced": revision.forced})

    def update(self, request, *args, **kwargs):
        try:
            return super().update(request, *args, **kwargs)
        except revisions.PublishBlocked as blocked:  # "publish": true; nothing was saved
            return blocked_response(blocked, note='Nothing was saved: send it without "publish" to keep it as a draft.')

    @extend_schema(request=RestoreSerializer, responses={201: FlowSerializer, 404: None})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        """`{"revision": N}`: a new draft revision with N's content (not published)."""
        flow = self.get_object()
        options = checked_options(request.data, RestoreSerializer)
        revisions.restore_revision(find_revision(flow, options["revision"]), user=request.user, request=request)
        flow = self.get_queryset().get(pk=flow.pk)
        return Response(self.get_serializer(flow).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: RevisionSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="revisions", url_name="revisions", pagination_class=None)
    def history(self, request, pk=None):
        """The history, newest first: `[{number, created_at, created_by, published, changes, …}]`."""
        return Response(RevisionSerializer(revisions.history(self.get_object()), many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("number", int, OpenApiParameter.PATH, description="The revision number.")],
        responses={200: OpenApiTypes.OBJECT, 404: None},
    )
    @action(detail=True, methods=["get"], url_path=r"revisions/(?P<number>[^/.]+)", url_name="revision-diff")
    def revision_diff(self, request, pk=None, number=None):
        """Revision N against the one before, widget by widget.

        `{number, previous, changes, widgets: {id: [{path, old, new}]}}`; secrets read "***".
        """
        flow = self.get_object()
        revision = whole_number(number)
        if revision is None:  # like a missing revision: the path names none
            raise NotFound(f"{number!r} is not a revision number; GET the flow's revisions/ for the numbers.")
        return Response(revisions.revision_diff(find_revision(flow, revision)))


def blocked_response(blocked: revisions.PublishBlocked, note: str = "") -> Response:
    """409: the test cases that fail, each with its differences."""
    detail = " ".join(filter(None, [blocked.sentence('publish with "force": true'), note]))
    return Response({"detail": detail, "failing": blocked.failing}, status=status.HTTP_409_CONFLICT)


def json_object(data) -> dict:
    """A request body that must be a JSON object (a list or a number is a 400, not a crash)."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return data


def checked_options(data, serializer_class) -> dict:
    """The body of a publish/restore request (a JSON object), validated."""
    serializer = serializer_class(data=json_object(data))
    serializer.is_valid(raise_exception=True)  # StrictFieldsMixin refuses unknown fields by name
    return serializer.validated_data


def find_revision(flow: Flow, number: int) -> FlowRevision:
    try:
        return flow.revisions.get(number=number)
    except FlowRevision.DoesNotExist:
        raise NotFound(f"Flow {flow.pk} has no revision {number}; GET its revisions/ for the numbers.")


class TestCaseViewSet(AccountScopedViewSet):
    """A flow's test cases (SPEC §14); `run/` rehearses them all on the draft."""

    queryset = FlowTestCase.objects.all()
    serializer_class = TestCaseSerializer

    @cached_property
    def flow(self) -> Flow:
        # Another account's flow is a 404 like a missing one, before anything else is read.
        return get_object_or_404(Flow.objects.for_account(self.account), pk=self.kwargs["flow_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return FlowTestCase.objects.none()
        return super().get_queryset().filter(flow=self.flow)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and self.request.auth is not None:
            context["flow"] = self.flow
        return context

    def perform_create(self, serializer):
        serializer.save(account=self.account, flow=self.flow)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def run(self, request, flow_pk=None):
        """Rehearse every case on the draft with its pinned answers: `[{id, name, passed, differences, …}]`."""
        flow = self.flow  # a 404 for another account's flow comes first
        refuse_fields(request.data)
        return Response({"results": run_test_cases(flow)})


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("flow", OBJECT_ID, description="Only this flow's executions (its id)."),
            OpenApiParameter("status", OpenApiTypes.STR, enum=ExecutionStatus.values),
            OpenApiParameter("since", DATE_OR_DATETIME, description="A date or an ISO date-time."),
            OpenApiParameter("until", DATE_OR_DATETIME, description="A date (the whole day) or an ISO date-time."),
        ]
    )
)
class ExecutionViewSet(AccountScopedCreateListRetrieveViewSet):
    """Runs of flows for calls. POST queues one (202); the worker runs it; GET shows the outcome."""

    # Each row names the revision it ran: joined, without the revision's content.
    queryset = Execution.objects.select_related("revision").defer(
        "revision__widgets", "revision__layout", "revision__changes"
    )

    def get_serializer_class(self):
        if self.action == "create":
            return ExecutionCreateSerializer
        if self.action == "retrieve":
            return ExecutionDetailSerializer
        return ExecutionSerializer

    def get_queryset(self):
        executions = super().get_queryset()
        if self.action != "list":
            return executions
        return valid_form(ExecutionFilterForm(self.request.query_params, account=self.account)).filter(executions)

    @extend_schema(
        request=ExecutionCreateSerializer,
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                idempotency.KEY_SCHEMA,
                OpenApiParameter.HEADER,
                description="Any unique text (a UUID): a retry with the same key and body starts no second "
                "call but answers the first execution (200); kept 24 h per account.",
            )
        ],
        responses={
            202: QueuedSerializer,
            200: OpenApiResponse(QueuedSerializer, description="The Idempotency-Key's first execution."),
            409: OpenApiResponse(ErrorSerializer, description="The Idempotency-Key came with another body."),
        },
    )
    def create(self, request, *args, **kwargs):
        key = request.headers.get(idempotency.HEADER)
        key = None if key is None else idempotency.clean_key(key)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if key is None:
            execution, created = serializer.save(), True
        else:
            fingerprint = idempotency.body_fingerprint(request.data)
            execution, created = idempotency.create_once(self.account, key, fingerprint, serializer.save)
        location = reverse("execution-detail", kwargs={"pk": execution.pk}, request=request)
        return Response(
            {"id": str(execution.pk), "status": execution.status},
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
            headers={"Location": location},
        )


DELIVERY_FILTERS = [
    OpenApiParameter("status", OpenApiTypes.STR, enum=[choice.value for choice in DeliveryStatus]),
    OpenApiParameter("flow", OBJECT_ID, description="One of the account's flows."),
    OpenApiParameter("webhook", OBJECT_ID, description="One of the account's webhooks."),
    OpenApiParameter("since", DATE_OR_DATETIME, description="On the creation time: a date or an ISO date-time."),
    OpenApiParameter("until", DATE_OR_DATETIME, description="A date (the whole day) or an ISO date-time."),
    OpenApiParameter("cli", OpenApiTypes.STR, description="Part of the caller's number."),
    OpenApiParameter("did", OpenApiTypes.STR, description="Part of the dialled number."),
    OpenApiParameter("webhook_id", OpenApiTypes.STR, description="The Standard Webhooks `webhook-id` (msg_…)."),
]


class DeliveryViewSet(CsvOrJsonMixin, AccountScopedMixin, viewsets.GenericViewSet):
    """Flow-end deliveries: the searchable log (JSON or `?format=csv`), and replays."""

    queryset = Delivery.objects.all()
    serializer_class = DeliveryRecordSerializer

    def filter_form(self, form_class=DeliveryFilterForm, data=None) -> DeliveryFilterForm:
        return valid_form(form_class(self.request.query_params if data is None else data, account=self.account))

    @extend_schema(parameters=[*DELIVERY_FILTERS, OpenApiParameter("format", str, enum=["json", "csv"])])
    def list(self, request, *args, **kwargs):
        """The account's deliveries, newest first, 50 a page; `?format=csv` streams every match."""
        deliveries = self.filter_form().deliveries()
        if self.wants_csv():
            return csv_attachment(csv_lines(deliveries), f"deliveries-{self.account.slug}")
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response([as_record(delivery) for delivery in page])

    @extend_schema(
        operation_id="api_v1_deliveries_replay_many",  # apart from the one delivery's replay
        request=ReplayRequestSerializer,
        responses={202: inline_serializer("BulkReplayQueued", {"queued": serializers.IntegerField()})},
    )
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_many(self, request):
        """Queue every matching delivery again (default: failed ones of the last 31 days), sent at
        DELIVERY_REPLAY_PER_SECOND; each keeps its webhook-id."""
        ReplayRequestSerializer().check_fields(json_object(request.data))
        form = self.filter_form(ReplayForm, data=request.data)
        queued = replay_deliveries(self.account.pk, form.deliveries())
        return Response({"queued": queued}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "ReplayQueued", {"id": serializers.IntegerField(), "status": serializers.CharField()}
            )
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        """Queue the delivery again: a new attempt with the same webhook-id and body."""
        delivery = self.get_object()
        refuse_fields(request.data)
        replay_delivery(delivery)
        return Response({"id": delivery.pk, "status": "pending"}, status=status.HTTP_202_ACCEPTED)
