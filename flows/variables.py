"""The flat variable map of an execution: full names as keys ("$call.cli", "$flow.key.x").

Every value is a string or None (SPEC §6: booleans are "true"/"false", numbers their text), so
templates, reports and the flow end webhook never meet another type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from phonon.lib import outbound, resilience
from phonon.lib.extraction import value_text
from phonon.lib.templating import CALL_PREFIX, FLOW_KEY_PREFIX, USER_KEY_PREFIX

# The names a template can address (phonon.lib.templating.VARIABLE_RE uses the same rule).
NAME_RE = re.compile(r"[A-Za-z0-9_]+")
FLOW_KEY_RE = re.compile(re.escape(FLOW_KEY_PREFIX) + r"(?P<name>[A-Za-z0-9_]+)")

# The call fields SPEC §7 names; a call may carry any subset.
CALL_FIELDS = (
    "cli",
    "did",
    "callee",
    "incoming",
    "state",
    "start",
    "connect_time",
    "end_time",
    "duration",
    "hangup_cause",
)


def flow_key(name: str) -> str:
    """ "order_status" → "$flow.key.order_status"."""
    return FLOW_KEY_PREFIX + name


# The webhook widget's output variables (SPEC §6), set by every custom-mode webhook widget.
RESPONSE_STATUS = flow_key("response_status")
RESPONSE_STATUS_CODE = flow_key("response_status_code")
RESPONSE_STATUS_TYPE = flow_key("response_status_type")
RESPONSE_DURATION = flow_key("response_duration")
RESPONSE_RAW = flow_key("response_raw")
RESPONSE_ERROR = flow_key("response_error")
ERROR_REASON = flow_key("error_reason")
OUTPUT_VARIABLES = (
    RESPONSE_STATUS,
    RESPONSE_STATUS_CODE,
    RESPONSE_STATUS_TYPE,
    RESPONSE_DURATION,
    RESPONSE_RAW,
    RESPONSE_ERROR,
    ERROR_REASON,
)

# Set by a webhook widget with a cache (SPEC §15): "true"/"false".
RESPONSE_CACHED = flow_key("response_cached")
RESPONSE_STALE = flow_key("response_stale")
CACHE_VARIABLES = (RESPONSE_CACHED, RESPONSE_STALE)

SUCCESS = "SUCCESS"
FAILED = "FAILED"


class ErrorReason:
    """The values of $flow.key.error_reason (SPEC §6), which deliveries log and the designer lists.

    The outbound client's own failures (no answer, or one it would not read) are its reasons,
    defined beside it in the Django-free phonon.lib.outbound; the rest judge an answer it got.
    """

    CLIENT_ERROR = "CLIENT_ERROR"
    SERVER_ERROR = "SERVER_ERROR"
    REDIRECTION = outbound.REDIRECTION
    TIMEOUT = outbound.TIMEOUT
    CONNECTION_ERROR = outbound.CONNECTION_ERROR
    BLOCKED_DESTINATION = outbound.BLOCKED_DESTINATION
    INVALID_RESPONSE = "INVALID_RESPONSE"
    RESPONSE_TOO_LARGE = outbound.RESPONSE_TOO_LARGE
    MANDATORY_FIELD_MISSING = "MANDATORY_FIELD_MISSING"
    MANDATORY_PARAMETER_MISSING = "MANDATORY_PARAMETER_MISSING"
    CIRCUIT_OPEN = resilience.CIRCUIT_OPEN
    ENDPOINT_BUSY = resilience.ENDPOINT_BUSY

    ALL = (
        CLIENT_ERROR,
        SERVER_ERROR,
        REDIRECTION,
        TIMEOUT,
        CONNECTION_ERROR,
        BLOCKED_DESTINATION,
        INVALID_RESPONSE,
        RESPONSE_TOO_LARGE,
        MANDATORY_FIELD_MISSING,
        MANDATORY_PARAMETER_MISSING,
        CIRCUIT_OPEN,
        ENDPOINT_BUSY,
    )


def invalid_names(values: Mapping[str, Any]) -> list[str]:
    """Keys a template could never address ("first name", "lang-code"): for the API to refuse."""
    return [key for key in values if not (isinstance(key, str) and NAME_RE.fullmatch(key))]


def initial_variables(call: Mapping[str, Any], user_keys: Mapping[str, Any]) -> dict[str, str | None]:
    """The variables an execution starts with: `$call.<field>` and `$user.key.<name>`.

    Values become text (True → "true", 5 → "5", None stays None). Keys that are not variable
    names are skipped here; the API refuses them first (see `invalid_names`).
    """
    variables: dict[str, str | None] = {}
    for prefix, values in ((CALL_PREFIX, call), (USER_KEY_PREFIX, user_keys)):
        for key, value in (values or {}).items():
            if isinstance(key, str) and NAME_RE.fullmatch(key):
                variables[prefix + key] = value_text(value)
    return variables


def variables_with_prefix(variables: Mapping[str, str | None], prefix: str) -> dict[str, str | None]:
    return {name: value for name, value in variables.items() if name.startswith(prefix)}
