"""What one widget does when a call reaches it; the engine walks the graph and keeps the record.

Each widget function returns a `WidgetOutcome`: the line to leave on, the variables to merge
into the execution's flat map, the variable names to keep as report UDFs, and the details the
engine stores in the execution's step for this widget.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUCCESS_LINE = "0"
FAILURE_LINE = "1"


@dataclass
class WidgetOutcome:
    line: str  # "0" success, "1" failure
    variables: dict[str, str | None] = field(default_factory=dict)
    persisted: list[str] = field(default_factory=list)  # names to keep as report UDFs
    step: dict = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.line == SUCCESS_LINE
