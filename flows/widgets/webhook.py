"""The webhook widget (SPEC §6): build the request, send it, and turn the answer into variables.

The work is split in three so the engine can run the middle part in the background when
`wait_for_response` is off: `prepare_webhook_request` renders everything from the variables
(and may already fail with MANDATORY_PARAMETER_MISSING), `send_prepared` is the only call to
the network, and `outcome_from_result` maps the answer to the output variables, the line and
the step record. `run_webhook_widget` chains them for the waiting case (and runs internal
mode); the engine calls it for every webhook widget but a custom one that does not wait.

Decisions where SPEC §6 is silent:

* Mappings are applied to 2xx answers only; an error answer's body is in response_raw.
* A 2xx answer's body must be valid JSON/XML of the response type, mappings or not, else the
  widget fails with INVALID_RESPONSE (status code, type and raw body are still reported). An
  empty (or all-whitespace) body, a 204 say, is accepted when the widget has no mappings; with
  mappings it is INVALID_RESPONSE, as there is nothing to read them from.
* A mapping that matches nothing (or only JSON null) sets its variable to None, so a value left
  by an earlier widget never passes for this answer's; if it is mandatory the widget fails with
  MANDATORY_FIELD_MISSING, after setting every mapping's variables.
* A JSON path that can select several values (`[*]`, `.*`, a slice, a filter, `..`, a union)
  always stores an array, even for one match; for none it also sets `<name>_count` to "0"
  (`extraction.selects_many`). XPath results are judged by their size (one node: its text).
* A widget's mappings may store at most eight times the answer's size (4 MiB at least,
  `extraction.MappedTextBudget`): matches nested in one another (`//item` on items nested 250
  deep) would store the answer hundreds of times over. Past it the widget fails with
  INVALID_RESPONSE, the detail naming the mapping where the limit was passed.
* Mappings with a path that may search the answer over and over (`//*[count(//*) > 0]`,
  `//a//b`) are read in a reader process stopped at 2 s, one at a time per account
  (`phonon.lib.mapping_sandbox`); past it the widget fails with INVALID_RESPONSE. Paths of the
  usual, linear shapes are read in the worker.
* A final 1xx answer, or a status outside 100-599, is INVALID_RESPONSE (SPEC has no reason for
  it); a 3xx that ends the redirect chain (304, a 3xx without Location, too many hops, a hop
  the policy refuses) is REDIRECTION.
* RESPONSE_TOO_LARGE keeps the status code but no body (response_raw is None).
* With persist_response on, the mappings' `save_in` names are kept as report UDFs (not the
  `_count`/`_0` helpers of arrays).
* Internal mode sets only `$flow.key.<function>`, not the HTTP output variables.
* The deadline is the widget's timeout, capped by WEBHOOK_MAX_TIMEOUT_SECONDS (60 s, below the
  worker's lease), so a lowered setting also bounds flows saved before it was lowered.

Resilience (SPEC §15), where it is silent:

* Every try, retries included, fits in the one deadline; `response_duration` is the whole wait
  (tries and the pauses between them), what the caller spent on hold; the step's `tries` lists
  each try's status, reason, duration and the pause after it.
* A try refused by the circuit or the busy limit is not retried (nothing was sent; waiting
  would only hold the caller). Each try counts for the circuit and the health figures.
* A call (`CallContext.guarded`) goes through the cache, the circuit breaker and the busy
  limit; a widget test does not: it always sends (a developer checking a fixed endpoint must
  reach it while its circuit is open) and leaves the circuit, health figures and cache alone,
  but it retries, and sends the Idempotency-Key, exactly as a call would.
* Only answers that succeed (line 0) are cached; a cached answer is mapped again on every hit,
  so the variables are those of the widget's current mappings.
* Requests with `wait_for_response` off (the engine's background path) are not retried, cached
  or counted by the breaker: the caller does not wait for them.
"""

from __future__ import annotations

import codecs
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.utils import timezone

