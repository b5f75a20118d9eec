"""What every widget type's config cleaning shares: errors under dotted keys, notes, templates.

A widget module (`flows/widgets/<type>.py`) cleans its own config with these; `flows.validation`
collects the errors of the whole flow and judges the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.variables import FLOW_KEY_RE
from phonon.lib.sanitizer import NotesTooLong, check_notes

MAX_ROWS = 50  # headers, query parameters, mappings and assignments, each
MAX_TEMPLATE_LENGTH = 2000  # URLs, header/query values, assignment values


class Errors:
    """Collects messages under dotted keys."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.by_key.setdefault(key, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.by_key)


class FieldErrors:
    """Errors of one widget's config: `add("timeout", "timeout must be …")` → "Widget w1: timeout must be …".

    Without a `widget_id` (a config tested on its own) the messages name no widget.
    """

    def __init__(self, errors: Errors, widget_id: str | None, prefix: str) -> None:
        self.errors = errors
        self.widget_id = widget_id
        self.prefix = prefix

    def add(self, key: str, message: str, *, bare: bool = False) -> None:
        named = not bare and self.widget_id is not None
        self.errors.add(f"{self.prefix}.{key}", f"Widget {self.widget_id}: {message}" if named else message)

    def unknown_keys(self, config: Mapping[str, Any], allowed: frozenset[str], kind: str) -> None:
        for key in sorted(set(config) - allowed):
            self.add(str(key), f"{key!r} is not a setting of {kind}; remove it.")


def clean_notes(config: Mapping[str, Any], field: FieldErrors) -> str:
    notes = config.get("notes") or ""
    if not isinstance(notes, str):
        field.add("notes", "notes must be text (HTML).")
        return ""
    try:
        return check_notes(notes)
    except NotesTooLong as exc:
        field.add("notes", str(exc), bare=True)
        return ""


def clean_template(value: Any, field: FieldErrors, key: str, what: str, limit: int = MAX_TEMPLATE_LENGTH) -> str | None:
    if value is None:
        value = ""
    if not isinstance(value, str):
        field.add(key, f"{what} must be text.")
        return None
    if len(value) > limit:
        field.add(key, f"{what} is longer than {limit} characters.")
        return None
    return value


def clean_flow_key(value: Any, field: FieldErrors, key: str, what: str) -> str | None:
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
