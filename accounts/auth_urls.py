"""Log in, log out and passwords: Django's auth views under the names Django reverses (no namespace).

Both login forms, the site's and the admin's, are throttled (accounts.login_throttle); the
admin's route is listed here so it comes before `admin/` in phonon/urls.py.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from .login_throttle import throttled

urlpatterns = [
    path("admin/login/", throttled(admin.site.login)),
    path("login/", throttled(auth_views.LoginView.as_view()), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The site's templates for these are in templates/registration/.
    path("password/change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