from flows import metrics
from flows.leases import run_inline
from flows.variables import (
    CALL_PREFIX,
    ERROR_REASON,
    FAILED,
    FLOW_KEY_PREFIX,
    RESPONSE_CACHED,
    RESPONSE_DURATION,
    RESPONSE_ERROR,
    RESPONSE_RAW,
    RESPONSE_STALE,
    RESPONSE_STATUS,
    RESPONSE_STATUS_CODE,
    RESPONSE_STATUS_TYPE,
    SUCCESS,
    USER_KEY_PREFIX,
    ErrorReason,
    flow_key,
    variables_with_prefix,
)
from flows.widgets import FAILURE_LINE, SUCCESS_LINE, WidgetOutcome, webhook_cache
from flows.widgets.webhook_config import DEFAULTS, MASK, row_value
from phonon.encryption import decrypt_secret
from phonon.lib import resilience
from phonon.lib.extraction import InvalidResponse
from phonon.lib.mapping_sandbox import read_mappings_within
from phonon.lib.outbound import CREDENTIAL_HEADERS, OutboundResult, header_value, send_request
from phonon.lib.storable import storable
from phonon.lib.templating import render_form, render_header, render_json, render_text, render_url, render_xml
from phonon.lib.url_policy import IPNetwork, Resolver
from webhooks import endpoints, internal_functions

logger = logging.getLogger(__name__)

Variables = Mapping[str, "str | None"]

BODY_RENDERERS = {"json": render_json, "xml": render_xml, "form": render_form}
CONTENT_TYPES = {
    "json": "application/json; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "form": "application/x-www-form-urlencoded; charset=utf-8",
}
STATUS_TYPES = (
    (100, "Informational"),
    (200, "Success"),
    (300, "Redirection"),
    (400, "Client Error"),
    (500, "Server Error"),
)
EXCERPT_BYTES = 2048
# Answers up to this size are kept whole in the step (`response_body`), so "Save as test case"
# can pin exactly what the endpoint said; a larger one keeps only its excerpt.
KEPT_ANSWER_BYTES = 64 * 1024
# The answer headers a step keeps: what decoding the body again needs (no cookies, no tokens).
KEPT_ANSWER_HEADERS = frozenset({"content-type"})
# Header values a step record shows as "***": they carry credentials, not diagnostics.
SECRET_HEADERS = CREDENTIAL_HEADERS | {"x-api-key", "api-key"}
PARAMETER_PREFIXES = {"call": CALL_PREFIX, "flow_key": FLOW_KEY_PREFIX, "user_key": USER_KEY_PREFIX}
# Failures a stale cached answer may stand in for (SPEC §15).
STALE_ANSWERS_FOR = frozenset(
    {
        ErrorReason.TIMEOUT,
        ErrorReason.CONNECTION_ERROR,
        ErrorReason.SERVER_ERROR,
        ErrorReason.CIRCUIT_OPEN,
        ErrorReason.ENDPOINT_BUSY,
    }
)
_CHARSET_RE = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)", re.IGNORECASE)


