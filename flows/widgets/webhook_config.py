"""The webhook widget's config (SPEC §6): its defaults and the rules a saved config follows.

Running the widget is `flows.widgets.webhook`; this module is what the designer, the API and
`validate_flow` know of a webhook widget before any call reaches it.

What is checked at save time and what only at run time:

* The URL's scheme and host must be written literally (variables may only follow the host: in
  the path, query or fragment), so the destination is known when the flow is saved. The URL
  then meets the same endpoint rules as a registered webhook (`phonon.lib.endpoint_rules`):
  no user info, the URL policy's syntax and scheme (https unless the account has HTTP support),
  and an IP-literal host must pass the network policy. Host names are not looked up here: DNS
  answers change, and the policy runs again before every request and every redirect hop.
* Bodies are checked as templates (`validate_body_template`), mapping paths as paths of the
  declared response type (`validate_path`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flows.variables import CACHE_VARIABLES, OUTPUT_VARIABLES
from flows.widgets import FAILURE_LINE, SUCCESS_LINE
from flows.widgets.cleaning import MAX_ROWS, FieldErrors, clean_flow_key, clean_notes, clean_template
from phonon.encryption import decrypt_secret, encrypt_secret
from phonon.lib.endpoint_rules import MAX_URL_LENGTH, url_problem, username_problem
from phonon.lib.extraction import RESPONSE_TYPES, InvalidPath, validate_path
from phonon.lib.templating import BODY_TYPES, VARIABLE_RE, TemplateError, validate_body_template
from webhooks import internal_functions
from webhooks.models import Method

LINES = (SUCCESS_LINE, FAILURE_LINE)
MODES = ("custom", "internal")
METHODS = tuple(Method.values)
PARAMETER_GROUPS = ("call", "flow_key", "user_key")
MIN_TIMEOUT, MAX_TIMEOUT = 1, 60
MAX_BODY_LENGTH = 64 * 1024
# RFC 9110 token characters, without "$" so a variable can never hide in a header name.
HEADER_NAME_RE = re.compile(r"[!#%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
# Headers the HTTP client computes; a widget setting them would corrupt the request.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

RETRY_ON = ("CONNECTION_ERROR", "TIMEOUT", "SERVER_ERROR", "429")
DEFAULTS: dict[str, Any] = {
    "mode": "custom",
    "method": "POST",
    "auth": {"type": "none"},
    "headers": [],
    "query_params": [],
    "body_type": "none",
    "body": "",
    "response_type": "json",
    "mappings": [],
    "wait_for_response": True,
    "timeout": 60,
    "hold_music": False,
    "persist_response": False,
    "notes": "",
    # SPEC §15: tries inside the one deadline, the Idempotency-Key header, the response cache.
    "retries": {"count": 0, "on": list(RETRY_ON)},
    "idempotency_key": False,
    "cache": {"ttl": 0, "key": "", "stale_on_error": False},
}
MAX_RETRIES = 3
MAX_CACHE_TTL = 86400
# Methods a retry may repeat without an Idempotency-Key (RFC 9110 idempotent methods).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
ROW_LISTS = ("headers", "query_params")
ROW_KEYS = frozenset({"key", "value", "mandatory", "secret"})
# password_set: answers show it; password_encrypted: a client's is ignored (never trusted), as before.
AUTH_KEYS = frozenset({"type", "username", "password", "password_set", "password_encrypted"})
MASK = "***"  # what answers show instead of a secret, and what a client may send back to keep it
BOOLEANS = ("wait_for_response", "hold_music", "persist_response", "idempotency_key")
CUSTOM_KEYS = frozenset(DEFAULTS) | {"url"}
INTERNAL_KEYS = frozenset({"mode", "function", "method", "parameters", "notes"})
# Either mode's keys are accepted (a designer switching modes may send both); only the chosen
# mode's are stored.
KEYS = CUSTOM_KEYS | INTERNAL_KEYS


def clean_webhook_config(
    config: Mapping[str, Any], field: FieldErrors, *, account, previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    mode = config.get("mode", "custom")
    if mode not in MODES:
        field.add("mode", f"mode must be custom or internal, not {mode!r}.")
        return dict(config)
    if mode == "internal":
        return _clean_internal(config, field)
    field.unknown_keys(config, KEYS, "a webhook widget")
    cleaned: dict[str, Any] = {"mode": "custom"}
    cleaned["url"] = _clean_url(config.get("url"), field, account=account)
    cleaned["method"] = _choice(config, "method", METHODS, field, upper=True)
    cleaned["auth"] = _clean_auth(config.get("auth", DEFAULTS["auth"]), field, previous)
    for key in ROW_LISTS:
        stored = previous.get(key) if previous else None
        cleaned[key] = _clean_rows(config.get(key, []), field, key, header=key == "headers", previous=stored)
    cleaned["body_type"] = _choice(config, "body_type", BODY_TYPES, field)
    cleaned["body"] = _clean_body(cleaned["body_type"], config.get("body", ""), field)
    cleaned["response_type"] = _choice(config, "response_type", RESPONSE_TYPES, field)
    cleaned["mappings"] = _clean_mappings(config.get("mappings", []), cleaned["response_type"], field)
    for key in BOOLEANS:
        value = config.get(key, DEFAULTS[key])
        if not isinstance(value, bool):
            field.add(key, f"{key} must be true or false.")
        cleaned[key] = value
    cleaned["timeout"] = _clean_timeout(config.get("timeout", DEFAULTS["timeout"]), field)
    cleaned["retries"] = _clean_retries(config.get("retries", DEFAULTS["retries"]), field)
    if cleaned["retries"]["count"] and cleaned["method"] not in IDEMPOTENT_METHODS and not cleaned["idempotency_key"]:
        field.add(
            "idempotency_key",
            f"a {cleaned['method']} is only retried with idempotency_key on (it sends Idempotency-Key, the same "
            "on every try, so the endpoint can tell a retry from a new request); turn it on or set retries.count to 0.",
        )
    cleaned["cache"] = _clean_cache(config.get("cache", DEFAULTS["cache"]), field)
    cleaned["notes"] = clean_notes(config, field)
    return cleaned


def _choice(
    config: Mapping[str, Any], key: str, choices: tuple[str, ...], field: FieldErrors, *, upper: bool = False
) -> str:
    value = config.get(key, DEFAULTS[key])
    if upper:
        value = _upper(value)
    if value not in choices:
        field.add(key, f"{key} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def _upper(value: Any) -> Any:
    """A method in any case ("post", " Get") as stored, upper-case, like the webhooks API does."""
    return value.strip().upper() if isinstance(value, str) else value


def _clean_timeout(value: Any, field: FieldErrors) -> Any:
    if not _whole_number_within(value, MIN_TIMEOUT, MAX_TIMEOUT):
        field.add(
            "timeout",
            f"timeout must be between {MIN_TIMEOUT} and {MAX_TIMEOUT} seconds (a whole number), not {value!r}.",
        )
    return value


def _whole_number_within(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _clean_retries(retries: Any, field: FieldErrors) -> dict[str, Any]:
    if not isinstance(retries, Mapping) or set(retries) - {"count", "on"}:
        field.add("retries", 'retries must be {"count": 0-3, "on": [reasons]}.')
        return dict(DEFAULTS["retries"])
    count = retries.get("count", 0)
    if not _whole_number_within(count, 0, MAX_RETRIES):
        field.add("retries.count", f"retries.count must be a whole number from 0 to {MAX_RETRIES}, not {count!r}.")
        count = 0
    on = retries.get("on", DEFAULTS["retries"]["on"])
    if not isinstance(on, list) or any(reason not in RETRY_ON for reason in on):
        field.add("retries.on", f"retries.on must be a list drawn from {', '.join(RETRY_ON)}.")
        on = []
    return {"count": count, "on": [reason for reason in RETRY_ON if reason in on]}


def _clean_cache(cache: Any, field: FieldErrors) -> dict[str, Any]:
    if not isinstance(cache, Mapping) or set(cache) - {"ttl", "key", "stale_on_error"}:
        field.add("cache", 'cache must be {"ttl": 0-86400, "key": "$call.cli", "stale_on_error": false}.')
        return dict(DEFAULTS["cache"])
    ttl = cache.get("ttl", 0)
    if not _whole_number_within(ttl, 0, MAX_CACHE_TTL):
        field.add("cache.ttl", f"cache.ttl must be a whole number of seconds from 0 to {MAX_CACHE_TTL}, not {ttl!r}.")
        ttl = 0
    key = clean_template(cache.get("key", ""), field, "cache.key", "the cache key") or ""
    if ttl and not key.strip():
        field.add(
            "cache.key", "a cache with a ttl needs a key, such as $call.cli: callers with the same key share an answer."
        )
    stale_on_error = cache.get("stale_on_error", False)
    if not isinstance(stale_on_error, bool):
        field.add("cache.stale_on_error", "cache.stale_on_error must be true or false.")
    return {"ttl": ttl, "key": key, "stale_on_error": stale_on_error}


def _clean_url(url: Any, field: FieldErrors, *, account) -> str:
    if not isinstance(url, str) or not url.strip():
        field.add("url", "the URL is required, for example https://api.example.com/orders/$call.cli.")
        return url if isinstance(url, str) else ""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        field.add("url", f"the URL is longer than {MAX_URL_LENGTH} characters.")
        return url
    first_variable = VARIABLE_RE.search(url)
    if first_variable is not None and not _authority_is_literal(url[: first_variable.start()]):
        field.add(
            "url",
            "write the URL's scheme and host literally; variables may only appear after the host "
            "(in the path or query), like https://api.example.com/orders/$call.cli.",
        )
        return url
    # Variables stand for a sample value; they cannot change the structure of the URL (render_url
    # percent-encodes them), so the literal parts are what is checked.
    problem = url_problem(VARIABLE_RE.sub("0", url), **account.url_policy(), look_up_names=False)
    if problem:
        field.add("url", problem)
    return url


def _authority_is_literal(prefix: str) -> bool:
    """True when `prefix` (the URL before its first variable) holds the whole scheme://host[:port]."""
    scheme, separator, rest = prefix.partition("://")
    return bool(scheme and separator) and any(mark in rest for mark in "/?#")


