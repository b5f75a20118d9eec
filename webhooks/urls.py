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
    path("<int:pk>/end-secret-overlap/", views.WebhookEndSecretOverlapView.as_view(), name="end-secret-overlap"),
]
