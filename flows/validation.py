"""The one judge of a flow (SPEC §6): the graph, each widget's config, and what gets stored.

`validate_flow` takes the wire format as the API, the designer and `seed_demo` receive it and
returns the cleaned flow to store: defaults filled, notes sanitised, basic-auth passwords
encrypted. Every problem is collected (not just the first) under a dotted key naming where it
is ("widgets.w1.config.timeout"), with a sentence that names the widget and says how to fix it.

What is checked at save time and what only at run time:

* A webhook URL's scheme and host must be written literally (variables may only follow the
  host: in the path, query or fragment), so the destination is known when the flow is saved.
  The URL's syntax and scheme are checked (https unless the account has HTTP support), and an
  IP-literal host must pass the network policy. Host names are not looked up here: DNS answers
  change, and the policy runs again before every request and every redirect hop.
* Bodies are checked as templates (`validate_body_template`), mapping paths as paths of the
  declared response type (`validate_path`).

Graph rules: ids are unique; `start` names a widget; webhook widgets have lines "0" and "1",
assign widgets line "0", end widgets none, and every line must go to a widget of the flow (an
unconnected line is "dangling": the execution could not reach an end widget); every widget is
reachable from the start; and from every widget some end widget can be reached (otherwise a
call would loop forever). Loops that can exit (a retry branch) are allowed.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flows.variables import FLOW_KEY_RE, OUTPUT_VARIABLES
from phonon.encryption import encrypt_secret
from phonon.lib.extraction import RESPONSE_TYPES, InvalidPath, validate_path
from phonon.lib.sanitizer import NotesTooLong, check_notes
from phonon.lib.templating import BODY_TYPES, VARIABLE_RE, TemplateError, validate_body_template
from phonon.lib.url_policy import UrlPolicyError, check_url
from webhooks import internal_functions
from webhooks.models import Method

WIDGET_TYPES = ("webhook", "assign", "end")
LINES = {"webhook": ("0", "1"), "assign": ("0",), "end": ()}
MODES = ("custom", "internal")
METHODS = tuple(Method.values)
PARAMETER_GROUPS = ("call", "flow_key", "user_key")
MIN_TIMEOUT, MAX_TIMEOUT = 1, 60

MAX_NAME_LENGTH = 200
MAX_WIDGETS = 200
MAX_ROWS = 50  # headers, query parameters, mappings and assignments, each
MAX_TEMPLATE_LENGTH = 2000  # URLs, header/query values, assignment values
MAX_BODY_LENGTH = 64 * 1024
WIDGET_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# RFC 9110 token characters, without "$" so a variable can never hide in a header name.
HEADER_NAME_RE = re.compile(r"[!#%&'*+\-.^_`|~0-9A-Za-z]{1,100}")
# Headers the HTTP client computes; a widget setting them would corrupt the request.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})

WEBHOOK_DEFAULTS: dict[str, Any] = {
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
}
WEBHOOK_BOOLEANS = ("wait_for_response", "hold_music", "persist_response")
CUSTOM_KEYS = frozenset(WEBHOOK_DEFAULTS) | {"url"}
INTERNAL_KEYS = frozenset({"mode", "function", "method", "parameters", "notes"})
# Either mode's keys are accepted (a designer switching modes may send both); only the chosen
# mode's are stored.
WEBHOOK_KEYS = CUSTOM_KEYS | INTERNAL_KEYS
ASSIGN_KEYS = frozenset({"assignments", "notes"})
END_KEYS = frozenset({"notes"})
WIDGET_KEYS = frozenset({"id", "type", "config", "next"})


class FlowValidationError(Exception):
    """The flow cannot be saved; `errors` maps dotted paths to sentences (a DRF-style 400 body)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(message for messages in errors.values() for message in messages))


