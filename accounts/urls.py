from django.urls import path

from . import member_views, views

app_name = "accounts"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("settings/ip-whitelist/", views.IpWhitelistView.as_view(), name="ip-whitelist"),
    path("settings/ip-whitelist/<int:pk>/delete/", views.IpWhitelistDeleteView.as_view(), name="ip-whitelist-delete"),
    path("settings/api-tokens/", views.ApiTokensView.as_view(), name="api-tokens"),
    path("settings/api-tokens/<int:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
    path("settings/members/", member_views.MembersView.as_view(), name="members"),
    path("settings/members/<int:pk>/role/", member_views.MemberRoleView.as_view(), name="member-role"),
    path("settings/members/<int:pk>/remove/", member_views.MemberRemoveView.as_view(), name="member-remove"),
    path("settings/audit-log/", views.AuditLogView.as_view(), name="audit-log"),
    path("invitations/<str:key>/", member_views.InvitationView.as_view(), name="invitation"),
    path("invitations/<str:key>/renew/", member_views.InvitationRenewalView.as_view(), name="invitation-renew"),
    path("switch-account/", views.switch_account, name="switch-account"),
]
