"""/demo-api/: the demo order system and the flow-end receiver."""

from django.urls import include, path

urlpatterns = [
    path("", include("phonon.demo.api")),
    path("", include("phonon.demo.receiver")),
]