class _Errors:
    """Collects messages under dotted keys."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.by_key.setdefault(key, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_key)


def validate_flow(data: Any, *, account, previous: list | None = None) -> dict[str, Any]:
    """The cleaned flow ({name, flow_end_webhook, start, widgets}), or FlowValidationError.

    `previous` is the flow's stored widget list when updating: a basic-auth password left out
    (or blank) keeps the encrypted password of the widget with the same id. See `_clean_auth`
    for empty passwords and how to remove a stored one.
    """
    errors = _Errors()
    if not isinstance(data, Mapping):
        raise FlowValidationError({"": ["Send the flow as a JSON object with name, start and widgets."]})
    unknown = sorted(set(data) - {"name", "flow_end_webhook", "start", "widgets"})
    for key in unknown:
        errors.add(key, f"The flow has an unknown field {key!r}; use name, flow_end_webhook, start and widgets.")

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.add("name", "The flow needs a name.")
    elif len(name.strip()) > MAX_NAME_LENGTH:
        errors.add("name", f"The flow's name is longer than {MAX_NAME_LENGTH} characters; shorten it.")
    flow_end_webhook = data.get("flow_end_webhook", False)
    if not isinstance(flow_end_webhook, bool):
        errors.add("flow_end_webhook", "flow_end_webhook must be true or false.")

    widgets = _clean_widgets(data.get("widgets"), errors, account=account, previous=_by_id(previous))
    # The graph is judged only when every widget could be read; otherwise lines to a widget with,
    # say, a misspelt type would be reported as lines to nowhere.
    graph_readable = widgets is not None and len(widgets) == len(data["widgets"])
    start = data.get("start")
    if not isinstance(start, str) or not start:
        errors.add("start", "The flow needs a start widget; set start to the id of the first widget.")
    elif graph_readable and start not in {widget["id"] for widget in widgets}:
        errors.add("start", f"The start widget {start!r} is not a widget of this flow; set start to one of its ids.")
    elif graph_readable and not errors.by_key.get("widgets"):
        _check_graph(widgets, start, errors)

    if errors:
        raise FlowValidationError(errors.by_key)
    return {"name": name.strip(), "flow_end_webhook": flow_end_webhook, "start": start, "widgets": widgets}


def public_widgets(widgets: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The widgets as the API and the designer show them: no password, just whether one is set."""
    shown = []
    for widget in widgets or []:
        widget = dict(widget)
        config = widget.get("config")
        auth = config.get("auth") if isinstance(config, Mapping) else None
        if isinstance(auth, Mapping):
            auth = {key: value for key, value in auth.items() if key not in ("password", "password_encrypted")}
            if auth.get("type") == "basic":
                auth["password_set"] = bool(config["auth"].get("password_encrypted"))
            widget["config"] = {**config, "auth": auth}
        shown.append(widget)
    return shown


# --- widgets and graph ---------------------------------------------------------------------


def _by_id(widgets: list | None) -> dict[str, Mapping[str, Any]]:
    return {w["id"]: w for w in widgets or [] if isinstance(w, Mapping) and isinstance(w.get("id"), str)}


def _clean_widgets(
    widgets: Any, errors: _Errors, *, account, previous: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]] | None:
    """Each widget cleaned; None when the list itself is unusable (no graph checks then)."""
    if not isinstance(widgets, list) or not widgets:
        errors.add("widgets", "The flow needs a list of widgets with at least one end widget.")
        return None
    if len(widgets) > MAX_WIDGETS:
        errors.add("widgets", f"A flow can have at most {MAX_WIDGETS} widgets; this one has {len(widgets)}.")
        return None
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, widget in enumerate(widgets, start=1):
        if not isinstance(widget, Mapping):
            errors.add("widgets", f"Widget number {number} is not an object with id, type, config and next.")
            continue
        widget_id = widget.get("id")
        if not isinstance(widget_id, str) or not WIDGET_ID_RE.fullmatch(widget_id):
            errors.add(
                "widgets",
                f"Widget number {number} needs an id of 1 to 64 letters, digits, '-' or '_' (for example w{number}).",
            )
            continue
        if widget_id in seen:
            errors.add(f"widgets.{widget_id}.id", f"Widget {widget_id}: the id is used by more than one widget.")
            continue
        seen.add(widget_id)
        cleaned_widget = _clean_widget(widget_id, widget, errors, account=account, previous=previous.get(widget_id))
        if cleaned_widget is not None:
            cleaned.append(cleaned_widget)
    complete = len(cleaned) == len(widgets)  # a widget with a bad type might have been the end
    if complete and not any(widget["type"] == "end" for widget in cleaned):
        errors.add("widgets", "The flow needs at least one end widget, so every call can finish.")
    return cleaned


