from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import InternalFunctionCatalogue, WebhookViewSet

router = SimpleRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("internal-webhooks/", InternalFunctionCatalogue.as_view(), name="internal-webhook-list"),
    *router.urls,
]
