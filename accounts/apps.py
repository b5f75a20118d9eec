from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from . import login_throttle  # noqa: F401  connects the failed-login counter
        from .api import schema  # noqa: F401  registers the token scheme with drf-spectacular