def _clean_widget(
    widget_id: str, widget: Mapping[str, Any], errors: _Errors, *, account, previous: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    here = f"widgets.{widget_id}"
    for key in sorted(set(widget) - WIDGET_KEYS):
        errors.add(f"{here}.{key}", f"Widget {widget_id}: unknown field {key!r}; use id, type, config and next.")
    widget_type = widget.get("type")
    if widget_type not in WIDGET_TYPES:
        errors.add(
            f"{here}.type", f"Widget {widget_id}: the type {widget_type!r} is unknown; use webhook, assign or end."
        )
        return None
    config = widget.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, Mapping):
        errors.add(f"{here}.config", f"Widget {widget_id}: config must be an object.")
        config = {}
    field = _FieldErrors(errors, widget_id, f"{here}.config")
    if widget_type == "webhook":
        previous_config = previous.get("config") if previous and previous.get("type") == "webhook" else None
        cleaned_config = _clean_webhook(config, field, account=account, previous=previous_config)
    elif widget_type == "assign":
        cleaned_config = _clean_assign(config, field)
    else:
        cleaned_config = _clean_end(config, field)
    return {
        "id": widget_id,
        "type": widget_type,
        "config": cleaned_config,
        "next": _clean_next(widget_id, widget_type, widget.get("next"), errors),
    }


def _clean_next(widget_id: str, widget_type: str, lines: Any, errors: _Errors) -> dict[str, str]:
    here = f"widgets.{widget_id}.next"
    allowed = LINES[widget_type]
    if lines is None:
        lines = {}
    if not isinstance(lines, Mapping):
        errors.add(here, f'Widget {widget_id}: next must be an object like {{"0": "w2"}}.')
        return {}
    cleaned: dict[str, str] = {}
    for line, target in lines.items():
        if line not in allowed:
            if allowed:
                expected = " and ".join(f'"{a}"' for a in allowed)
                article = "an" if widget_type[0] in "aeiou" else "a"
                errors.add(
                    here, f"Widget {widget_id}: {article} {widget_type} widget has line(s) {expected}, not {line!r}."
                )
            else:
                errors.add(here, f"Widget {widget_id}: an end widget has no outgoing lines; remove {line!r}.")
        elif not isinstance(target, str) or not target:
            errors.add(f"{here}.{line}", f"Widget {widget_id}: line {line} is not connected to a widget.")
        else:
            cleaned[line] = target
    for line in allowed:
        if line not in lines:
            errors.add(
                f"{here}.{line}",
                f"Widget {widget_id}: line {line} is not connected; connect it to a widget (an end widget to stop).",
            )
    return cleaned


def _check_graph(widgets: list[dict[str, Any]], start: str, errors: _Errors) -> None:
    by_id = {widget["id"]: widget for widget in widgets}
    for widget in widgets:
        for line, target in widget["next"].items():
            if target not in by_id:
                errors.add(
                    f"widgets.{widget['id']}.next.{line}",
                    f"Widget {widget['id']}: line {line} goes to {target!r}, which is not a widget of this flow.",
                )
    reachable = _walk([start], lambda widget_id: by_id[widget_id]["next"].values(), by_id)
    for widget in widgets:
        if widget["id"] not in reachable:
            errors.add(
                f"widgets.{widget['id']}",
                f"Widget {widget['id']} cannot be reached from the start widget {start}; "
                "connect a line to it or delete it.",
            )
    leads_to = {widget_id: [] for widget_id in by_id}
    for widget in widgets:
        for target in widget["next"].values():
            if target in leads_to:
                leads_to[target].append(widget["id"])
    ends = [widget["id"] for widget in widgets if widget["type"] == "end"]
    can_finish = _walk(ends, leads_to.__getitem__, by_id)
    for widget in widgets:
        if widget["id"] in reachable and widget["id"] not in can_finish:
            errors.add(
                f"widgets.{widget['id']}",
                f"Widget {widget['id']} never leads to an end widget, so a call reaching it would loop forever; "
                "give the loop a way out.",
            )


