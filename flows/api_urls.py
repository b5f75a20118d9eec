from rest_framework.routers import SimpleRouter

from .api import DeliveryViewSet, ExecutionViewSet, FlowViewSet, TestCaseViewSet

router = SimpleRouter()
router.register("flows", FlowViewSet, basename="flow")
router.register(r"flows/(?P<flow_pk>[0-9]+)/test-cases", TestCaseViewSet, basename="flow-test-case")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("deliveries", DeliveryViewSet, basename="delivery")
urlpatterns = router.urls
