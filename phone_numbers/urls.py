"""Served under /webhooks/ beside the webhook pages (the paths the site has always had)."""

from django.urls import path

from . import views

app_name = "phone_numbers"
urlpatterns = [
    path("direct-dial/", views.DirectDialListView.as_view(), name="direct-dial-list"),
    path("direct-dial/<int:pk>/pause/", views.DirectDialPauseView.as_view(), name="direct-dial-pause"),
    path("direct-dial/<int:pk>/delete/", views.DirectDialDeleteView.as_view(), name="direct-dial-delete"),
    path("blocklist/", views.BlocklistView.as_view(), name="blocklist"),
    path("blocklist/<int:pk>/delete/", views.BlockedCallerDeleteView.as_view(), name="blocked-caller-delete"),
]
