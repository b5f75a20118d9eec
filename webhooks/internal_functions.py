"""Internal webhooks: pre-made platform functions a call flow can call instead of a URL.

Each function is one handler shared by both ways in: the flow engine calls
`call_internal_function()` in-process (webhook widget, internal mode), and REST clients call
`/internal/v1/<name>/` (token + IP whitelist). The handler's text lands in `$flow.key.<name>`.

Parameters arrive as one mapping in any of these forms, freely mixed (see `FunctionInput`):
flat flow variables (`{"$call.did": "+911234", "$user.key.action": "pause"}`), variable groups
as the widget's `parameters` option chooses them (`{"call": {...}, "flow_key": {...},
"user_key": {...}}`), or plain keys as an HTTP client sends them (`{"number": "+911234"}`).
A function reads a named parameter as a plain key first, then a user key, then a flow key;
call fields (`$call.did`, `$call.cli`) are the fallbacks documented per function.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.db import transaction
from django.utils import timezone

from phone_numbers.models import BlockedCaller, DirectDialNumber, normalise_number, number_variants
from phonon.lib.templating import CALL_PREFIX, FLOW_KEY_PREFIX, USER_KEY_PREFIX

logger = logging.getLogger(__name__)

GROUP_NAMES = {
    "call": "call",
    "flow_key": "flow_key",
    "flow_keys": "flow_key",
    "user_key": "user_key",
    "user_keys": "user_key",
}
VARIABLE_PREFIXES = ((CALL_PREFIX, "call"), (FLOW_KEY_PREFIX, "flow_key"), (USER_KEY_PREFIX, "user_key"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class FunctionInput:
    """The parameters of one call, sorted into the call's fields, flow keys, user keys and plain keys."""

    call: Mapping[str, str] = field(default_factory=dict)
    flow_key: Mapping[str, str] = field(default_factory=dict)
    user_key: Mapping[str, str] = field(default_factory=dict)
    plain: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, Any] | None) -> FunctionInput:
        groups: dict[str, dict[str, str]] = {"call": {}, "flow_key": {}, "user_key": {}, "plain": {}}
        for key, value in (parameters or {}).items():
            key = str(key)
            if key in GROUP_NAMES and isinstance(value, Mapping):
                groups[GROUP_NAMES[key]].update({str(k): _text(v) for k, v in value.items()})
                continue
            for prefix, group in VARIABLE_PREFIXES:
                if key.startswith(prefix):
                    groups[group][key[len(prefix) :]] = _text(value)
                    break
            else:
                groups["plain"][key] = _text(value)
        return cls(**groups)

    def get(self, name: str) -> str:
        """A named parameter: plain key, else `$user.key.<name>`, else `$flow.key.<name>`; '' when unset."""
        for source in (self.plain, self.user_key, self.flow_key):
            if source.get(name, "").strip():
                return source[name].strip()
        return ""


Handler = Callable[[Any, FunctionInput], tuple[bool, str]]


@dataclass(frozen=True)
class FunctionParameter:
    """A named parameter, as the API schema documents it for `/internal/v1/<name>/`."""

    name: str
    description: str


@dataclass(frozen=True)
class InternalFunction:
    name: str
    description: str
    methods: tuple[str, ...]
    handler: Handler
    parameters: tuple[FunctionParameter, ...] = ()
    # True when a call changes the account's data: a widget test then runs it in a transaction it
    # rolls back, unless the user confirms (flows.trial).
    changes_data: bool = False

    @property
    def variable(self) -> str:
        return FLOW_KEY_PREFIX + self.name

    def as_catalogue_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "methods": list(self.methods),
            "variable": self.variable,
            "changes_data": self.changes_data,
        }


# --- cli_pause_update ---------------------------------------------------------------------

PAUSE_ACTIONS = ("pause", "unpause", "toggle")


def cli_pause_update(account, params: FunctionInput) -> tuple[bool, str]:
    """Pause, unpause or toggle one of the account's Direct Dial numbers."""
    number = normalise_number(params.get("number") or params.call.get("did", ""))
    action = (params.get("action") or "toggle").lower()
    if action not in PAUSE_ACTIONS:
        return False, f"The action {action!r} is not known; use pause, unpause or toggle."
    if not number.lstrip("+"):
        return False, "No Direct Dial number was given; pass a number key, or call from a flow so $call.did is set."
    with transaction.atomic():
        direct_dial = (
            DirectDialNumber.objects.for_account(account)
            .select_for_update()
            .filter(number__in=number_variants(number))
            .first()
        )
        if direct_dial is None:
            verb = "paused" if action == "pause" else "unpaused" if action == "unpause" else "paused / unpaused"
            return (
                False,
                f"The Direct Dial {number} could not be {verb} (it is not a Direct Dial number of this account)",
            )
        direct_dial.is_paused = {"pause": True, "unpause": False}.get(action, not direct_dial.is_paused)
        direct_dial.save(update_fields=["is_paused", "updated_at"])
    verb = "paused" if direct_dial.is_paused else "unpaused"
    return True, f"The Direct Dial {direct_dial.number} was successfully {verb}"


# --- business_hours_check -----------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ParameterError(ValueError):
    pass