def _walk(starts: Iterable[str], neighbours: Callable[[str], Iterable[str]], known: Mapping[str, Any]) -> set[str]:
    seen: set[str] = set()
    queue = deque(node for node in starts if node in known)
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        queue.extend(target for target in neighbours(node) if target in known and target not in seen)
    return seen


# --- widget configs ------------------------------------------------------------------------


class _FieldErrors:
    """Errors of one widget's config: `add("timeout", "timeout must be …")` → "Widget w1: timeout must be …"."""

    def __init__(self, errors: _Errors, widget_id: str, prefix: str) -> None:
        self.errors = errors
        self.widget_id = widget_id
        self.prefix = prefix

    def add(self, key: str, message: str, *, bare: bool = False) -> None:
        self.errors.add(f"{self.prefix}.{key}", message if bare else f"Widget {self.widget_id}: {message}")

    def unknown_keys(self, config: Mapping[str, Any], allowed: frozenset[str], kind: str) -> None:
        for key in sorted(set(config) - allowed):
            self.add(str(key), f"{key!r} is not a setting of {kind}; remove it.")


def _clean_notes(config: Mapping[str, Any], field: _FieldErrors) -> str:
    notes = config.get("notes") or ""
    if not isinstance(notes, str):
        field.add("notes", "notes must be text (HTML).")
        return ""
    try:
        return check_notes(notes)
    except NotesTooLong as exc:
        field.add("notes", str(exc), bare=True)
        return ""


def _clean_end(config: Mapping[str, Any], field: _FieldErrors) -> dict[str, Any]:
    field.unknown_keys(config, END_KEYS, "an end widget")
    return {"notes": _clean_notes(config, field)}


def _clean_assign(config: Mapping[str, Any], field: _FieldErrors) -> dict[str, Any]:
    field.unknown_keys(config, ASSIGN_KEYS, "an assign widget")
    assignments = config.get("assignments")
    cleaned: list[dict[str, str]] = []
    if not isinstance(assignments, list) or not assignments:
        field.add("assignments", 'add at least one assignment like {"variable": "$flow.key.x", "value": "$call.cli"}.')
        assignments = []
    elif len(assignments) > MAX_ROWS:
        field.add("assignments", f"at most {MAX_ROWS} assignments are allowed.")
        assignments = []
    for index, row in enumerate(assignments):
        here = f"assignments.{index}"
        if not isinstance(row, Mapping) or set(row) - {"variable", "value"}:
            field.add(here, f"assignment {index + 1} must be an object with variable and value.")
            continue
        variable = _flow_key_name(row.get("variable"), field, f"{here}.variable", f"assignment {index + 1}")
        value = _template(row.get("value", ""), field, f"{here}.value", f"the value of assignment {index + 1}")
        if variable is not None and value is not None:
            cleaned.append({"variable": variable, "value": value})
    return {"assignments": cleaned, "notes": _clean_notes(config, field)}


def _clean_webhook(
    config: Mapping[str, Any], field: _FieldErrors, *, account, previous: Mapping[str, Any] | None
) -> dict[str, Any]:
    mode = config.get("mode", "custom")
    if mode not in MODES:
        field.add("mode", f"mode must be custom or internal, not {mode!r}.")
        return dict(config)
    if mode == "internal":
        return _clean_internal(config, field)
    field.unknown_keys(config, WEBHOOK_KEYS, "a webhook widget")
    cleaned: dict[str, Any] = {"mode": "custom"}
    cleaned["url"] = _clean_url(config.get("url"), field, account=account)
    cleaned["method"] = _choice(config, "method", METHODS, field, upper=True)
    cleaned["auth"] = _clean_auth(config.get("auth", WEBHOOK_DEFAULTS["auth"]), field, previous)
    cleaned["headers"] = _clean_rows(config.get("headers", []), field, "headers", header=True)
    cleaned["query_params"] = _clean_rows(config.get("query_params", []), field, "query_params", header=False)
    cleaned["body_type"] = _choice(config, "body_type", BODY_TYPES, field)
    cleaned["body"] = _clean_body(cleaned["body_type"], config.get("body", ""), field)
    cleaned["response_type"] = _choice(config, "response_type", RESPONSE_TYPES, field)
    cleaned["mappings"] = _clean_mappings(config.get("mappings", []), cleaned["response_type"], field)
    for key in WEBHOOK_BOOLEANS:
        value = config.get(key, WEBHOOK_DEFAULTS[key])
        if not isinstance(value, bool):
            field.add(key, f"{key} must be true or false.")
        cleaned[key] = value
    cleaned["timeout"] = _clean_timeout(config.get("timeout", WEBHOOK_DEFAULTS["timeout"]), field)
    cleaned["notes"] = _clean_notes(config, field)
    return cleaned


