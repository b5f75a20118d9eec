from django.apps import AppConfig

from phonon.encryption import register_embedded_secrets


def http_widgets(account) -> list[str]:
    """ "Flow name → widget id" of the custom webhook widgets calling http://."""
    from accounts.http_support import is_http
    from flows.models import Flow  # needs the models loaded

    return [
        f"{flow.name} → {widget['id']}"
        for flow in Flow.objects.for_account(account).only("name", "widgets")
        for widget in flow.widgets or []
        if widget.get("type") == "webhook" and is_http((widget.get("config") or {}).get("url"))
    ]


class FlowsConfig(AppConfig):
    name = "flows"

    def ready(self) -> None:
        """Widget secrets live inside flow definitions: tell rotate_secrets how to reach them."""
        from accounts.http_support import register_http_urls
        from flows.widget_secrets import rotate_widget_secrets  # needs the models loaded

        register_embedded_secrets(
            "webhook widget secrets in flows and revisions (passwords, secret headers and query parameters)",
            rotate_widget_secrets,
        )
        # The HTTP-support switch's confirmation names the widgets it affects.
        register_http_urls("webhook widgets", http_widgets)
