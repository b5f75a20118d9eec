from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AccountView, AuditLogViewSet, IpWhitelistViewSet, MemberViewSet

router = SimpleRouter()
router.register("ip-whitelist", IpWhitelistViewSet, basename="ip-whitelist")
router.register("members", MemberViewSet, basename="member")
router.register("audit-log", AuditLogViewSet, basename="audit-log")

urlpatterns = [
    path("account/", AccountView.as_view(), name="account"),
    *router.urls,
]
