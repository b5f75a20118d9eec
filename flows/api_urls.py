from rest_framework.routers import SimpleRouter

from .api import ExecutionViewSet, FlowViewSet

router = SimpleRouter()
router.register("flows", FlowViewSet, basename="flow")
router.register("executions", ExecutionViewSet, basename="execution")
urlpatterns = router.urls
