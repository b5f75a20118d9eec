"""The rules a webhook must follow to be saved, in one place: the site form and the API serializer
both call `clean_webhook()` and `save_webhook()`, so the two can never disagree.

URL rule (SPEC §5): the URL always passes the one URL policy (`check_url`) at save time. Without
HTTP support it must also pass the reachability probe (the check button's green tick), run here on
the server whatever the browser showed. With HTTP support the probe is not required: such accounts
register http endpoints on networks they are still setting up, and every request is checked
against the policy again when it is sent. The probe only runs when the URL is new or changed, so
renaming a webhook whose endpoint is down for a minute is not refused; an unchanged URL still
passes the policy again (a host that now resolves to a private address is refused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction

from accounts.models import Account
from phonon.lib.outbound import Probe, probe_url
from phonon.lib.sanitizer import NotesTooLong, check_notes
from phonon.lib.url_policy import UrlPolicyError, check_url

from .models import AuthType, BodyType, Method, Webhook, new_signing_secret

# The DNS resolver for the policy and the probe; None is the system resolver. Tests replace it.
resolve: Callable[[str, int], Iterable[str]] | None = None

PROBE_TIMEOUT_SECONDS = 10
FIELDS = ("name", "url", "method", "auth_type", "username", "password", "body_type", "notes", "is_default")


class WebhookRejected(Exception):
    """The values break at least one rule; `errors` maps each field to sentences saying how to fix it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def _choices_sentence(choices: type) -> str:
    return ", ".join(str(value) for value in choices.values)


def has_userinfo(url: str) -> bool:
    """Whether the URL carries a user name or password (`https://user:pw@host/`).

    Refused on save: the URL is shown to viewers, in the admin and in lists, so a password in
    it would leak; basic authentication keeps it encrypted and write-only instead.
    """
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False  # the policy says what is wrong with it


def url_policy_problem(account: Account, url: str) -> str | None:
    """Why the URL policy refuses `url` for this account, or None when it passes."""
    try:
        check_url(
            url,
            **account.url_policy(),
            resolve=resolve,
        )
    except UrlPolicyError as error:
        return error.reason
    return None


def probe(account: Account, url: str) -> Probe:
    """The reachability probe (any HTTP answer counts) through the one outbound client."""
    return probe_url(
        url,
        **account.url_policy(),
        timeout=PROBE_TIMEOUT_SECONDS,
        resolve=resolve,
    )


def check_webhook_url(account: Account, url: str) -> Probe:
    """The check button: syntax, scheme, DNS, network policy, then the probe."""
    problem = url_policy_problem(account, url or "")
    if problem:
        return Probe(False, problem)
    return probe(account, url.strip())


def check_answer(probe: Probe) -> dict[str, Any]:
    """The check's answer (SPEC §4): {ok, reason, status_code}, and `warning` when the URL answered 4xx/5xx."""
    answer: dict[str, Any] = {"ok": probe.ok, "reason": probe.reason, "status_code": probe.status_code}
    if probe.warning:
        answer["warning"] = probe.warning
    return answer


def probe_required(account: Account, url: str, instance: Webhook | None) -> bool:
    return not account.http_support_enabled and (instance is None or instance.url != url)


