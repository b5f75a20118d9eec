from django.urls import path
from rest_framework.routers import SimpleRouter

from .api import EndpointHealthList, InternalFunctionCatalogue, WebhookViewSet

router = SimpleRouter()
router.register("webhooks", WebhookViewSet, basename="webhook")

urlpatterns = [
    path("internal-webhooks/", InternalFunctionCatalogue.as_view(), name="internal-webhook-list"),
    path("endpoints/", EndpointHealthList.as_view(), name="endpoint-list"),
    *router.urls,
]
