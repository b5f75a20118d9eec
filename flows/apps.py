from django.apps import AppConfig

from phonon.encryption import register_embedded_secrets


class FlowsConfig(AppConfig):
    name = "flows"

    def ready(self) -> None:
        """Widget passwords live inside flow definitions: tell rotate_secrets how to reach them."""
        from flows.widget_passwords import rotate_widget_passwords  # needs the models loaded

        register_embedded_secrets("webhook widget passwords in flows", rotate_widget_passwords)
