"""What changed between two revisions of a flow (SPEC §14): Django-free, no I/O.

A flow is compared as the SPEC §6 wire format: `{name, flow_end_webhook, start, widgets}`, each
widget `{id, type, config, next}`. Widgets are matched by id, so moving a box on the canvas or
reordering the list is no change.

Guarantees:

* `flow_changes(old, new)` lists widgets added, removed and changed (with the top-level widget
  fields that changed: `type`, `config.url`, `next.1`, …) and the flow's own settings that
  changed. `old` None (the first revision) makes every widget "added".
* `widget_diff(old, new)` gives every leaf that differs as `{path, old, new}`, paths dotted
  (`config.mappings.0.path`); a missing side is None.
* Values under a key named in `secret_keys` are never returned: both sides read `"***"`, so a
  changed password shows as changed without showing either password.
* The output is JSON-ready (lists and dicts of strings), sorted, and the same for the same input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FLOW_SETTINGS = ("name", "flow_end_webhook", "start")
HIDDEN = "***"
DEFAULT_SECRET_KEYS = frozenset({"password", "password_encrypted", "value_encrypted"})
_MISSING = object()


def flow_changes(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], *, secret_keys: frozenset[str] = DEFAULT_SECRET_KEYS
) -> dict[str, Any]:
    """`{added: [ids], removed: [ids], changed: {id: [fields]}, settings: [names]}` from `old` to `new`."""
    old = old or {}
    old_widgets, new_widgets = _by_id(old.get("widgets")), _by_id(new.get("widgets"))
    changed = {}
    for widget_id in sorted(old_widgets.keys() & new_widgets.keys()):
        fields = changed_fields(old_widgets[widget_id], new_widgets[widget_id], secret_keys=secret_keys)
        if fields:
            changed[widget_id] = fields
    return {
        "added": sorted(new_widgets.keys() - old_widgets.keys()),
        "removed": sorted(old_widgets.keys() - new_widgets.keys()),
        "changed": changed,
        "settings": [name for name in FLOW_SETTINGS if old and old.get(name) != new.get(name)],
    }


def changed_fields(
    old: Mapping[str, Any], new: Mapping[str, Any], *, secret_keys: frozenset[str] = DEFAULT_SECRET_KEYS
) -> list[str]:
    """The widget's fields that differ, one level into `config` and `next` (`config.url`, `next.0`)."""
    fields = set()
    for entry in widget_diff(old, new, secret_keys=secret_keys):
        parts = entry["path"].split(".")
        fields.add(".".join(parts[:2]) if parts[0] in ("config", "next") and len(parts) > 1 else parts[0])
    return sorted(fields)


def widget_diff(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
    *,
    secret_keys: frozenset[str] = DEFAULT_SECRET_KEYS,
) -> list[dict[str, Any]]:
    """Every differing leaf of two versions of one widget: `[{path, old, new}]`, sorted by path."""
    differences: list[dict[str, Any]] = []
    _compare(old if old is not None else _MISSING, new if new is not None else _MISSING, "", secret_keys, differences)
    return sorted(differences, key=lambda entry: _path_key(entry["path"]))


def _compare(old: Any, new: Any, path: str, secret_keys: frozenset[str], out: list[dict[str, Any]]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        # A row marked secret on either side hides its value on both: ticking Secret on a key that
        # was plain must not leave it readable in the history.
        hidden = secret_keys | {"value"} if old.get("secret") or new.get("secret") else secret_keys
        for key in sorted(set(old) | set(new), key=str):
            child = f"{path}.{key}" if path else str(key)
            if key in hidden:
                if old.get(key, _MISSING) != new.get(key, _MISSING):
                    out.append(
                        {"path": child, "old": _hidden(old.get(key, _MISSING)), "new": _hidden(new.get(key, _MISSING))}
                    )
                continue
            _compare(old.get(key, _MISSING), new.get(key, _MISSING), child, secret_keys, out)
        return
    if isinstance(old, list) and isinstance(new, list):
        # Rows are compared by position; a row whose name is marked secret in either version hides
        # its value wherever it stands (moved up, or a plain row shifted into its place).
        secret_names = {row.get("key") for row in (*old, *new) if isinstance(row, Mapping) and row.get("secret")}
        for index in range(max(len(old), len(new))):
            pair = (old[index] if index < len(old) else _MISSING, new[index] if index < len(new) else _MISSING)
            named_secret = any(isinstance(row, Mapping) and row.get("key") in secret_names for row in pair)
            child = f"{path}.{index}" if path else str(index)
            _compare(*pair, child, secret_keys | {"value"} if named_secret else secret_keys, out)
        return
    if old is _MISSING and new is _MISSING:
        return
    if (isinstance(old, (Mapping, list)) and new is _MISSING) or (old is _MISSING and isinstance(new, (Mapping, list))):
        # A whole branch added or removed: list its leaves, so every path reads alike.
        added = old is _MISSING
        for leaf_path, value in _leaves(new if added else old, path, secret_keys):
            out.append({"path": leaf_path, "old": None if added else value, "new": value if added else None})
        return
    if old != new or type(old) is not type(new):
        out.append({"path": path, "old": _plain(old), "new": _plain(new)})


def _leaves(value: Any, path: str, secret_keys: frozenset[str]):
    if isinstance(value, Mapping):
        if not value:
            yield path, {}
        for key in sorted(value, key=str):
            child = f"{path}.{key}" if path else str(key)
            if key in secret_keys:
                yield child, HIDDEN
            else:
                yield from _leaves(value[key], child, secret_keys)
    elif isinstance(value, list):
        if not value:
            yield path, []
        for index, item in enumerate(value):
            yield from _leaves(item, f"{path}.{index}" if path else str(index), secret_keys)
    else:
        yield path, value


def _hidden(value: Any) -> str | None:
    return None if value is _MISSING or value in (None, "") else HIDDEN


def _plain(value: Any) -> Any:
    return None if value is _MISSING else value


def _path_key(path: str) -> list[tuple[int, Any]]:
    """Sort `mappings.10` after `mappings.9`."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in path.split(".")]


def _by_id(widgets: Any) -> dict[str, Mapping[str, Any]]:
    if not isinstance(widgets, list):
        return {}
    return {w["id"]: w for w in widgets if isinstance(w, Mapping) and isinstance(w.get("id"), str)}
