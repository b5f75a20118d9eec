"""The assign widget (the operation widget's general assignment): set flow variables from templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.widgets import SUCCESS_LINE, WidgetOutcome
from phonon.lib.templating import render_text


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
