"""The check button's reachability probe: does the URL answer at all (any HTTP answer counts)?

Without HTTP support a webhook is saved only once its URL passes the check, so saving
(`webhooks.validation`) runs the same probe on the server, whatever the browser showed; a
disabled webhook's flow-end deliveries are re-enabled by the same rule, `check_problem()`.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Account
from phonon.lib.outbound import Probe, probe_url
from phonon.lib.url_policy import UrlPolicyError, check_url

from .models import Webhook

PROBE_TIMEOUT_SECONDS = 10


def probe(account: Account, url: str) -> Probe:
    """The reachability probe through the one outbound client."""
    return probe_url(url, **account.url_policy(), timeout=PROBE_TIMEOUT_SECONDS)


def check_webhook_url(account: Account, url: str) -> Probe:
    """The check button: syntax, scheme, DNS, network policy, then the probe."""
    try:
        check_url(url or "", **account.url_policy())
    except UrlPolicyError as error:
        return Probe(False, error.reason)
    return probe(account, url.strip())


def check_answer(probe: Probe) -> dict[str, Any]:
    """The check's answer (SPEC §4): {ok, reason, status_code}, and `warning` when the URL answered 4xx/5xx."""
    answer: dict[str, Any] = {"ok": probe.ok, "reason": probe.reason, "status_code": probe.status_code}
    if probe.warning:
        answer["warning"] = probe.warning
    return answer


def check_problem(probe: Probe) -> str:
    """Why the check does not pass, or "" when it does: what saving a webhook without HTTP support
    (SPEC §5) and re-enabling its flow-end deliveries (§16) both require.

    No answer fails, and so does a 5xx: the receiver says it is failing, which is what got its
    deliveries disabled. A 4xx passes (amber, with its warning): the probe is a HEAD without body
    or credentials, so a healthy POST-only receiver answers 405, one that validates its body 400,
    one behind basic auth 401.
    """
    if not probe.ok:
        return probe.reason
    if probe.status_code is not None and probe.status_code >= 500:
        return probe.warning
    return ""


def probe_required(account: Account, url: str, instance: Webhook | None) -> bool:
    """Without HTTP support, a new or changed URL must pass the probe to be saved.

    With HTTP support it need not: such accounts register http endpoints on networks they are
    still setting up, and every request is checked against the policy again when it is sent.
    An unchanged URL is not probed again, so renaming a webhook whose endpoint is down for a
    minute is not refused.
    """
    return not account.http_support_enabled and (instance is None or instance.url != url)
