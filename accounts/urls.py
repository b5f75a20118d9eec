from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("settings/ip-whitelist/", views.IpWhitelistView.as_view(), name="ip-whitelist"),
    path("settings/ip-whitelist/<int:pk>/delete/", views.IpWhitelistDeleteView.as_view(), name="ip-whitelist-delete"),
    path("settings/api-tokens/", views.ApiTokensView.as_view(), name="api-tokens"),
    path("settings/api-tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
    path("switch-account/", views.switch_account, name="switch-account"),
]
