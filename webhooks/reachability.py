"""The check button's reachability probe: does the URL answer at all (any HTTP answer counts)?

Without HTTP support a webhook is saved only once its URL checks green, so saving
(`webhooks.validation`) runs the same probe on the server, whatever the browser showed.
"""

from __future__ import annotations

from accounts.models import Account
from phonon.lib.outbound import probe_url
from phonon.lib.url_policy import UrlPolicyError, check_url

from .models import Webhook

PROBE_TIMEOUT_SECONDS = 10


def probe(account: Account, url: str) -> tuple[bool, str]:
    """The reachability probe through the one outbound client; (reachable, reason)."""
    return probe_url(url, **account.url_policy(), timeout=PROBE_TIMEOUT_SECONDS)


def check_webhook_url(account: Account, url: str) -> tuple[bool, str]:
    """The check button: syntax, scheme, DNS, network policy, then the probe; (ok, reason)."""
    try:
        check_url(url or "", **account.url_policy())
    except UrlPolicyError as error:
        return False, error.reason
    return probe(account, url.strip())


def probe_required(account: Account, url: str, instance: Webhook | None) -> bool:
    """Without HTTP support, a new or changed URL must pass the probe to be saved.

    With HTTP support it need not: such accounts register http endpoints on networks they are
    still setting up, and every request is checked against the policy again when it is sent.
    An unchanged URL is not probed again, so renaming a webhook whose endpoint is down for a
    minute is not refused.
    """
    return not account.http_support_enabled and (instance is None or instance.url != url)
