from django.apps import AppConfig

from phonon.encryption import register_embedded_secrets


class FlowsConfig(AppConfig):
    name = "flows"

    def ready(self) -> None:
        """Widget secrets live inside flow definitions: tell rotate_secrets how to reach them."""
        from flows.widget_secrets import rotate_widget_secrets  # needs the models loaded

        register_embedded_secrets(
            "webhook widget secrets in flows (passwords, secret headers and query parameters)", rotate_widget_secrets
        )
