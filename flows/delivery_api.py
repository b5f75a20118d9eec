"""`POST /api/v1/deliveries/{id}/replay/`: send a flow end delivery again."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from accounts.api.viewsets import AccountScopedMixin

from .deliveries import replay_delivery
from .models import Delivery


class DeliveryViewSet(AccountScopedMixin, viewsets.GenericViewSet):
    queryset = Delivery.objects.all()

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
        replay_delivery(delivery)
        return Response({"id": delivery.pk, "status": "pending"}, status=status.HTTP_202_ACCEPTED)


router = SimpleRouter()
router.register("deliveries", DeliveryViewSet, basename="delivery")
urlpatterns = router.urls