@dataclass
class PreparedRequest:
    """A webhook request with every variable rendered, ready for `send_prepared`."""

    method: str
    url: str
    headers: dict[str, str]
    params: list[tuple[str, str]]
    data: bytes | None
    auth: tuple[str, str] | None = field(repr=False)
    timeout: float
    allow_http: bool
    allowed_networks: tuple[IPNetwork, ...]
    max_bytes: int
    wait_for_response: bool = True
    hold_music: bool = False
    resolve: Resolver | None = field(default=None, repr=False)  # tests point names at local servers
    # The names of the rows marked secret: their values are masked wherever the request is shown.
    secret_headers: frozenset[str] = frozenset()
    secret_params: frozenset[str] = frozenset()

    @property
    def display_url(self) -> str:
        """The URL with its query parameters as requested; no credentials, secret parameters "***"."""
        parts = urlsplit(self.url)
        netloc = parts.netloc.rpartition("@")[2]
        query = "&".join(filter(None, [parts.query, urlencode(self.params)]))
        return self.masked_url(urlunsplit(parts._replace(netloc=netloc, query=query)))

    def masked_url(self, url: str) -> str:
        """`url` with the values of secret query parameters shown as "***" (a redirect keeps them too)."""
        if not self.secret_params or not url:
            return url
        parts = urlsplit(url)
        params = [
            (name, MASK if name in self.secret_params else value)
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        return urlunsplit(parts._replace(query=urlencode(params, safe="*")))

    @property
    def private_headers(self) -> frozenset[str]:
        """The headers that carry a credential: not sent on to another origin, masked wherever shown."""
        return SECRET_HEADERS | {name.lower() for name in self.secret_headers}

    @property
    def secret_values(self) -> list[str]:
        """The values of the rows marked secret, kept out of every error detail (a redirect's URL)."""
        headers = [value for name, value in self.headers.items() if name in self.secret_headers]
        return headers + [value for name, value in self.params if name in self.secret_params]

    @property
    def display_headers(self) -> dict[str, str]:
        """The headers as sent, credential headers and secret rows masked; with basic auth, the
        Authorization header requests makes of it at send time (over any row of that name)."""
        private = self.private_headers  # built once, not per header
        shown = {name: MASK if name.lower() in private else value for name, value in self.headers.items()}
        if self.auth:
            shown = {name: value for name, value in shown.items() if name.lower() != "authorization"}
            shown["Authorization"] = MASK
        return shown

    def describe(self) -> dict[str, Any]:
        """The request for the execution's step record: no password, credential headers masked."""
        return {
            "type": "webhook",
            "mode": "custom",
            "method": self.method,
            "url": self.display_url,
            "request_headers": self.display_headers,
            "auth": {"type": "basic", "username": self.auth[0]} if self.auth else {"type": "none"},
            "request_body_excerpt": _excerpt(self.data or b""),
            "wait_for_response": self.wait_for_response,
            "hold_music": self.hold_music,
            "timeout": self.timeout,
        }


def webhook_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config with SPEC §6 defaults for anything left out (stored flows have them all)."""
    return {**DEFAULTS, **config}


@dataclass(frozen=True)
class CallContext:
    """Who runs the widget: a call (its execution, flow and widget) or, unguarded, a widget test
    or a test case's rehearsal.

    `database` runs the cache's and the breaker's database work (the engine passes its own, so it
    runs on the worker's database lane); `sent` collects the requests sent, for the engine to save
    with the execution's end (webhooks.endpoints.save_requests). `send` and `call_internal`
    replace the network and the platform functions (a rehearsal answers from the case's pinned
    responses, so its tries are not repeated); None: the real ones.
    """

    execution_id: str
    flow_id: Any
    widget_id: str
    guarded: bool = True  # the cache, circuit breaker, busy limit and health figures apply
    database: Callable = run_inline
    sent: list[dict[str, Any]] = field(default_factory=list)
    send: Callable[[PreparedRequest], OutboundResult] | None = None
    call_internal: Callable[..., tuple[bool, str]] | None = None

    @classmethod
    def widget_test(cls, widget_id: str | None) -> CallContext:
        return cls(execution_id=f"test-{uuid.uuid4()}", flow_id=None, widget_id=widget_id or "widget", guarded=False)

    @property
    def idempotency_key(self) -> str:
        return f"{self.execution_id}:{self.widget_id}"


def run_webhook_widget(
    config: Mapping[str, Any], variables: Variables, *, account, context: CallContext | None = None
) -> WidgetOutcome:
    """The whole widget, waiting for the answer: internal call, or prepare → send → outcome."""
    if config.get("mode") == "internal":
        call_internal = context.call_internal if context else None
        return run_internal_widget(config, variables, account=account, call_internal=call_internal)
    return exchange(config, variables, account=account, context=context).outcome


@dataclass
class Exchange:
    """One custom-mode run: the request as rendered (None when it was not sent), the answer and
    what a call makes of it. A widget test (flows.trial) shows all three; a call keeps `outcome`."""

    prepared: PreparedRequest | None
    result: OutboundResult | None
    outcome: WidgetOutcome


def exchange(
    config: Mapping[str, Any], variables: Variables, *, account, context: CallContext | None = None
) -> Exchange:
    """prepare → (cache) → send with retries → outcome: the one path a call and a widget test take."""
    config = webhook_config(config)
    context = context or CallContext.widget_test(None)
    prepared = prepare_webhook_request(config, variables, account=account)
    if isinstance(prepared, WidgetOutcome):
        return Exchange(prepared=None, result=None, outcome=prepared)
    if config["idempotency_key"]:
        prepared.headers["Idempotency-Key"] = context.idempotency_key
    cache = config["cache"]
    if not (context.guarded and cache["ttl"]):
        return _sent(config, prepared, account=account, context=context)
    return _cached_exchange(config, variables, prepared, account=account, context=context)


def _sent(config: dict[str, Any], prepared: PreparedRequest, *, account, context: CallContext) -> Exchange:
    """Send with the widget's retries; the outcome's step lists the tries."""
    result, tries = send_with_retries(prepared, config["retries"], account=account, context=context)
    outcome = outcome_from_result(config, result, prepared, account_id=account.pk)
    outcome.step["tries"] = tries
    return Exchange(prepared=prepared, result=result, outcome=outcome)


def _cached_exchange(
    config: dict[str, Any], variables: Variables, prepared: PreparedRequest, *, account, context: CallContext
) -> Exchange:
    """A call through the widget's cache: a fresh hit sends nothing; a failure may take the stale answer."""
    cache = config["cache"]
    rendered_key = render_text(cache["key"], variables)
    if not rendered_key.strip():
        sent = _sent(config, prepared, account=account, context=context)
        _with_cache_marks(sent.outcome, cached=False, stale=False)
        sent.outcome.step["cache"] = "bypassed: the cache key resolved empty"
        return sent
    key = resilience.cache_key(account.pk, context.flow_id, context.widget_id, rendered_key)
    hit = context.database(webhook_cache.look_up, account, key)
    if hit is not None and hit.fresh:
        outcome = _with_cache_marks(
            outcome_from_result(config, hit.result, prepared, account_id=account.pk), cached=True, stale=False
        )
        outcome.step.update(tries=[], cache=f"hit: the answer stored at {hit.stored_at}", duration=0.0)
        return Exchange(prepared=prepared, result=hit.result, outcome=outcome)
    sent = _sent(config, prepared, account=account, context=context)
    result, outcome = sent.result, sent.outcome
    reason = outcome.step["error_reason"]
    if outcome.succeeded:
        context.database(webhook_cache.store, account, key, result, cache["ttl"])
        note = "miss: the answer is stored"
    elif hit is not None and cache["stale_on_error"] and reason in STALE_ANSWERS_FOR:
        failed_step = outcome.step
        outcome = outcome_from_result(config, hit.result, prepared, account_id=account.pk)
        outcome.step.update(
            stale=True,
            failed_error_reason=reason,
            failed_error_detail=failed_step.get("error_detail"),
            duration=failed_step["duration"],
            tries=failed_step["tries"],
        )
        outcome.variables[RESPONSE_DURATION] = f"{result.duration:.2f}"
        note = f"stale: {reason}, answered with the answer stored at {hit.stored_at}"
        result = hit.result
    else:
        note = "miss: the call failed, nothing stored"
    outcome = _with_cache_marks(outcome, cached=False, stale=outcome.step.get("stale", False))
    outcome.step["cache"] = note
    return Exchange(prepared=prepared, result=result, outcome=outcome)


def _with_cache_marks(outcome: WidgetOutcome, *, cached: bool, stale: bool) -> WidgetOutcome:
    outcome.variables[RESPONSE_CACHED] = "true" if cached else "false"
    outcome.variables[RESPONSE_STALE] = "true" if stale else "false"
    return outcome


def send_with_retries(
    prepared: PreparedRequest, retries: Mapping[str, Any], *, account, context: CallContext
) -> tuple[OutboundResult, list[dict[str, Any]]]:
    """Send, and again on the failures `retries["on"]` names, every try inside the one deadline.

    The result's `duration` is the whole wait; the list describes each try for the step.
    """
    started = time.monotonic()
    deadline = started + prepared.timeout
    origin = resilience.origin(prepared.url)
    tries: list[dict[str, Any]] = []
    count = 0 if context.send else retries["count"]  # a pinned answer answers every try alike
    for attempt in range(count + 1):
        attempt_prepared = replace(prepared, timeout=max(0.001, deadline - time.monotonic()))
        result = (
            send_guarded(attempt_prepared, account=account, origin=origin, context=context)
            if context.guarded
            else (context.send or send_prepared)(attempt_prepared)
        )
        reason = error_reason_for(result)
        tries.append(
            {
                "try": attempt + 1,
                "status_code": result.status_code,
                "error_reason": reason,
                "duration": round(result.duration, 3),
            }
        )
        if attempt == count or not _retryable(reason, result.status_code, retries["on"]):
            break
        retry_after = resilience.parse_retry_after(result.header("Retry-After"))
        wait = resilience.retry_delay(attempt, deadline - time.monotonic(), retry_after=retry_after)
        if wait is None:
            tries[-1]["retry"] = "not retried: the rest of the deadline is too short"
            break
        tries[-1]["waited"] = round(wait, 3)
        time.sleep(wait)
    result.duration = time.monotonic() - started
    return result, tries


def _retryable(reason: str | None, status_code: int | None, on: list[str]) -> bool:
    if status_code == 429:
        return "429" in on
    return reason in on


def send_guarded(prepared: PreparedRequest, *, account, origin: str, context: CallContext) -> OutboundResult:
    """One try of a call: through the origin's circuit breaker and busy limit, then noted for health."""
    admission = endpoints.guard.admit(account.pk, origin, database=context.database)
    metrics.count_circuit_change(admission.circuit_change)
    if admission.refused:
        metrics.count_refused_request(admission.refused)
        return OutboundResult(status_code=None, error_reason=admission.refused, error_detail=admission.detail)
    sent_at = timezone.now()
    result = OutboundResult(status_code=None, error_reason=ErrorReason.CONNECTION_ERROR, error_detail="Not sent.")
    try:
        result = send_prepared(prepared)
    finally:
        reason = error_reason_for(result)
        failed = resilience.is_endpoint_failure(reason, result.status_code)
        metrics.count_circuit_change(endpoints.guard.finish(admission, failed=failed, database=context.database))
        context.sent.append(
            {
                "origin": origin,
                "at": sent_at,
                "duration_ms": round(result.duration * 1000),
                "error_reason": reason or "",
                "error_detail": storable(result.error_detail or _status_detail(result.status_code))[:300]
                if reason
                else "",
            }
        )
    return result


def prepare_webhook_request(
    config: Mapping[str, Any], variables: Variables, *, account
) -> PreparedRequest | WidgetOutcome:
    """Render the request; a mandatory header or query parameter that renders empty fails it here."""
    config = webhook_config(config)
    headers: dict[str, str] = {}
    params: list[tuple[str, str]] = []
    missing: list[str] = []
    for row in config["headers"]:
        value = render_header(row_value(row), variables)
        if row.get("mandatory") and not value.strip():
            missing.append(row["key"])
        headers[row["key"]] = value
    for row in config["query_params"]:
        value = render_text(row_value(row), variables)
        if row.get("mandatory") and not value.strip():
            missing.append(row["key"])
        params.append((row["key"], value))

    body_type = config["body_type"]
    data = None
    if body_type in BODY_RENDERERS:
        data = BODY_RENDERERS[body_type](config["body"], variables).encode("utf-8")
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = CONTENT_TYPES[body_type]

    auth = config["auth"]
    password = auth.get("password_encrypted")  # none stored: an empty password
    prepared = PreparedRequest(
        method=config["method"],
        url=render_url(config["url"], variables),
        headers=headers,
        params=params,
        data=data,
        auth=(auth["username"], decrypt_secret(password) if password else "") if auth.get("type") == "basic" else None,
        timeout=min(config["timeout"], settings.WEBHOOK_MAX_TIMEOUT_SECONDS),
        **account.url_policy(),
        max_bytes=settings.WEBHOOK_MAX_RESPONSE_BYTES,
        wait_for_response=config["wait_for_response"],
        hold_music=config["hold_music"],
        secret_headers=frozenset(row["key"] for row in config["headers"] if row.get("secret")),
        secret_params=frozenset(row["key"] for row in config["query_params"] if row.get("secret")),
    )
    if missing:
        step = {
            **prepared.describe(),
            "status_code": None,
            "error_reason": ErrorReason.MANDATORY_PARAMETER_MISSING,
            "error_detail": f"Not sent: the mandatory {', '.join(missing)} resolved empty.",
            "duration": 0.0,
            "missing_parameters": missing,
        }
        return WidgetOutcome(
            line=FAILURE_LINE,
            variables=_output_variables(ErrorReason.MANDATORY_PARAMETER_MISSING, None, 0.0, ""),
            step=step,
        )
    return prepared


def send_prepared(prepared: PreparedRequest) -> OutboundResult:
    """The one place flows reach the network (and count it in the metrics); never raises for network trouble."""
    result = send_request(
        prepared.method,
        prepared.url,
        headers=prepared.headers,
        private_headers=prepared.private_headers,
        secrets=prepared.secret_values,
        params=prepared.params,
        data=prepared.data,
        auth=prepared.auth,
        timeout=prepared.timeout,
        allow_http=prepared.allow_http,
        allowed_networks=prepared.allowed_networks,
        max_bytes=prepared.max_bytes,
        resolve=prepared.resolve,
    )
    metrics.observe_webhook_request(error_reason_for(result) or "SUCCESS", result.duration)
    return result


def outcome_from_result(
    config: Mapping[str, Any], result: OutboundResult, prepared: PreparedRequest | None = None, *, account_id=None
) -> WidgetOutcome:
    """SPEC §6's output variables, mapped values and line for one answer (or its absence).

    Pass `prepared` to include the request's description in the step, and the account's id so
    its costly mapping paths take their turn at a reader (mapping_sandbox) behind its own.
    """
    config = webhook_config(config)
    reason = error_reason_for(result)
    mapped: dict[str, str | None] = {}
    unmatched: list[dict[str, Any]] = []
    detail = result.error_detail
    if reason is None and (config["mappings"] or result.body.strip()):
        try:
            mapped, unmatched = read_mappings_within(
                result.body, config["response_type"], config["mappings"], owner=account_id
            )
        except InvalidResponse as exc:
            reason, detail = ErrorReason.INVALID_RESPONSE, str(exc)
        else:
            missing = [row["save_in"] for row in unmatched if row["mandatory"]]
            if missing:
                reason = ErrorReason.MANDATORY_FIELD_MISSING
                detail = f"The answer has no value for the mandatory mapping(s) {', '.join(missing)}."
    elif reason is not None and not detail:
        detail = _status_detail(result.status_code)

    body = b"" if result.error_reason == ErrorReason.RESPONSE_TOO_LARGE else result.body
    text = body_text(body, result.headers)  # decoded once: the raw variable and the kept answer
    variables = _output_variables(reason, result.status_code, result.duration, text)
    variables.update(mapped)
    persisted = [row["save_in"] for row in config["mappings"] if row["save_in"] in mapped]
    described = prepared.describe() if prepared else {"type": "webhook", "mode": "custom", "method": config["method"]}
    step = {
        **described,
        "status_code": result.status_code,
        "error_reason": reason,
        "error_detail": detail,
        "duration": round(result.duration, 3),
        "final_url": prepared.masked_url(result.final_url) if prepared else result.final_url,
        "response_excerpt": _excerpt(body, result.headers),
        **kept_answer(result, body, text),
        "unmatched": unmatched,
        "wait_for_response": config["wait_for_response"],
        "hold_music": config["hold_music"],
        "timeout": config["timeout"],
    }
    return WidgetOutcome(
        line=SUCCESS_LINE if reason is None else FAILURE_LINE,
        variables=variables,
        persisted=persisted if config["persist_response"] else [],
        step=step,
    )


def run_internal_widget(
    config: Mapping[str, Any],
    variables: Variables,
    *,
    account,
    call_internal: Callable[..., tuple[bool, str]] | None = None,
) -> WidgetOutcome:
    """Call a platform function in-process with the chosen variable groups; its text lands in $flow.key.<function>."""
    function, method = config["function"], config["method"]
    parameters: dict[str, str | None] = {}
    for group in config.get("parameters", []):
        parameters.update(variables_with_prefix(variables, PARAMETER_PREFIXES[group]))
    started = time.monotonic()
    try:
        call = call_internal or internal_functions.call_internal_function
        succeeded, text = call(account, function, method, parameters)
    except Exception:
        logger.exception("Internal function %s failed for account %s", function, getattr(account, "pk", None))
        succeeded, text = False, f"The internal function {function} failed unexpectedly."
    duration = time.monotonic() - started
    return WidgetOutcome(
        line=SUCCESS_LINE if succeeded else FAILURE_LINE,
        variables={flow_key(function): text},
        step={
            "type": "webhook",
            "mode": "internal",
            "function": function,
            "method": method,
            "parameters": list(config.get("parameters", [])),
            "succeeded": succeeded,
            "result": text,
            "status_code": None,
            "error_reason": None,
            "duration": round(duration, 3),
            "wait_for_response": True,
            "hold_music": False,
        },
    )


# --- mapping answers to variables ----------------------------------------------------------


def status_type(status_code: int | None) -> str | None:
    """ "Success" for 2xx, "Client Error" for 4xx…; None without an answer or for odd codes."""
    if status_code is None or not 100 <= status_code <= 599:
        return None
    return dict(STATUS_TYPES)[status_code // 100 * 100]


def error_reason_for(result: OutboundResult) -> str | None:
    """SPEC §6's error reason of an answer (None for 2xx); flow-end deliveries log it too."""
    if result.error_reason is not None:
        return result.error_reason
    code = result.status_code
    if code is None or not 100 <= code <= 599 or code < 200:
        return ErrorReason.INVALID_RESPONSE
    if code < 300:
        return None
    if code < 400:
        return ErrorReason.REDIRECTION
    if code < 500:
        return ErrorReason.CLIENT_ERROR
    return ErrorReason.SERVER_ERROR


def _status_detail(status_code: int | None) -> str:
    if status_code is None:
        return "There was no answer."
    kind = status_type(status_code)
    return (
        f"The server answered {status_code} ({kind})." if kind else f"The server answered an odd status {status_code}."
    )


def _output_variables(reason: str | None, status_code: int | None, duration: float, text: str) -> dict[str, str | None]:
    return {
        RESPONSE_STATUS: SUCCESS if reason is None else FAILED,
        RESPONSE_STATUS_CODE: None if status_code is None else str(status_code),
        RESPONSE_STATUS_TYPE: status_type(status_code),
        RESPONSE_DURATION: f"{duration:.2f}",
        RESPONSE_RAW: text or None,
        RESPONSE_ERROR: "false" if reason is None else "true",
        ERROR_REASON: reason,
    }


def kept_answer(result: OutboundResult, body: bytes, text: str) -> dict[str, Any]:
    """The answer as the step keeps it for test cases: its Content-Type and (if small enough) whole
    body, `text` (the body decoded by the charset that Content-Type declares)."""
    headers = {name: value for name, value in result.headers.items() if name.lower() in KEPT_ANSWER_HEADERS}
    if len(body) > KEPT_ANSWER_BYTES:
        return {"response_headers": headers, "response_body_kept": False}
    return {"response_headers": headers, "response_body": text}


# A declared charset that is no text encoding (base64, rot13: bytes to bytes) or that cannot
# replace what it cannot read (undefined, idna, punycode) raises these: UTF-8 is read instead.
_UNUSABLE_CHARSET = (LookupError, UnicodeError)


def encode_body(text: str, headers: Mapping[str, str]) -> bytes:
    """A body kept as text, as bytes again in the charset its headers declare (a pinned answer)."""
    try:
        return text.encode(_charset(headers), errors="replace")
    except _UNUSABLE_CHARSET:
        return text.encode("utf-8", errors="replace")


def body_text(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    """The body as text, in the charset the answer declares (UTF-8 otherwise, or when it is unusable).

    Bad bytes become U+FFFD, and so do NUL and lone surrogates (`storable`), which a charset
    such as UTF-7 can produce from valid bytes.
    """
    if not body:
        return ""
    try:
        text = body.decode(_charset(headers or {}), errors="replace")
    except _UNUSABLE_CHARSET:
        text = body.decode("utf-8", errors="replace")
    return storable(text)


def _charset(headers: Mapping[str, str]) -> str:
    content_type = header_value(headers, "content-type") or ""
    match = _CHARSET_RE.search(content_type)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _excerpt(body: bytes, headers: Mapping[str, str] | None = None) -> str:
    return body_text(body[:EXCERPT_BYTES], headers)
