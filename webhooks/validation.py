"""The rules a webhook must follow to be saved, in one place: the site form and the API serializer
both call `clean_webhook()` and `save_webhook()`, so the two can never disagree.

URL rule (SPEC §5): the URL meets the endpoint rules a webhook widget's URL meets too
(`phonon.lib.endpoint_rules`: no user info, the one URL policy) at save time. Without HTTP
support it must also pass the check (`webhooks.reachability.check_problem`: an answer, not a
5xx) when it is new or changed; an unchanged URL still passes the policy again (a host
that now resolves to a private address is refused).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from accounts.models import Account
from phonon.lib.endpoint_rules import MAX_URL_LENGTH, url_problem, username_problem
from phonon.lib.sanitizer import NotesTooLong, check_notes

from .default_webhook import clear_default
from .models import AuthType, BodyType, Method, Webhook
from .reachability import check_problem, probe, probe_required


class WebhookRejected(Exception):
    """The values break at least one rule; `errors` maps each field to sentences saying how to fix it."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items()))
        self.errors = errors


def _choices_sentence(choices: type) -> str:
    return ", ".join(str(value) for value in choices.values)


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
    elif len(url) > MAX_URL_LENGTH:
        errors["url"] = [f"URL: use at most {MAX_URL_LENGTH} characters."]
    else:
        problem = url_problem(url, **account.url_policy())
        if problem:
            errors["url"] = [f"URL: {problem}"]
        elif probe_required(account, url, instance):
            problem = check_problem(probe(account, url)).rstrip(".")  # it ends inside the brackets below
            if problem:
                errors["url"] = [
                    f"URL: the check did not pass ({problem}). Without HTTP support a webhook is saved only "
                    "once its URL passes the check; press Check after fixing the endpoint."
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
        problem = username_problem(username)
        if problem:
            errors["username"] = [f"Username: {problem}"]
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


def save_webhook(
    account: Account, cleaned: Mapping[str, Any], *, instance: Webhook | None = None, request=None
) -> Webhook:
    """Store cleaned values; setting the default moves the mark off the previous one atomically
    (`request`: who did it, for the previous one's audit row)."""
    webhook = instance or Webhook(account=account)
    for field, value in cleaned.items():
        setattr(webhook, field, value)
    with transaction.atomic():
        if webhook.is_default:
            clear_default(account, keep=webhook.pk, request=request)
        webhook.save()
    return webhook
