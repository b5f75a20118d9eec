from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from .api import schema  # noqa: F401  registers the token scheme with drf-spectacular
