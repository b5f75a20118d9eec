"""Test cases (SPEC §14): a call with pinned webhook answers, rehearsed on a revision with the engine.

`rehearse()` walks the revision with flows.engine.Walk — the engine's own run path — with the
network replaced at its one point (`Walk.send`) by the case's pinned answers, and internal
functions by them too: nothing is sent, no execution or delivery is written, no Direct Dial
number is paused. The result says `passed` and lists the differences from what the case expects.

Decisions where SPEC §14 is silent:

* A pinned answer is `{status_code, headers, body}`; for an outcome without an answer (a
  timeout, say) it may instead carry `error_reason` (TIMEOUT, CONNECTION_ERROR,
  BLOCKED_DESTINATION, RESPONSE_TOO_LARGE, REDIRECTION) with `status_code` null. An internal-mode
  widget's pinned answer gives its result text as `body`, succeeding on a 2xx `status_code`.
* Only the variables the case names are compared; the path is compared whole.
* A case made from an execution expects the path it took and every `$flow.key.` variable it
  ended with but `response_duration` (time is not behaviour). A widget visited several times
  pins its first answer. An answer over the step's kept size (KEPT_ANSWER_BYTES) cannot be
  pinned from the execution: saving says which widget, so it can be pinned by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from flows.engine import Walk, WalkStopped
from flows.models import Execution, Flow, FlowTestCase
from flows.variables import FLOW_KEY_PREFIX, RESPONSE_DURATION, initial_variables
from flows.widgets.cleaning import Errors
from flows.widgets.webhook import encode_body
from phonon.lib import outbound
from phonon.lib.outbound import OutboundResult

MAX_TEST_CASES = 100  # per flow: every publish rehearses them all
NO_ANSWER_REASONS = (
    outbound.TIMEOUT,
    outbound.CONNECTION_ERROR,
    outbound.BLOCKED_DESTINATION,
    outbound.RESPONSE_TOO_LARGE,
    outbound.REDIRECTION,
)
ANSWER_KEYS = frozenset({"status_code", "headers", "body", "error_reason"})
EXPECT_KEYS = frozenset({"path", "variables"})
UNCOMPARED_VARIABLES = frozenset({RESPONSE_DURATION})


# --- what a case may hold ----------------------------------------------------------------------


def clean_responses(responses: Any, errors: Errors) -> dict[str, dict[str, Any]]:
    """`{widget_id: {status_code, headers, body}}`, each answer at most WEBHOOK_MAX_RESPONSE_BYTES."""
    if not isinstance(responses, Mapping):
        errors.add("responses", 'Send responses as an object: {"widget id": {"status_code", "headers", "body"}}.')
        return {}
    cleaned = {}
    limit = settings.WEBHOOK_MAX_RESPONSE_BYTES
    for widget_id, answer in responses.items():
        key = f"responses.{widget_id}"
        if not isinstance(answer, Mapping):
            errors.add(key, f"Widget {widget_id}'s pinned answer must be an object with status_code, headers and body.")
            continue
        unknown = sorted(set(answer) - ANSWER_KEYS)
        if unknown:
            errors.add(key, f"Widget {widget_id}'s pinned answer has unknown field(s) {', '.join(unknown)}.")
        reason = answer.get("error_reason")
        status_code = answer.get("status_code")
        if reason is not None and reason not in NO_ANSWER_REASONS:
            errors.add(
                f"{key}.error_reason", f"error_reason must be one of {', '.join(NO_ANSWER_REASONS)}, or left out."
            )
        if reason is None and (not isinstance(status_code, int) or isinstance(status_code, bool)):
            errors.add(f"{key}.status_code", f"Widget {widget_id}'s pinned answer needs a status_code, e.g. 200.")
        elif status_code is not None and not (isinstance(status_code, int) and 100 <= status_code <= 599):
            errors.add(f"{key}.status_code", "status_code must be a number from 100 to 599.")
        headers = answer.get("headers", {})
        if not isinstance(headers, Mapping) or not all(
            isinstance(name, str) and isinstance(value, str) for name, value in headers.items()
        ):
            errors.add(
                f"{key}.headers", 'headers must be an object of text values, e.g. {"Content-Type": "application/json"}.'
            )
            headers = {}
        body = answer.get("body", "")
        if not isinstance(body, str):
            errors.add(f"{key}.body", "body must be the answer's text (a string).")
            body = ""
        size = len(encode_body(body, headers))
        if size > limit:
            errors.add(
                f"{key}.body",
                f"Widget {widget_id}'s pinned answer is {size} bytes; answers over WEBHOOK_MAX_RESPONSE_BYTES "
                f"({limit}) fail with RESPONSE_TOO_LARGE, so pin error_reason RESPONSE_TOO_LARGE instead.",
            )
        cleaned[str(widget_id)] = {
            "status_code": status_code,
            "headers": dict(headers),
            "body": body,
            **({"error_reason": reason} if reason else {}),
        }
    return cleaned


def clean_expect(expect: Any, errors: Errors) -> dict[str, Any]:
    """`{path: [widget ids], variables: {"$flow.key.x": value}}`."""
    if not isinstance(expect, Mapping):
        errors.add("expect", 'Send expect as an object: {"path": [widget ids], "variables": {name: value}}.')
        return {}
    for key in sorted(set(expect) - EXPECT_KEYS):
        errors.add(f"expect.{key}", f"expect has an unknown field {key!r}; use path and variables.")
    path = expect.get("path", [])
    if not isinstance(path, list) or not all(isinstance(item, str) for item in path):
        errors.add("expect.path", "path lists the ids of the widgets visited, in order, the end widget included.")
        path = []
    variables = expect.get("variables", {})
    if not isinstance(variables, Mapping):
        errors.add("expect.variables", 'variables is an object of full names and values, e.g. {"$flow.key.st": "ok"}.')
        variables = {}
    for name, value in variables.items():
        if not name.startswith("$"):
            errors.add("expect.variables", f"{name!r}: give the full name, e.g. $flow.key.{name}.")
        if value is not None and not isinstance(value, str):
            errors.add("expect.variables", f"{name}: flow variables are text or null; give {str(value)!r} in quotes.")
    return {"path": path, "variables": dict(variables)}


# --- rehearsing ------------------------------------------------------------------------------


class Rehearsal(Walk):
    """One case walked on one revision, its answers pinned."""

    def __init__(self, content: Mapping[str, Any], case: FlowTestCase, *, account) -> None:
        super().__init__(
            widgets=content["widgets"],
            start=content["start"],
            account=account,
            variables=initial_variables(case.call or {}, case.user_keys or {}),
            label=f"test case {case.pk}",
        )
        self.responses = case.responses or {}
        self.missing: list[str] = []

    def run_widget(self, widget: dict[str, Any]) -> str:
        # Bound per widget, so a no-wait request (sent from a thread) answers from its own widget's pin.
        self.send = lambda prepared, widget_id=widget["id"]: self.pinned_result(widget_id)
        self.call_internal = lambda *args, widget_id=widget["id"], **kwargs: self.pinned_internal(widget_id)
        return super().run_widget(widget)

    def pinned(self, widget_id: str) -> dict[str, Any]:
        answer = self.responses.get(widget_id)
        if answer is None:
            self.missing.append(widget_id)
            raise WalkStopped(no_answer_sentence(widget_id))
        return answer

    def pinned_result(self, widget_id: str) -> OutboundResult:
        answer = self.pinned(widget_id)
        headers = answer.get("headers") or {}
        return OutboundResult(
            status_code=answer.get("status_code"),
            headers=headers,
            body=encode_body(answer.get("body") or "", headers),
            error_reason=answer.get("error_reason"),
            error_detail="A pinned answer (test case)." if answer.get("error_reason") else "",
        )

    def pinned_internal(self, widget_id: str) -> tuple[bool, str]:
        answer = self.pinned(widget_id)
        status_code = answer.get("status_code") or 0
        return 200 <= status_code < 300, answer.get("body") or ""


def no_answer_sentence(widget_id: str) -> str:
    return f"Webhook widget {widget_id} has no pinned answer; add one to the case's responses."


def rehearse(case: FlowTestCase, content: Mapping[str, Any], *, account) -> dict[str, Any]:
    """Walk `content` (a revision's wire format) for the case: `{id, name, passed, differences, path, variables}`."""
    rehearsal = Rehearsal(content, case, account=account)
    status, reason = rehearsal.walk()
    rehearsal.collect_background(wait=True)
    path = [step["widget"] for step in rehearsal.steps]
    differences = []
    widget_ids = {widget["id"] for widget in content["widgets"]}
    for widget_id in sorted(set(case.responses or {}) - widget_ids):
        differences.append(
            {
                "what": "responses",
                "widget": widget_id,
                "message": f"The flow has no widget {widget_id!r}; the case pins an answer for it.",
            }
        )
    for widget_id in sorted({item for item in case.expect.get("path", []) if item not in widget_ids}):
        differences.append(
            {
                "what": "path",
                "widget": widget_id,
                "message": f"The flow has no widget {widget_id!r}; the case expects a call to visit it.",
            }
        )
    for widget_id in rehearsal.missing:
        differences.append({"what": "responses", "widget": widget_id, "message": no_answer_sentence(widget_id)})
    expected_path = case.expect.get("path", [])
    if expected_path != path:
        differences.append(
            {
                "what": "path",
                "expected": expected_path,
                "got": path,
                "message": f"Expected the call to go {_route(expected_path)}; it went {_route(path)}.",
            }
        )
    for name, expected in sorted(case.expect.get("variables", {}).items()):
        got = rehearsal.variables.get(name)
        if got != expected:
            differences.append(
                {
                    "what": "variable",
                    "name": name,
                    "expected": expected,
                    "got": got,
                    "message": f"Expected {name} = {expected!r}, got {got!r}.",
                }
            )
    return {
        "id": case.pk,
        "name": case.name,
        "passed": not differences,
        "differences": differences,
        "status": str(status),
        "failure_reason": reason,
        "path": path,
        "variables": rehearsal.variables,
    }


def _route(path: list[str]) -> str:
    return " → ".join(path) or "nowhere"


def run_test_cases(flow: Flow, content: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every case of the flow rehearsed on `content` (the draft unless given)."""
    content = content or {"start": flow.start, "widgets": flow.widgets}
    return [rehearse(case, content, account=flow.account) for case in flow.test_cases.all()]


# --- making cases from what happened -----------------------------------------------------------


class CannotPin(ValueError):
    """An answer the step did not keep whole: the sentence names the widget."""


def answer_from_step(step: Mapping[str, Any]) -> dict[str, Any]:
    """The pinned answer that reproduces a webhook step's outcome."""
    if step.get("mode") == "internal":
        return {"status_code": 200 if step.get("succeeded") else 500, "headers": {}, "body": step.get("result") or ""}
    reason = step.get("error_reason")
    if reason in NO_ANSWER_REASONS and (reason != outbound.REDIRECTION or step.get("status_code") is None):
        return {"status_code": step.get("status_code"), "headers": {}, "body": "", "error_reason": reason}
    if step.get("response_body_kept") is False:
        raise CannotPin(f"Widget {step['widget']}'s answer was too large to keep whole; pin it by hand over the API.")
    if "response_body" not in step:
        # A no-wait request whose answer never came in (or a step from before answers were kept):
        # nothing the flow reads depends on it, so any answer reproduces the call.
        return {
            "status_code": step.get("status_code") or 200,
            "headers": {},
            "body": step.get("response_excerpt") or "",
        }
    return {
        "status_code": step["status_code"],
        "headers": step.get("response_headers") or {},
        "body": step["response_body"],
    }


def expected_variables(variables: Mapping[str, str | None]) -> dict[str, str | None]:
    """What a case made from a call expects: every `$flow.key.` variable but the timing."""
    return {
        key: value
        for key, value in variables.items()
        if key.startswith(FLOW_KEY_PREFIX) and key not in UNCOMPARED_VARIABLES
    }


def case_from_execution(execution: Execution, *, name: str) -> FlowTestCase:
    """A case (unsaved) expecting what the execution did, its answers pinned from its steps."""
    responses: dict[str, dict[str, Any]] = {}
    for step in execution.steps or []:
        if step.get("type") == "webhook" and step["widget"] not in responses:
            responses[step["widget"]] = answer_from_step(step)
    return FlowTestCase(
        account_id=execution.account_id,
        flow_id=execution.flow_id,
        name=name,
        call=execution.call or {},
        user_keys=execution.user_keys or {},
        responses=responses,
        expect={
            "path": [step["widget"] for step in execution.steps or []],
            "variables": expected_variables(execution.variables or {}),
        },
    )


def case_from_widget_answer(
    flow: Flow,
    *,
    widget_id: str,
    answer: Mapping[str, Any],
    call: Mapping[str, Any],
    user_keys: Mapping[str, Any],
    name: str,
) -> FlowTestCase:
    """A case (unsaved) from a widget's test result (the designer's Test button): the call and the one
    answer, expecting what the draft does with it now — the path it takes and the `$flow.key.` variables
    it ends with (but response_duration).

    `answer` is a pinned answer ({status_code, headers, body}); clean it with clean_responses first.
    Other webhook widgets on the path have no answer yet, so the case fails until they get one.
    """
    case = FlowTestCase(
        account_id=flow.account_id,
        flow=flow,
        name=name,
        call=dict(call),
        user_keys=dict(user_keys),
        responses={widget_id: dict(answer)},
    )
    walked = rehearse(case, {"start": flow.start, "widgets": flow.widgets}, account=flow.account)
    case.expect = {"path": walked["path"], "variables": expected_variables(walked["variables"])}
    return case