def _clean_auth(auth: Any, field: FieldErrors, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Basic auth needs a user name; the password may be empty (some APIs take a key as the user
    name), as for registered webhooks.

    The password is kept like a secret row's value (`_kept_secret`): blank, missing or "***"
    keeps the one stored for this widget, if any. To remove a stored password, save the widget
    with auth type none once (that drops it) and then with basic again: the same rule as webhooks.
    """
    if not isinstance(auth, Mapping) or auth.get("type") not in ("none", "basic") or set(auth) - AUTH_KEYS:
        field.add("auth", 'auth must be {"type": "none"} or {"type": "basic", "username": …, "password": …}.')
        return {"type": "none"}
    if auth["type"] == "none":
        return {"type": "none"}
    username = auth.get("username")
    problem = username_problem(username)
    if problem:
        field.add("auth.username", problem)
    cleaned = {"type": "basic", "username": username}
    password = auth.get("password")
    if password not in (None, "") and not isinstance(password, str):
        field.add("auth.password", "the password must be text.")
        return cleaned
    previous_auth = previous.get("auth") if previous else None
    stored = previous_auth.get("password_encrypted") if isinstance(previous_auth, Mapping) else None
    refusal = f'the password "{MASK}" stands for a stored one and this widget has none'
    encrypted = _kept_secret(password, stored, field, "auth.password", refusal)
    return {**cleaned, "password_encrypted": encrypted} if encrypted else cleaned  # none: an empty password


def _clean_rows(rows: Any, field: FieldErrors, key: str, *, header: bool, previous: Any = None) -> list[dict[str, Any]]:
    """Header or query-parameter rows, each stored with `secret` true or false (SPEC §6's shape, which
    answers show); a secret row's value is stored encrypted (`value_encrypted`).

    A secret row sent with a blank value or "***" (what answers show) keeps the value stored for
    the row of the same key, as a blank basic-auth password does.
    """
    what = "header" if header else "query parameter"
    if not isinstance(rows, list):
        field.add(key, f'{key} must be a list of {{"key", "value", "mandatory", "secret"}} rows.')
        return []
    if len(rows) > MAX_ROWS:
        field.add(key, f"at most {MAX_ROWS} {what}s are allowed.")
        return []
    cleaned = []
    for index, row in enumerate(rows):
        here = f"{key}.{index}"
        if not isinstance(row, Mapping) or set(row) - ROW_KEYS:
            field.add(here, f"{what} {index + 1} must be an object with key, value, mandatory and secret.")
            continue
        name = row.get("key")
        if header:
            valid = isinstance(name, str) and HEADER_NAME_RE.fullmatch(name)
            if not valid:
                field.add(f"{here}.key", f"{what} {index + 1} needs a name of letters, digits and -_.!#%&'*+^`|~.")
            elif name.lower() in RESERVED_HEADERS:
                field.add(f"{here}.key", f"the {name} header is set by Phonon itself; remove it.")
        elif not isinstance(name, str) or not name.strip() or len(name) > 200:
            field.add(f"{here}.key", f"{what} {index + 1} needs a name.")
        value = clean_template(row.get("value", ""), field, f"{here}.value", f"the value of {what} {name!r}")
        mandatory = row.get("mandatory", False)
        if not isinstance(mandatory, bool):
            field.add(f"{here}.mandatory", f"mandatory of {what} {name!r} must be true or false.")
        secret = row.get("secret", False)
        if not isinstance(secret, bool):
            field.add(f"{here}.secret", f"secret of {what} {name!r} must be true or false.")
        if secret is True:
            cleaned.append(
                {
                    "key": name,
                    **_secret_value(value, name, previous, field, here, what),
                    "mandatory": mandatory,
                    "secret": True,
                }
            )
        else:
            cleaned.append({"key": name, "value": value, "mandatory": mandatory, "secret": False})
    return cleaned


def _secret_value(value: str | None, name: Any, previous: Any, field: FieldErrors, here: str, what: str) -> dict:
    """`{"value_encrypted": …}` for a secret row; {} (an empty value) when none is given or stored."""
    rows = [row for row in previous if isinstance(row, Mapping)] if isinstance(previous, list) else []
    stored = next(
        (row["value_encrypted"] for row in rows if row.get("key") == name and row.get("value_encrypted")), None
    )
    refusal = f'the value "{MASK}" of {what} {name!r} stands for a stored one and no stored {what} has that name'
    encrypted = _kept_secret(value, stored, field, f"{here}.value", refusal)
    return {"value_encrypted": encrypted} if encrypted else {}


def _kept_secret(value: str | None, stored: str | None, field: FieldErrors, key: str, refusal: str) -> str | None:
    """The ciphertext to store for a write-only value (a password, a secret row's value).

    Answers show MASK in its place, so MASK (or a blank) sent back means "keep the stored one";
    MASK with nothing stored is refused rather than saved as the literal text.
    """
    if value and value != MASK:
        return encrypt_secret(value)
    if value == MASK and not stored:
        field.add(key, f"{refusal}; type it, or leave it blank for none.")
    return stored or None


def row_value(row: Mapping[str, Any]) -> str:
    """A header or query-parameter row's value template, decrypted when the row is secret."""
    if row.get("secret"):
        return decrypt_secret(row["value_encrypted"]) if row.get("value_encrypted") else ""
    return row.get("value", "")


def public_webhook_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as answers and pages show it: every secret (the password, a secret row's value)
    is MASK when one is stored and "" when not, never its text, so the config can be sent back as it is.

    `password_set` (read-only, ignored on write) says the same as a masked password; the designer
    and older API clients read it.
    """
    shown = dict(config)
    auth = config.get("auth")
    if isinstance(auth, Mapping):
        shown["auth"] = {key: value for key, value in auth.items() if key not in ("password", "password_encrypted")}
        if auth.get("type") == "basic":
            shown["auth"]["password"] = _masked(auth.get("password_encrypted"))
            shown["auth"]["password_set"] = bool(auth.get("password_encrypted"))
    for key in ROW_LISTS:
        if isinstance(config.get(key), list):
            shown[key] = [_public_row(row) for row in config[key]]
    return shown


def _public_row(row: Any) -> Any:
    if not isinstance(row, Mapping) or not row.get("secret"):
        return row
    shown = {key: value for key, value in row.items() if key != "value_encrypted"}
    shown["value"] = _masked(row.get("value_encrypted"))
    return shown


def _masked(encrypted: str | None) -> str:
    return MASK if encrypted else ""


def _clean_body(body_type: str, body: Any, field: FieldErrors) -> str:
    if body_type not in BODY_TYPES:
        return ""  # the body_type error is already there
    body = clean_template(body, field, "body", "the body", MAX_BODY_LENGTH)
    if body is None:
        return ""
    if body_type == "none":
        return ""
    try:
        validate_body_template(body_type, body)
    except TemplateError as exc:
        field.add("body", str(exc))
    return body


def _clean_mappings(mappings: Any, response_type: str, field: FieldErrors) -> list[dict[str, Any]]:
    if not isinstance(mappings, list):
        field.add("mappings", 'mappings must be a list of {"save_in", "path", "mandatory"} rows.')
        return []
    if len(mappings) > MAX_ROWS:
        field.add("mappings", f"at most {MAX_ROWS} mappings are allowed.")
        return []
    cleaned = []
    targets: set[str] = set()
    for index, row in enumerate(mappings):
        here = f"mappings.{index}"
        if not isinstance(row, Mapping) or set(row) - {"save_in", "path", "mandatory"}:
            field.add(here, f"mapping {index + 1} must be an object with save_in, path and mandatory.")
            continue
        save_in = clean_flow_key(row.get("save_in"), field, f"{here}.save_in", f"mapping {index + 1}")
        if save_in in OUTPUT_VARIABLES or save_in in CACHE_VARIABLES:
            field.add(
                f"{here}.save_in", f"mapping {index + 1}: {save_in} is set by the widget itself; pick another name."
            )
        elif save_in in targets:
            field.add(f"{here}.save_in", f"mapping {index + 1}: {save_in} is already the target of another mapping.")
        elif save_in:
            targets.add(save_in)
        path = row.get("path")
        if not isinstance(path, str) or not path.strip():
            example = "data.order.status" if response_type == "json" else "/order/status"
            field.add(f"{here}.path", f"mapping {index + 1} needs a path, for example {example}.")
        elif response_type in RESPONSE_TYPES:
            try:
                validate_path(path, response_type)
            except InvalidPath as exc:
                field.add(f"{here}.path", f"mapping {index + 1}: {exc}")
        mandatory = row.get("mandatory", False)
        if not isinstance(mandatory, bool):
            field.add(f"{here}.mandatory", f"mandatory of mapping {index + 1} must be true or false.")
        cleaned.append({"save_in": save_in, "path": path, "mandatory": mandatory})
    return cleaned


def _clean_internal(config: Mapping[str, Any], field: FieldErrors) -> dict[str, Any]:
    field.unknown_keys(config, KEYS, "a webhook widget")
    function = config.get("function")
    methods = internal_function_methods(function) if isinstance(function, str) else None
    if methods is None:
        names = ", ".join(internal_function_names()) or "none yet"
        field.add("function", f"the internal function {function!r} does not exist; choose one of: {names}.")
        methods = ()
    method = _upper(config.get("method", "POST" if "POST" in methods or not methods else methods[0]))
    if methods and method not in methods:
        field.add("method", f"the function {function} takes {' or '.join(methods)}, not {method!r}.")
    parameters = config.get("parameters", [])
    if not isinstance(parameters, list) or any(group not in PARAMETER_GROUPS for group in parameters):
        field.add("parameters", f"parameters must be a list drawn from {', '.join(PARAMETER_GROUPS)}.")
        parameters = []
    return {
        "mode": "internal",
        "function": function,
        "method": method,
        "parameters": [group for group in PARAMETER_GROUPS if group in parameters],
        "notes": clean_notes(config, field),
    }


# --- the internal-function catalogue -------------------------------------------------------


def internal_function_names() -> list[str]:
    return sorted(internal_functions.INTERNAL_FUNCTIONS)


def internal_function_methods(name: str) -> tuple[str, ...] | None:
    """The methods an internal function accepts, or None when there is no such function."""
    function = internal_functions.INTERNAL_FUNCTIONS.get(name)
    return None if function is None else tuple(function.methods)
