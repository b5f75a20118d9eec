from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import AccountView, IpWhitelistViewSet

router = SimpleRouter()
router.register("ip-whitelist", IpWhitelistViewSet, basename="ip-whitelist")

urlpatterns = [
    path("account/", AccountView.as_view(), name="account"),
    *router.urls,
]
