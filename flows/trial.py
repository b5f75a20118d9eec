"""Testing a webhook widget (SPEC §13): one request sent exactly as a call would send it.

`run_widget_test(data, account=…)` serves both ways in, `POST /api/v1/flows/test-widget/`
(flows.api) and the designer's Test button (flows.designer): it cleans the config with the
judge that saving a flow uses, counts the test against the account's rolling limit, and runs
the widget through `flows.widgets.webhook.exchange`, the path a call takes (templating, URL
policy, HTTP support, deadline, size cap). The answer is a plain dict — the "test result" that
a saved test case can be made of.

Decisions where SPEC §13 is silent:

* Field errors are keyed as the request holds the field, `config.<field>`; with a `widget`
  sent (the designer's Test button), as saving a flow keys them, `widgets.<widget>.config.<field>`
  with "Widget <widget>: " before each message.
* With `flow` and `widget`, secrets left blank or "***" (basic-auth password, secret rows) are
  the ones stored for that widget; without them the test has only what it is sent.
* A test never writes an execution, a report row or a delivery. Internal functions that change
  the account's data (`changes_data` in the catalogue) run inside a transaction that is rolled
  back (`dry_run: true`), unless `confirm: true` is sent.
* Only accepted tests count against the limit; one that is refused (400, 404, 429) does not.
* `tree` (not in SPEC) is the answer as nested `{label, path, value, children}` nodes whose
  paths are mapping paths: the designer draws it, and a click on a value maps that path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from flows.models import Flow, WidgetTestUse
from flows.validation import WIDGET_ID_RE, FlowValidationError
from flows.widgets.cleaning import Errors, FieldErrors
from flows.widgets.webhook import CallContext, exchange, run_internal_widget
from flows.widgets.webhook_config import clean_webhook_config
from phonon.lib.extraction import InvalidResponse, answer_tree, nearest_paths, parse_response
from phonon.lib.templating import VARIABLE_RE
from webhooks import internal_functions

RESPONSE_BODY_LIMIT = 64 * 1024
MAX_VARIABLES = 200
MAX_VALUE_LENGTH = 10_000
KEYS = frozenset({"config", "variables", "flow", "widget", "confirm"})
DEFAULT_WIDGET_ID = "test"


class WidgetNotFound(Exception):
    """`flow` or `widget` names nothing of this account: answered like any missing object (404)."""


class TooManyTests(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(f"At most {settings.WIDGET_TESTS_PER_MINUTE} widget tests a minute; try again in {wait} s.")
        self.wait = wait


def run_widget_test(data: Any, *, account: Account) -> dict[str, Any]:
    """The SPEC §13 answer for one test; raises FlowValidationError (400), WidgetNotFound (404)
    or TooManyTests (429)."""
    if not isinstance(data, Mapping):
        raise FlowValidationError({"": ['Send {"config": …, "variables": …} as a JSON object.']})
    widget_id, stored = _stored_widget(data, account)
    config = _clean_request(data, widget_id, stored, account)
    admit_test(account)
    variables = {name: None if value is None else str(value) for name, value in data.get("variables", {}).items()}
    if config["mode"] == "internal":
        return _internal_result(config, variables, account=account, confirm=data.get("confirm") is True)
    return _custom_result(config, variables, account=account, widget_id=widget_id)


# --- the request ---------------------------------------------------------------------------


def _stored_widget(data: Mapping[str, Any], account: Account) -> tuple[str, Mapping[str, Any] | None]:
    """The widget id for error keys, and the stored config whose secrets the test may use."""
    flow_id, widget_id = data.get("flow"), data.get("widget")
    if widget_id is not None and not (isinstance(widget_id, str) and WIDGET_ID_RE.fullmatch(widget_id)):
        raise FlowValidationError({"widget": ["widget must be a widget id such as w1."]})
    if flow_id is None:
        return widget_id or DEFAULT_WIDGET_ID, None
    if isinstance(flow_id, bool) or not isinstance(flow_id, int) or widget_id is None:
        raise FlowValidationError({"flow": ["Send flow (a flow's id) and widget (a widget id such as w1) together."]})
    flow = Flow.objects.for_account(account).filter(pk=flow_id).only("widgets").first()
    widget = next((w for w in flow.widgets if w.get("id") == widget_id), None) if flow else None
    if widget is None or widget.get("type") != "webhook":
        raise WidgetNotFound(f"No webhook widget {widget_id!r} in a flow {flow_id} of this account.")
    return widget_id, widget.get("config")


def _clean_request(
    data: Mapping[str, Any], widget_id: str, stored: Mapping[str, Any] | None, account: Account
) -> dict[str, Any]:
    errors = Errors()
    for key in sorted(set(data) - KEYS, key=str):
        errors.add(str(key), f"Unknown field {key!r}; send config, variables, and optionally flow, widget, confirm.")
    if not isinstance(data.get("confirm", False), bool):
        errors.add("confirm", "confirm must be true or false.")
    _check_variables(data.get("variables", {}), errors)
    config = data.get("config")
    named = widget_id if data.get("widget") is not None else None
    here = f"widgets.{named}.config" if named else "config"
    if not isinstance(config, Mapping):
        errors.add(here, "config must be a webhook widget's config object (SPEC §6).")
        raise FlowValidationError(errors.by_key)
    cleaned = clean_webhook_config(config, FieldErrors(errors, named, here), account=account, previous=stored)
    if errors:
        raise FlowValidationError(errors.by_key)
    return cleaned


def _check_variables(variables: Any, errors: Errors) -> None:
    if not isinstance(variables, Mapping):
        errors.add("variables", 'variables must be an object like {"$call.cli": "+15550100"}.')
        return
    if len(variables) > MAX_VARIABLES:
        errors.add("variables", f"At most {MAX_VARIABLES} variables.")
    for name, value in variables.items():
        if not isinstance(name, str) or not VARIABLE_RE.fullmatch(name):
            errors.add(
                "variables", f"{name!r} is not a variable name; use $call.NAME, $flow.key.NAME or $user.key.NAME."
            )
        elif isinstance(value, bool) or not (value is None or isinstance(value, (str, int, float))):
            errors.add("variables", f"{name}: give a string or a number.")
        elif isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            errors.add("variables", f"{name}: at most {MAX_VALUE_LENGTH} characters.")


# --- the limit -----------------------------------------------------------------------------


def admit_test(account: Account) -> None:
    """Count one test against the account's rolling minute, or raise TooManyTests.

    The account's row is locked while counting, so concurrent tests of one account cannot both
    take the last place.
    """
    limit = settings.WIDGET_TESTS_PER_MINUTE
    now = timezone.now()
    window_start = now - timedelta(minutes=1)
    with transaction.atomic():
        list(Account.objects.select_for_update().filter(pk=account.pk).values_list("pk"))
        uses = WidgetTestUse.objects.for_account(account)
        uses.filter(created_at__lte=window_start).delete()
        recent = list(uses.order_by("-created_at").values_list("created_at", flat=True)[:limit])
        if len(recent) >= limit:
            # The place frees when the oldest of the last `limit` tests leaves the window.
            raise TooManyTests(max(1, math.ceil((recent[-1] - window_start).total_seconds())))
        WidgetTestUse.objects.create(account=account, created_at=now)


# --- the answer ----------------------------------------------------------------------------


def _custom_result(
    config: dict[str, Any], variables: dict[str, str | None], *, account: Account, widget_id: str | None
) -> dict[str, Any]:
    done = exchange(config, variables, account=account, context=CallContext.widget_test(widget_id))
    outcome, prepared, result = done.outcome, done.prepared, done.result
    step = outcome.step  # the request as the execution's step shows it: secrets masked
    request = {
        "method": step["method"],
        "url": step["url"],
        "headers": step["request_headers"],
        "auth": step["auth"],
        # The whole body when it was rendered; the step's excerpt when it was not sent.
        "body": prepared.data.decode("utf-8", errors="replace") if prepared and prepared.data else "",
    }
    if prepared is None:  # not sent: a mandatory header or query parameter rendered empty
        request["body"] = step["request_body_excerpt"]
    response = None
    tree = None
    if result is not None and result.status_code is not None:
        response = {
            "status_code": result.status_code,
            "headers": result.headers,
            "body": result.body[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace"),
            "truncated": len(result.body) > RESPONSE_BODY_LIMIT,
            "duration": round(result.duration, 3),
        }
        tree = _tree(result.body, config["response_type"])
    unmatched = {row["save_in"] for row in step.get("unmatched", [])}
    mappings = []
    for row in config["mappings"]:
        # Mappings are applied to a readable 2xx answer only: then every one sets its variable.
        matched = row["save_in"] in outcome.variables and row["save_in"] not in unmatched
        mappings.append(
            {
                "save_in": row["save_in"],
                "path": row["path"],
                "mandatory": row["mandatory"],
                "matched": matched,
                "value": outcome.variables.get(row["save_in"]),
                "suggestions": nearest_paths(row["path"], tree) if tree is not None and not matched else [],
            }
        )
    return {
        "request": request,
        "response": response,
        "mappings": mappings,
        "variables": outcome.variables,
        "line": int(outcome.line),
        "error_reason": step.get("error_reason"),
        "error_detail": step.get("error_detail") or "",
        "tree": tree,
    }


def _tree(body: bytes, response_type: str) -> dict[str, Any] | None:
    if not body.strip():
        return None
    try:
        return answer_tree(parse_response(body, response_type), response_type)
    except InvalidResponse:
        return None


def _internal_result(
    config: dict[str, Any], variables: dict[str, str | None], *, account: Account, confirm: bool
) -> dict[str, Any]:
    function = internal_functions.INTERNAL_FUNCTIONS[config["function"]]
    dry_run = function.changes_data and not confirm
    with transaction.atomic():
        outcome = run_internal_widget(config, variables, account=account)
        if dry_run:
            transaction.set_rollback(True)
    step = outcome.step
    return {
        "request": {"function": function.name, "method": step["method"], "parameters": step["parameters"]},
        "response": {"succeeded": step["succeeded"], "result": step["result"], "duration": step["duration"]},
        "mappings": [],
        "variables": outcome.variables,
        "line": int(outcome.line),
        "error_reason": None,
        "error_detail": "" if step["succeeded"] else step["result"],
        "changes_data": function.changes_data,
        "dry_run": dry_run,
        "tree": None,
    }
