from django.apps import AppConfig


def http_webhooks(account) -> list[str]:
    from accounts.http_support import is_http
    from webhooks.models import Webhook  # needs the models loaded

    return [
        webhook.name for webhook in Webhook.objects.for_account(account).only("name", "url") if is_http(webhook.url)
    ]


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        """The HTTP-support switch's confirmation names the webhooks it affects."""
        from accounts.http_support import register_http_urls  # needs the models loaded

        register_http_urls("registered webhooks", http_webhooks)
