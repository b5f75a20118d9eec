"""`/api/v1/account/`, `/api/v1/ip-whitelist/`, `/api/v1/members/` and `/api/v1/audit-log/`."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import members
from accounts.api.errors import valid_form
from accounts.audit import OBJECT_TYPES, AuditedViewSetMixin
from accounts.forms import AuditLogFilterForm
from accounts.models import AuditEntry, IpWhitelistEntry, Membership

from .permissions import AccountAccess, OwnerOnly
from .serializers import (
    AccountSerializer,
    AuditEntrySerializer,
    InviteSerializer,
    IpWhitelistEntrySerializer,
    MemberSerializer,
)
from .viewsets import AccountScopedCreateListRetrieveViewSet, AccountScopedMixin


class AccountView(APIView):
    """The account the token belongs to."""

    @extend_schema(responses=AccountSerializer)
    def get(self, request):
        return Response(AccountSerializer(request.auth.account).data)


class IpWhitelistViewSet(AuditedViewSetMixin, mixins.DestroyModelMixin, AccountScopedCreateListRetrieveViewSet):
    """Addresses and networks allowed to call this account's API. No entries: any address.

    Careful: once the first entry exists, requests from every other address answer 403 —
    add the address you are calling from first.
    """

    queryset = IpWhitelistEntry.objects.all()
    serializer_class = IpWhitelistEntrySerializer


class MailServerUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "mail_not_sent"


def django_errors(error: DjangoValidationError, field: str | None = None) -> ValidationError:
    """The rules in accounts.members speak Django; the API answers them as a 400 with the sentence."""
    return ValidationError({field: error.messages} if field else {"detail": " ".join(error.messages)})


class MemberViewSet(
    AccountScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members and pending invitations (owners only).

    POST `{email, role}` invites (the email holds a one-time link, valid 7 days); PATCH `{role}`
    changes a role; DELETE removes a member with their tokens, or revokes an invitation. The
    last owner can be neither demoted nor removed.
    """

    queryset = Membership.objects.select_related("user").order_by("id")
    serializer_class = MemberSerializer
    permission_classes = [AccountAccess, OwnerOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=InviteSerializer, responses={201: MemberSerializer})
    def create(self, request):
        invite = InviteSerializer(data=request.data)
        invite.is_valid(raise_exception=True)
        try:
            membership = members.invite(request, self.account, **invite.validated_data)
        except DjangoValidationError as error:
            raise django_errors(error, "email")
        except members.MailNotSent as error:
            raise MailServerUnavailable(str(error))
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        membership = self.get_object()
        serializer = self.get_serializer(membership, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "role" in serializer.validated_data:
            try:
                members.change_role(request, membership, serializer.validated_data["role"])
            except DjangoValidationError as error:
                raise django_errors(error, "role")
        return Response(self.get_serializer(membership).data)

    def perform_destroy(self, instance):
        try:
            members.remove(self.request, instance)
        except DjangoValidationError as error:
            raise django_errors(error)


@extend_schema(
    parameters=[
        OpenApiParameter("actor", OpenApiTypes.STR, description="A username, or token:<prefix>."),
        OpenApiParameter("object_type", OpenApiTypes.STR, enum=list(OBJECT_TYPES.values())),
        OpenApiParameter("date", OpenApiTypes.DATE, description="One day (UTC)."),
    ]
)
class AuditLogViewSet(AccountScopedMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The account's audit log, newest first (owners only): who changed what, when, from where."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    permission_classes = [AccountAccess, OwnerOnly]

    def get_queryset(self):
        entries = super().get_queryset()
        return valid_form(AuditLogFilterForm(self.request.query_params)).filter(entries)
