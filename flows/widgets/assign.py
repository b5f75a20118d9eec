"""The assign widget (the operation widget's general assignment): set flow variables from templates.

Its config is a list of assignments (a `$flow.key.` variable and a template) and notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.widgets import SUCCESS_LINE, WidgetOutcome
from flows.widgets.cleaning import MAX_ROWS, FieldErrors, clean_flow_key, clean_notes, clean_template
from phonon.lib.templating import render_text

LINES = (SUCCESS_LINE,)
KEYS = frozenset({"assignments", "notes"})


def clean_assign_config(config: Mapping[str, Any], field: FieldErrors) -> dict[str, Any]:
    field.unknown_keys(config, KEYS, "an assign widget")
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
        variable = clean_flow_key(row.get("variable"), field, f"{here}.variable", f"assignment {index + 1}")
        value = clean_template(row.get("value", ""), field, f"{here}.value", f"the value of assignment {index + 1}")
        if variable is not None and value is not None:
            cleaned.append({"variable": variable, "value": value})
    return {"assignments": cleaned, "notes": clean_notes(config, field)}


def run_assign_widget(config: Mapping[str, Any], variables: Mapping[str, str | None]) -> WidgetOutcome:
    """Render each value as plain text and store it; always leaves on line 0.

    Assignments run in order, like statements: a later value sees the variables an earlier
    assignment of the same widget set.
    """
    current = dict(variables)
    assigned: dict[str, str | None] = {}
    for assignment in config.get("assignments", []):
        value = render_text(assignment["value"], current)
        current[assignment["variable"]] = value
        assigned[assignment["variable"]] = value
    return WidgetOutcome(
        line=SUCCESS_LINE,
        variables=assigned,
        step={"type": "assign", "assigned": list(assigned)},
    )
