from django.urls import path

from . import views

app_name = "webhooks"
urlpatterns = [
    path("", views.WebhookListView.as_view(), name="list"),
    path("add/", views.WebhookFormView.as_view(), name="add"),
    path("check/", views.UrlCheckView.as_view(), name="check"),
    path("<int:pk>/", views.WebhookFormView.as_view(), name="edit"),
    path("<int:pk>/view/", views.WebhookDetailView.as_view(), name="detail"),
    path("<int:pk>/delete/", views.WebhookDeleteView.as_view(), name="delete"),
    path("<int:pk>/default/", views.WebhookSetDefaultView.as_view(), name="set-default"),
    path("<int:pk>/rotate-secret/", views.WebhookRotateSecretView.as_view(), name="rotate-secret"),
    path("direct-dial/", views.DirectDialListView.as_view(), name="direct-dial-list"),
    path("direct-dial/<int:pk>/pause/", views.DirectDialPauseView.as_view(), name="direct-dial-pause"),
    path("direct-dial/<int:pk>/delete/", views.DirectDialDeleteView.as_view(), name="direct-dial-delete"),
    path("blocklist/", views.BlocklistView.as_view(), name="blocklist"),
    path("blocklist/<int:pk>/delete/", views.BlockedCallerDeleteView.as_view(), name="blocked-caller-delete"),
]