def clean_webhook(account: Account, values: Mapping[str, Any], *, instance: Webhook | None = None) -> dict[str, Any]:
    """Check every rule; return the field values to store, or raise WebhookRejected.

    `values` may be partial (an API PATCH): a missing key keeps the stored value, or the
    default for a new webhook. A blank password keeps the stored one.
    """

    def current(field: str, default: Any = "") -> Any:
        if field in values and values[field] is not None:
            return values[field]
        return getattr(instance, field) if instance is not None else default

    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}

    name = str(current("name")).strip()
    if not name:
        errors["name"] = ["Name: enter a name, e.g. 'Order system'."]
    elif len(name) > 100:
        errors["name"] = ["Name: use at most 100 characters."]
    elif (
        Webhook.objects.for_account(account)
        .filter(name__iexact=name)
        .exclude(pk=getattr(instance, "pk", None))
        .exists()
    ):
        errors["name"] = [f"Name: this account already has a webhook called {name!r}; choose another name."]
    cleaned["name"] = name

    method = str(current("method", Method.POST)).strip().upper()
    if method not in Method.values:
        errors["method"] = [f"Method: {method!r} is not allowed; choose one of {_choices_sentence(Method)}."]
    cleaned["method"] = method

    url = str(current("url")).strip()
    if not url:
        errors["url"] = ["URL: enter the address to call, e.g. https://api.example.com/hook."]
    elif len(url) > 2000:
        errors["url"] = ["URL: use at most 2000 characters."]
    elif has_userinfo(url):
        errors["url"] = ["URL: the URL must not contain a user name or password; use basic authentication instead."]
    else:
        problem = url_policy_problem(account, url)
        if problem:
            errors["url"] = [f"URL: {problem}"]
        elif probe_required(account, url, instance):
            reachable, reason, *_ = probe(account, url)
            if not reachable:
                errors["url"] = [
                    f"URL: the check did not pass ({reason}). Without HTTP support a webhook is saved only "
                    "once its URL checks green; press Check after fixing the endpoint."
                ]
    cleaned["url"] = url

    auth_type = str(current("auth_type", AuthType.NONE)).strip().lower()
    username = str(current("username")).strip()
    password = values.get("password") or ""
    if auth_type not in AuthType.values:
        errors["auth_type"] = [
            f"Authentication: {auth_type!r} is not allowed; choose one of {_choices_sentence(AuthType)}."
        ]
    elif auth_type == AuthType.BASIC:
        if not username:
            errors["username"] = ["Username: basic authentication needs a username."]
        elif ":" in username:
            errors["username"] = ["Username: basic authentication does not allow ':' in the username."]
        if password:
            cleaned["password"] = password
    else:
        username = ""
        cleaned["password"] = ""
    cleaned["auth_type"] = auth_type
    cleaned["username"] = username

    body_type = str(current("body_type", BodyType.NONE)).strip().lower()
    if body_type not in BodyType.values:
        errors["body_type"] = [f"Body type: {body_type!r} is not allowed; choose one of {_choices_sentence(BodyType)}."]
    cleaned["body_type"] = body_type

    try:
        cleaned["notes"] = check_notes(str(current("notes")))
    except NotesTooLong as error:  # SPEC's exact wording, shown beside the notes field
        errors["notes"] = [str(error)]

    cleaned["is_default"] = bool(current("is_default", False))

    if errors:
        raise WebhookRejected(errors)
    return cleaned


def save_webhook(account: Account, cleaned: Mapping[str, Any], *, instance: Webhook | None = None) -> Webhook:
    """Store cleaned values; setting the default moves the mark off the previous one atomically."""
    webhook = instance or Webhook(account=account)
    for field, value in cleaned.items():
        setattr(webhook, field, value)
    with transaction.atomic():
        if webhook.is_default:
            _lock_defaults(account)
            _clear_default(account, keep=webhook.pk)
        webhook.save()
    return webhook


def set_default(webhook: Webhook) -> None:
    """Make this the account's default webhook, in one transaction with clearing the old mark."""
    with transaction.atomic():
        _lock_defaults(webhook.account)
        _clear_default(webhook.account, keep=webhook.pk)
        Webhook.objects.filter(pk=webhook.pk).update(is_default=True)
    webhook.is_default = True


def rotate_signing_secret(webhook: Webhook) -> str:
    """Give the webhook a new signing secret; deliveries sign with it from the next attempt on."""
    webhook.signing_secret = new_signing_secret()
    webhook.save(update_fields=["signing_secret", "updated_at"])
    return webhook.signing_secret


def _lock_defaults(account: Account) -> None:
    """Serialise default changes of one account (a row lock on PostgreSQL; SQLite locks at BEGIN IMMEDIATE)."""
    list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk", flat=True))


def _clear_default(account: Account, *, keep: int | None) -> None:
    Webhook.objects.for_account(account).filter(is_default=True).exclude(pk=keep).update(is_default=False)
