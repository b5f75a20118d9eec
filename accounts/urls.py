from django.urls import path
from django.views.generic import TemplateView

from . import views

app_name = "accounts"
placeholder = TemplateView.as_view(template_name="placeholder.html")  # replaced by the foundation work

urlpatterns = [
    path("", views.home, name="home"),
    path("settings/ip-whitelist/", placeholder, name="ip-whitelist"),
    path("settings/api-tokens/", placeholder, name="api-tokens"),
    path("switch-account/", placeholder, name="switch-account"),
]
