"""The one judge of a flow (SPEC §6): the graph, each widget's config, and what gets stored.

`validate_flow` takes the wire format as the API, the designer and `seed_demo` receive it and
returns the cleaned flow to store: defaults filled, notes sanitised, basic-auth passwords
encrypted. Every problem is collected (not just the first) under a dotted key naming where it
is ("widgets.w1.config.timeout"), with a sentence that names the widget and says how to fix it.

Each widget type's config is cleaned by its own module (`flows/widgets/<type>.py`: the webhook's
in `webhook_config`), which also says what a config may hold and when; this module dispatches
to them, collects their errors and judges the graph.

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

from flows.widgets import assign, end, webhook_config
from flows.widgets.cleaning import Errors, FieldErrors

WIDGET_TYPES = ("webhook", "assign", "end")
LINES = {"webhook": webhook_config.LINES, "assign": assign.LINES, "end": end.LINES}
MAX_NAME_LENGTH = 200
MAX_LABEL_LENGTH = 60  # a widget's optional label, shown on its box and in executions
MAX_WIDGETS = 200
WIDGET_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
WIDGET_KEYS = frozenset({"id", "type", "label", "config", "next"})


class FlowValidationError(Exception):
    """The flow cannot be saved; `errors` maps dotted paths to sentences (a DRF-style 400 body)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(message for messages in errors.values() for message in messages))


def validate_flow(data: Any, *, account, previous: list | None = None) -> dict[str, Any]:
    """The cleaned flow ({name, flow_end_webhook, start, widgets}), or FlowValidationError.

    `previous` is the flow's stored widget list when updating: a basic-auth password left out,
    blank or "***" keeps the encrypted password of the widget with the same id. See
    `webhook_config._clean_auth` for empty passwords and how to remove a stored one.
    """
    errors = Errors()
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
    """The widgets as the API and the pages show them: no password or secret value, just whether one is set."""
    shown = []
    for widget in widgets or []:
        widget = dict(widget)
        config = widget.get("config")
        if widget.get("type") == "webhook" and isinstance(config, Mapping):
            widget["config"] = webhook_config.public_webhook_config(config)
        shown.append(widget)
    return shown


# --- widgets and graph ---------------------------------------------------------------------


def _by_id(widgets: list | None) -> dict[str, Mapping[str, Any]]:
    return {w["id"]: w for w in widgets or [] if isinstance(w, Mapping) and isinstance(w.get("id"), str)}


def _clean_widgets(
    widgets: Any, errors: Errors, *, account, previous: Mapping[str, Mapping[str, Any]]
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
    widget_id: str, widget: Mapping[str, Any], errors: Errors, *, account, previous: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    here = f"widgets.{widget_id}"
    for key in sorted(set(widget) - WIDGET_KEYS):
        errors.add(f"{here}.{key}", f"Widget {widget_id}: unknown field {key!r}; use id, type, label, config and next.")
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
    field = FieldErrors(errors, widget_id, f"{here}.config")
    if widget_type == "webhook":
        previous_config = previous.get("config") if previous and previous.get("type") == "webhook" else None
        cleaned_config = webhook_config.clean_webhook_config(config, field, account=account, previous=previous_config)
    elif widget_type == "assign":
        cleaned_config = assign.clean_assign_config(config, field)
    else:
        cleaned_config = end.clean_end_config(config, field)
    label = _clean_label(widget_id, widget.get("label"), errors)
    return {
        "id": widget_id,
        "type": widget_type,
        **({"label": label} if label else {}),
        "config": cleaned_config,
        "next": _clean_next(widget_id, widget_type, widget.get("next"), errors),
    }


def _clean_label(widget_id: str, label: Any, errors: Errors) -> str:
    """The optional label: one line of text; the id stays what lines and executions refer to."""
    if label is None:
        return ""
    if not isinstance(label, str) or any(ord(character) < 32 for character in label):
        errors.add(f"widgets.{widget_id}.label", f"Widget {widget_id}: the label must be one line of text.")
        return ""
    label = label.strip()
    if len(label) > MAX_LABEL_LENGTH:
        errors.add(
            f"widgets.{widget_id}.label",
            f"Widget {widget_id}: the label can be at most {MAX_LABEL_LENGTH} characters; it has {len(label)}.",
        )
    return label


def _clean_next(widget_id: str, widget_type: str, lines: Any, errors: Errors) -> dict[str, str]:
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


def _check_graph(widgets: list[dict[str, Any]], start: str, errors: Errors) -> None:
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
    # A widget with a line not connected (or going nowhere) is told so; it is not also told that
    # calls through it would loop forever: its open line may well go on to an end.
    ends = [
        widget["id"]
        for widget in widgets
        if widget["type"] == "end"
        or len(widget["next"]) < len(LINES[widget["type"]])
        or any(target not in by_id for target in widget["next"].values())
    ]
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