def _choice(
    config: Mapping[str, Any], key: str, choices: tuple[str, ...], field: _FieldErrors, *, upper: bool = False
) -> str:
    value = config.get(key, WEBHOOK_DEFAULTS[key])
    if upper:
        value = _upper(value)
    if value not in choices:
        field.add(key, f"{key} must be one of {', '.join(choices)}, not {value!r}.")
    return value


def _upper(value: Any) -> Any:
    """A method in any case ("post", " Get") as stored, upper-case, like the webhooks API does."""
    return value.strip().upper() if isinstance(value, str) else value


def _clean_timeout(value: Any, field: _FieldErrors) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        field.add(
            "timeout",
            f"timeout must be between {MIN_TIMEOUT} and {MAX_TIMEOUT} seconds (a whole number), not {value!r}.",
        )
    return value


def _template(value: Any, field: _FieldErrors, key: str, what: str, limit: int = MAX_TEMPLATE_LENGTH) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        field.add(key, f"{what} must be text.")
        return None
    if len(value) > limit:
        field.add(key, f"{what} is longer than {limit} characters.")
        return None
    return value


def _flow_key_name(value: Any, field: _FieldErrors, key: str, what: str) -> str | None:
    """A `$flow.key.NAME` target (`${flow.key.NAME}` is accepted and stored without braces)."""
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        value = "$" + value[2:-1]
    if not isinstance(value, str) or not FLOW_KEY_RE.fullmatch(value):
        field.add(
            key,
            f"{what} must be saved in a flow variable like $flow.key.order_status "
            "(letters, digits and underscores after $flow.key.).",
        )
        return None
    return value


def _clean_url(url: Any, field: _FieldErrors, *, account) -> str:
    if not isinstance(url, str) or not url.strip():
        field.add("url", "the URL is required, for example https://api.example.com/orders/$call.cli.")
        return url if isinstance(url, str) else ""
    url = url.strip()
    if len(url) > MAX_TEMPLATE_LENGTH:
        field.add("url", f"the URL is longer than {MAX_TEMPLATE_LENGTH} characters.")
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
    sample = VARIABLE_RE.sub("0", url)
    if "@" in sample.split("//", 1)[-1].split("/", 1)[0]:
        field.add("url", "the URL must not contain a user name or password; use basic authentication instead.")
        return url
    try:
        check_url(
            sample,
            **account.url_policy(),
            resolve=_no_lookup,
        )
    except UrlPolicyError as refusal:
        if refusal.code != "dns":  # names are resolved before each request, not at save time
            field.add("url", refusal.reason)
    return url


def _authority_is_literal(prefix: str) -> bool:
    """True when `prefix` (the URL before its first variable) holds the whole scheme://host[:port]."""
    scheme, separator, rest = prefix.partition("://")
    return bool(scheme and separator) and any(mark in rest for mark in "/?#")


def _no_lookup(host: str, port: int) -> list[str]:
    raise OSError("host names are not resolved when a flow is saved")