def parse_days(text: str) -> set[int]:
    """ "mon-fri", "sat,sun", "fri-mon" (wraps) → weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for part in filter(None, (p.strip().lower() for p in text.split(","))):
        first, _, last = part.partition("-")
        try:
            start = WEEKDAYS.index(first[:3])
            end = WEEKDAYS.index(last[:3]) if last else start
        except ValueError:
            raise ParameterError(f"days: {part!r} is not a day or range of days; write e.g. mon-fri or sat,sun.")
        days.update((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return days


def _parse_time(text: str) -> time | None:
    """HH:MM; 24:00 (end of day) is None."""
    if text.strip() == "24:00":
        return None
    try:
        return datetime.strptime(text.strip(), "%H:%M").time()
    except ValueError:
        raise ParameterError(f"hours: {text!r} is not a time; write times as HH:MM, e.g. 09:00-17:30.")


def parse_hours(text: str) -> list[tuple[time, time | None]]:
    """ "09:00-13:00,14:00-18:00" → ranges; an end at or before the start runs past midnight."""
    ranges = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        start, sep, end = part.partition("-")
        if not sep:
            raise ParameterError(f"hours: {part!r} is not a range; write e.g. 09:00-17:30.")
        opening = _parse_time(start)
        if opening is None:
            raise ParameterError("hours: a range cannot start at 24:00.")
        ranges.append((opening, _parse_time(end)))
    if not ranges:
        raise ParameterError("hours: give at least one range, e.g. 09:00-17:30.")
    return ranges


def is_open_at(moment: datetime, days: set[int], ranges: list[tuple[time, time | None]]) -> bool:
    clock = moment.time().replace(tzinfo=None)
    today, yesterday = moment.weekday(), (moment.weekday() - 1) % 7
    for opening, closing in ranges:
        if closing is None or closing > opening:  # the same day
            if today in days and opening <= clock and (closing is None or clock < closing):
                return True
        else:  # past midnight: opened today, or opened yesterday and not closed yet
            if (today in days and clock >= opening) or (yesterday in days and clock < closing):
                return True
    return False


def business_hours_check(account, params: FunctionInput) -> tuple[bool, str]:
    """ "open" or "closed" now, for opening hours given as parameters (defaults: mon-fri 09:00-17:00 UTC)."""
    zone_name = params.get("timezone") or "UTC"
    try:
        zone = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False, f"timezone: {zone_name!r} is not a known time zone; use a name like Asia/Kolkata."
    try:
        days = parse_days(params.get("days") or "mon-fri")
        ranges = parse_hours(params.get("hours") or "09:00-17:00")
    except ParameterError as error:
        return False, str(error)
    return True, "open" if is_open_at(timezone.now().astimezone(zone), days, ranges) else "closed"


# --- caller_blocklist_check ---------------------------------------------------------------


def caller_blocklist_check(account, params: FunctionInput) -> tuple[bool, str]:
    """ "blocked" when the caller is on the account's blocklist, else "allowed"."""
    number = params.get("number") or params.call.get("cli", "")
    variants = number_variants(number)
    if not variants:
        return False, "No caller number was given; pass a number key, or call from a flow so $call.cli is set."
    blocked = BlockedCaller.objects.for_account(account).filter(number__in=variants).exists()
    return True, "blocked" if blocked else "allowed"


INTERNAL_FUNCTIONS: dict[str, InternalFunction] = {
    function.name: function
    for function in (
        InternalFunction(
            name="cli_pause_update",
            description=(
                "Pause, unpause or toggle one of the account's Direct Dial numbers. Parameters: number "
                "(default $call.did), action pause|unpause|toggle (default toggle)."
            ),
            methods=("POST", "PUT"),
            handler=cli_pause_update,
            parameters=(
                FunctionParameter("number", "The Direct Dial number; default $call.did."),
                FunctionParameter("action", "pause, unpause or toggle; default toggle."),
            ),
            changes_data=True,
        ),
        InternalFunction(
            name="business_hours_check",
            description=(
                'Answers "open" or "closed" for the current time. Parameters: hours (default 09:00-17:00; '
                "several ranges comma-separated, a range past midnight allowed), days (default mon-fri), "
                "timezone (default UTC)."
            ),
            methods=("GET", "POST"),
            handler=business_hours_check,
            parameters=(
                FunctionParameter("hours", "Opening hours, e.g. 09:00-13:00,14:00-18:00; default 09:00-17:00."),
                FunctionParameter("days", "Opening days, e.g. mon-fri or sat,sun; default mon-fri."),
                FunctionParameter("timezone", "A time zone name such as Asia/Kolkata; default UTC."),
            ),
        ),
        InternalFunction(
            name="caller_blocklist_check",
            description=(
                'Answers "blocked" when the caller is on the account\'s caller blocklist, else "allowed". '
                "Parameter: number (default $call.cli)."
            ),
            methods=("GET", "POST"),
            handler=caller_blocklist_check,
            parameters=(FunctionParameter("number", "The caller's number; default $call.cli."),),
        ),
    )
}


def call_internal_function(account, name: str, method: str, parameters: dict) -> tuple[bool, str]:
    """Run an internal function for an account; (succeeded, text for $flow.key.<name>)."""
    function = INTERNAL_FUNCTIONS.get(name)
    if function is None:
        known = ", ".join(INTERNAL_FUNCTIONS)
        return False, f"Unknown internal function {name!r}; choose one of {known}."
    method = (method or "").upper()
    if method not in function.methods:
        return False, f"{name} does not accept {method or 'no method'}; use {' or '.join(function.methods)}."
    ok, text = function.handler(account, FunctionInput.from_parameters(parameters))
    logger.info("internal function %s for account %s: %s", name, account.slug, "ok" if ok else "failed")
    return ok, text
