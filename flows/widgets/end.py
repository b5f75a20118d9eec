"""The end widget: the call's flow stops here (the engine records the step); only notes to clean."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flows.widgets.cleaning import FieldErrors, clean_notes

LINES: tuple[str, ...] = ()
KEYS = frozenset({"notes"})


def clean_end_config(config: Mapping[str, Any], field: FieldErrors) -> dict[str, Any]:
    field.unknown_keys(config, KEYS, "an end widget")
    return {"notes": clean_notes(config, field)}