def _clean_auth(auth: Any, field: _FieldErrors, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """Basic auth needs a user name; the password may be empty (some APIs take a key as the user
    name), as for registered webhooks.

    A blank or missing password keeps the one stored for this widget, if any, else it is empty
    (stored as no `password_encrypted`). To remove a stored password, save the widget with auth
    type none once (that drops it) and then with basic again: the same rule as webhooks.
    """
    if not isinstance(auth, Mapping) or auth.get("type") not in ("none", "basic"):
        field.add("auth", 'auth must be {"type": "none"} or {"type": "basic", "username": …, "password": …}.')
        return {"type": "none"}
    if auth["type"] == "none":
        return {"type": "none"}
    username = auth.get("username")
    if not isinstance(username, str) or not username or ":" in username or len(username) > 200:
        field.add("auth.username", "basic authentication needs a user name (without ':').")
    password = auth.get("password")
    if password not in (None, "") and not isinstance(password, str):
        field.add("auth.password", "the password must be text.")
        return {"type": "basic", "username": username}
    if password:
        return {"type": "basic", "username": username, "password_encrypted": encrypt_secret(password)}
    previous_auth = previous.get("auth") if previous else None
    if isinstance(previous_auth, Mapping) and previous_auth.get("password_encrypted"):
        return {"type": "basic", "username": username, "password_encrypted": previous_auth["password_encrypted"]}
    return {"type": "basic", "username": username}  # an empty password


def _clean_rows(rows: Any, field: _FieldErrors, key: str, *, header: bool) -> list[dict[str, Any]]:
    what = "header" if header else "query parameter"
    if not isinstance(rows, list):
        field.add(key, f'{key} must be a list of {{"key", "value", "mandatory"}} rows.')
        return []
    if len(rows) > MAX_ROWS:
        field.add(key, f"at most {MAX_ROWS} {what}s are allowed.")
        return []
    cleaned = []
    for index, row in enumerate(rows):
        here = f"{key}.{index}"
        if not isinstance(row, Mapping) or set(row) - {"key", "value", "mandatory"}:
            field.add(here, f"{what} {index + 1} must be an object with key, value and mandatory.")
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
        value = _template(row.get("value", ""), field, f"{here}.value", f"the value of {what} {name!r}")
        mandatory = row.get("mandatory", False)
        if not isinstance(mandatory, bool):
            field.add(f"{here}.mandatory", f"mandatory of {what} {name!r} must be true or false.")
        cleaned.append({"key": name, "value": value, "mandatory": mandatory})
    return cleaned


def _clean_body(body_type: str, body: Any, field: _FieldErrors) -> str:
    if body_type not in BODY_TYPES:
        return ""  # the body_type error is already there
    body = _template(body, field, "body", "the body", MAX_BODY_LENGTH)
    if body is None:
        return ""
    if body_type == "none":
        return ""
    try:
        validate_body_template(body_type, body)
    except TemplateError as exc:
        field.add("body", str(exc))
    return body


def _clean_mappings(mappings: Any, response_type: str, field: _FieldErrors) -> list[dict[str, Any]]:
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
        save_in = _flow_key_name(row.get("save_in"), field, f"{here}.save_in", f"mapping {index + 1}")
        if save_in in OUTPUT_VARIABLES:
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


def _clean_internal(config: Mapping[str, Any], field: _FieldErrors) -> dict[str, Any]:
    field.unknown_keys(config, WEBHOOK_KEYS, "a webhook widget")
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
        "notes": _clean_notes(config, field),
    }


# --- the internal-function catalogue -------------------------------------------------------


def _catalogue() -> dict[str, Any]:
    """`webhooks.internal_functions.INTERNAL_FUNCTIONS` by name (a mapping or a list of named entries)."""
    functions = getattr(internal_functions, "INTERNAL_FUNCTIONS", None) or {}
    if isinstance(functions, Mapping):
        return dict(functions)
    return {_read(function, "name"): function for function in functions}


def _read(entry: Any, key: str) -> Any:
    return entry.get(key) if isinstance(entry, Mapping) else getattr(entry, key, None)


def internal_function_names() -> list[str]:
    return sorted(_catalogue())


def internal_function_methods(name: str) -> tuple[str, ...] | None:
    """The methods an internal function accepts, or None when there is no such function."""
    entry = _catalogue().get(name)
    if entry is None:
        return None
    return tuple(_read(entry, "methods") or ())
