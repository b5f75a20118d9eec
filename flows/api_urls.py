from rest_framework.routers import SimpleRouter

from .api import DeliveryViewSet, ExecutionViewSet, FlowViewSet

router = SimpleRouter()
router.register("flows", FlowViewSet, basename="flow")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("deliveries", DeliveryViewSet, basename="delivery")
urlpatterns = router.urls
