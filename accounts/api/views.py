"""`/api/v1/account/` and `/api/v1/ip-whitelist/`, for the token's account."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import IpWhitelistEntry

from .serializers import AccountSerializer, IpWhitelistEntrySerializer
from .viewsets import AccountScopedCreateListRetrieveViewSet


class AccountView(APIView):
    """The account the token belongs to."""

    @extend_schema(responses=AccountSerializer)
    def get(self, request):
        return Response(AccountSerializer(request.auth.account).data)


class IpWhitelistViewSet(mixins.DestroyModelMixin, AccountScopedCreateListRetrieveViewSet):
    """Addresses and networks allowed to call this account's API. No entries: any address.

    Careful: once the first entry exists, requests from every other address answer 403 —
    add the address you are calling from first.
    """

    queryset = IpWhitelistEntry.objects.all()
    serializer_class = IpWhitelistEntrySerializer
