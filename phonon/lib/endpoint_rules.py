"""The save-time rules of an endpoint: its URL and its basic-auth user name.

A registered webhook (`webhooks.validation`) and a webhook widget
(`flows.widgets.webhook_config`) are judged by these same functions, so one is never refused
what the other accepts. Each surface words its own "required" and "too long" sentences and
puts the problems found here beside its field.

* User info (`https://user:pw@host/`) is refused: the URL is shown to viewers, in the admin and
  in lists, so a password in it would leak; basic authentication keeps it encrypted and
  write-only instead. Only the authority counts: an "@" in the path or query
  (`?email=a@b.example`) is not user info.
* The URL must pass the one URL policy (`check_url`). A flow is saved without resolving host
  names (`look_up_names=False`: DNS answers change, and the policy runs again before every
  request), so there only the syntax, the scheme and an IP-literal host are judged.
* A basic-auth user name is required (some APIs take a key as the user name and no password)
  and must not contain ":", which would end it inside the Authorization header.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from phonon.lib.url_policy import IPNetwork, UrlPolicyError, check_url

MAX_URL_LENGTH = 2000
MAX_USERNAME_LENGTH = 200
USERINFO_REFUSED = "the URL must not contain a user name or password; use basic authentication instead."


def has_userinfo(url: str) -> bool:
    """Whether the URL's authority carries a user name or password (`https://user:pw@host/`)."""
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False  # the policy says what is wrong with it


def url_problem(
    url: str, *, allow_http: bool, allowed_networks: Sequence[IPNetwork] = (), look_up_names: bool = True
) -> str | None:
    """Why `url` cannot be saved (a sentence), or None when it may be."""
    if has_userinfo(url):
        return USERINFO_REFUSED
    try:
        check_url(
            url,
            allow_http=allow_http,
            allowed_networks=allowed_networks,
            resolve=None if look_up_names else _no_lookup,
        )
    except UrlPolicyError as refusal:
        if look_up_names or refusal.code != "dns":
            return refusal.reason
    return None


def _no_lookup(host: str, port: int) -> list[str]:
    raise OSError("host names are not resolved here")


def username_problem(username: object) -> str | None:
    """Why `username` cannot be a basic-auth user name (a sentence), or None."""
    if not isinstance(username, str) or not username:
        return "basic authentication needs a username."
    if ":" in username:
        return "basic authentication does not allow ':' in the username."
    if len(username) > MAX_USERNAME_LENGTH:
        return f"the username is longer than {MAX_USERNAME_LENGTH} characters."
    return None
