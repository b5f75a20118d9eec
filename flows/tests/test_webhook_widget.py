"""The webhook widget: building the request, the output variables and every error reason (SPEC §6).

Unit tests patch the network with `responses` (or feed `outcome_from_result` an answer
directly); the tests under "a real server" go through a real local HTTP server.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import socket
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote_plus, urlencode

import pytest
import responses

from flows.tests.widget_fixtures import (  # noqa: F401 (fixtures)
    PUBLIC_ADDRESS,
    clean_webhook_config,
    widget_loopback_allowed_fixture,
    widget_public_dns_fixture,
    widget_server_fixture,
)
from flows.variables import (
    ERROR_REASON,
    OUTPUT_VARIABLES,
    RESPONSE_DURATION,
    RESPONSE_ERROR,
    RESPONSE_RAW,
    RESPONSE_STATUS,
    RESPONSE_STATUS_CODE,
    RESPONSE_STATUS_TYPE,
)
from flows.widgets import WidgetOutcome
from flows.widgets.webhook import (
    SECRET_HEADERS,
    PreparedRequest,
    encode_body,
    outcome_from_result,
    prepare_webhook_request,
    run_internal_widget,
    run_webhook_widget,
    send_prepared,
)
from phonon.lib import mapping_sandbox
from phonon.lib.extraction import parse_xml
from phonon.lib.outbound import OutboundResult
from phonon.lib.testing.http_server import Reply, local_http_server, make_test_certificates

HOOK = "https://api.example.com/orders/555"
TRICKY = 'a"b<c>&d/e?f#g=h+i%j\nk l é'
CALL = {"$call.cli": "555", "$call.did": "1800", "$user.key.lang": "en", "$flow.key.tricky": TRICKY}
PASSWORD = "pa:ss wörd"


def basic_auth_of(headers) -> tuple[str, str]:
    scheme, _, encoded = headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password


def answer(status: int | None = 200, body: bytes = b"", *, reason: str | None = None, duration: float = 0.1149):
    return OutboundResult(status, headers={"Content-Type": "application/json"}, body=body, duration=duration,
                          error_reason=reason, error_detail="detail" if reason else "")  # fmt: skip


def mapping(save_in: str, path: str, mandatory: bool = False) -> dict[str, Any]:
    return {"save_in": save_in, "path": path, "mandatory": mandatory}


@pytest.fixture
def network():
    with responses.RequestsMock() as mocked:
        yield mocked


@pytest.fixture
def config(acme, widget_public_dns):
    """A stored webhook config for https://api.example.com, with overrides."""

    def make(**overrides: Any) -> dict[str, Any]:
        return clean_webhook_config(acme, **overrides)

    return make


# --- building the request ------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_it_sends_the_configured_method(acme, config, network, method):
    network.add(method, HOOK, status=200)

    outcome = run_webhook_widget(config(method=method), CALL, account=acme)

    assert network.calls[0].request.method == method
    assert outcome.line == "0"


def test_it_renders_the_url_and_sends_basic_auth(acme, config, network):
    network.add("POST", HOOK, status=200)

    run_webhook_widget(config(auth={"type": "basic", "username": "phonon", "password": PASSWORD}), CALL, account=acme)

    request = network.calls[0].request
    assert request.url == HOOK
    assert basic_auth_of(request.headers) == ("phonon", PASSWORD)


def test_it_sends_basic_auth_with_an_empty_password(acme, config, network):
    network.add("POST", HOOK, status=200)

    run_webhook_widget(config(auth={"type": "basic", "username": "api-key-123", "password": ""}), CALL, account=acme)

    assert basic_auth_of(network.calls[0].request.headers) == ("api-key-123", "")


def test_it_renders_headers_without_line_breaks(acme, config, network):
    network.add("POST", HOOK, status=200)
    headers = [
        {"key": "X-Lang", "value": "lang-$user.key.lang", "mandatory": True},
        {"key": "X-Tricky", "value": "$flow.key.tricky", "mandatory": False},
    ]

    run_webhook_widget(config(headers=headers), CALL, account=acme)

    sent = network.calls[0].request.headers
    assert sent["X-Lang"] == "lang-en"
    assert "\n" not in sent["X-Tricky"]
    assert sent["X-Tricky"].encode("latin-1").decode() == TRICKY.replace("\n", "")


def test_query_params_carry_values_verbatim(acme, config, network):
    network.add("POST", HOOK, status=200)
    params = [
        {"key": "cli", "value": "$call.cli", "mandatory": True},
        {"key": "q", "value": "$flow.key.tricky", "mandatory": False},
        {"key": "empty", "value": "$flow.key.unset", "mandatory": False},
    ]

    run_webhook_widget(config(query_params=params), CALL, account=acme)

    query = network.calls[0].request.url.partition("?")[2]
    assert parse_qsl(query, keep_blank_values=True) == [("cli", "555"), ("q", TRICKY), ("empty", "")]


def test_a_json_body_carries_values_verbatim(acme, config, network):
    network.add("POST", HOOK, status=200)
    body = '{"cli": "$call.cli", "tricky": "$flow.key.tricky", "raw": $flow.key.tricky}'

    run_webhook_widget(config(body_type="json", body=body), CALL, account=acme)

    request = network.calls[0].request
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(request.body) == {"cli": "555", "tricky": TRICKY, "raw": TRICKY}


def test_an_xml_body_carries_values_verbatim(acme, config, network):
    network.add("POST", HOOK, status=200)
    body = '<order cli="$call.cli" note="$flow.key.tricky"><tricky>$flow.key.tricky</tricky></order>'

    run_webhook_widget(config(body_type="xml", body=body), CALL, account=acme)

    request = network.calls[0].request
    assert request.headers["Content-Type"] == "application/xml; charset=utf-8"
    root = parse_xml(request.body)
    assert root.get("cli") == "555"
    assert root.get("note") == TRICKY
    assert root.findtext("tricky") == TRICKY


def test_a_form_body_carries_values_verbatim(acme, config, network):
    network.add("POST", HOOK, status=200)

    run_webhook_widget(config(body_type="form", body="cli=$call.cli&tricky=$flow.key.tricky"), CALL, account=acme)

    request = network.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert parse_qsl(request.body.decode()) == [("cli", "555"), ("tricky", TRICKY)]


def test_a_configured_content_type_wins(acme, config, network):
    network.add("POST", HOOK, status=200)
    headers = [{"key": "content-type", "value": "application/vnd.acme+json", "mandatory": False}]

    run_webhook_widget(config(body_type="json", body="{}", headers=headers), CALL, account=acme)

    assert network.calls[0].request.headers["Content-Type"] == "application/vnd.acme+json"


def test_no_body_is_sent_with_body_type_none(acme, config, network):
    network.add("POST", HOOK, status=200)

    run_webhook_widget(config(), CALL, account=acme)

    assert network.calls[0].request.body is None


@pytest.mark.parametrize(
    "where",
    [
        {"headers": [{"key": "X-Token", "value": "$user.key.token", "mandatory": True}]},
        {"query_params": [{"key": "token", "value": " ${user.key.token} ", "mandatory": True}]},
    ],
)
def test_a_mandatory_parameter_that_resolves_empty_stops_the_request(acme, config, network, where):
    outcome = prepare_webhook_request(config(**where), CALL, account=acme)

    assert isinstance(outcome, WidgetOutcome)
    assert outcome.line == "1"
    assert outcome.variables == {
        RESPONSE_STATUS: "FAILED",
        RESPONSE_STATUS_CODE: None,
        RESPONSE_STATUS_TYPE: None,
        RESPONSE_DURATION: "0.00",
        RESPONSE_RAW: None,
        RESPONSE_ERROR: "true",
        ERROR_REASON: "MANDATORY_PARAMETER_MISSING",
    }
    assert outcome.step["error_reason"] == "MANDATORY_PARAMETER_MISSING"
    assert outcome.step["missing_parameters"] in (["X-Token"], ["token"])
    assert len(network.calls) == 0


def test_send_prepared_is_the_one_call_to_the_network(acme, config, settings):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 4096
    prepared = prepare_webhook_request(config(timeout=7), CALL, account=acme)
    assert isinstance(prepared, PreparedRequest)

    with mock.patch("flows.widgets.webhook.send_request", autospec=True, return_value=answer()) as send:
        send_prepared(prepared)

    send.assert_called_once_with(
        "POST",
        HOOK,
        headers={},
        private_headers=SECRET_HEADERS,
        secrets=[],
        params=[],
        data=None,
        auth=None,
        timeout=7,
        allow_http=False,
        allowed_networks=(),
        max_bytes=4096,
        resolve=None,
    )


def test_the_deadline_never_exceeds_the_lowered_maximum(acme, config, settings):
    settings.WEBHOOK_MAX_TIMEOUT_SECONDS = 5

    assert prepare_webhook_request(config(timeout=60), CALL, account=acme).timeout == 5
    assert prepare_webhook_request(config(timeout=3), CALL, account=acme).timeout == 3


def test_the_step_never_shows_the_password(acme, config, network):
    network.add("POST", HOOK, status=200, body="ok")
    headers = [{"key": "Authorization", "value": "Bearer top-token", "mandatory": False}]
    widget = config(auth={"type": "basic", "username": "phonon", "password": PASSWORD}, headers=headers)

    outcome = run_webhook_widget(widget, CALL, account=acme)

    step_text = json.dumps(outcome.step)
    assert PASSWORD not in step_text
    assert "top-token" not in step_text
    assert PASSWORD not in repr(prepare_webhook_request(widget, CALL, account=acme))
    assert outcome.step["auth"] == {"type": "basic", "username": "phonon"}
    assert outcome.step["url"] == HOOK
    assert outcome.step["method"] == "POST"


# --- output variables ----------------------------------------------------------------------


def test_a_success_sets_every_output_variable(acme, config, network):
    network.add("POST", HOOK, status=200, body='{"order": {"status": "shipped"}}')

    outcome = run_webhook_widget(config(), CALL, account=acme)

    assert outcome.line == "0"
    assert outcome.variables[RESPONSE_STATUS] == "SUCCESS"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables[RESPONSE_STATUS_TYPE] == "Success"
    assert outcome.variables[RESPONSE_RAW] == '{"order": {"status": "shipped"}}'
    assert outcome.variables[RESPONSE_ERROR] == "false"
    assert outcome.variables[ERROR_REASON] is None
    assert float(outcome.variables[RESPONSE_DURATION]) >= 0
    assert set(OUTPUT_VARIABLES) <= set(outcome.variables)
    assert all(value is None or isinstance(value, str) for value in outcome.variables.values())


def test_the_step_records_what_happened(acme, config, network):
    network.add("GET", HOOK, status=201, body='"created"')

    outcome = run_webhook_widget(config(method="GET", timeout=9, hold_music=True), CALL, account=acme)

    step = outcome.step
    assert step["type"] == "webhook"
    assert step["mode"] == "custom"
    assert step["method"] == "GET"
    assert step["url"] == HOOK
    assert step["status_code"] == 201
    assert step["error_reason"] is None
    assert isinstance(step["duration"], float)
    assert step["wait_for_response"] is True
    assert step["hold_music"] is True
    assert step["timeout"] == 9
    assert step["response_excerpt"] == '"created"'


def test_the_duration_has_two_decimals(acme):
    outcome = outcome_from_result({}, answer(duration=0.1149))

    assert outcome.variables[RESPONSE_DURATION] == "0.11"


@pytest.mark.parametrize(
    ("status", "status_type", "reason", "line"),
    [
        (100, "Informational", "INVALID_RESPONSE", "1"),
        (200, "Success", None, "0"),
        (204, "Success", None, "0"),
        (299, "Success", None, "0"),
        (304, "Redirection", "REDIRECTION", "1"),
        (400, "Client Error", "CLIENT_ERROR", "1"),
        (404, "Client Error", "CLIENT_ERROR", "1"),
        (429, "Client Error", "CLIENT_ERROR", "1"),
        (500, "Server Error", "SERVER_ERROR", "1"),
        (503, "Server Error", "SERVER_ERROR", "1"),
        (799, None, "INVALID_RESPONSE", "1"),
    ],
)
def test_each_status_class_maps_to_its_type_reason_and_line(status, status_type, reason, line):
    outcome = outcome_from_result({}, answer(status, b'{"error": "x"}'))

    assert outcome.variables[RESPONSE_STATUS_CODE] == str(status)
    assert outcome.variables[RESPONSE_STATUS_TYPE] == status_type
    assert outcome.variables[ERROR_REASON] == reason
    assert outcome.variables[RESPONSE_STATUS] == ("SUCCESS" if reason is None else "FAILED")
    assert outcome.variables[RESPONSE_ERROR] == ("false" if reason is None else "true")
    assert outcome.line == line


def test_an_error_answer_keeps_its_body(acme, config, network):
    network.add("POST", HOOK, status=422, body='{"error": "bad cli"}')

    outcome = run_webhook_widget(config(), CALL, account=acme)

    assert outcome.variables[RESPONSE_RAW] == '{"error": "bad cli"}'
    assert outcome.variables[ERROR_REASON] == "CLIENT_ERROR"
    assert outcome.line == "1"


def test_an_empty_body_is_null(acme, config, network):
    network.add("POST", HOOK, status=204)

    outcome = run_webhook_widget(config(), CALL, account=acme)

    assert outcome.variables[RESPONSE_RAW] is None
    assert outcome.line == "0"


def test_the_body_is_read_in_its_declared_charset():
    result = OutboundResult(
        200, headers={"content-type": "text/plain; charset=ISO-8859-1"}, body="né".encode("latin-1")
    )

    assert outcome_from_result({}, result).variables[RESPONSE_RAW] == "né"


@pytest.mark.parametrize("charset", ["rot13", "base64", "zlib", "undefined", "idna", "punycode", "no-such"])
def test_a_charset_that_is_no_usable_text_encoding_is_read_as_utf8(charset):
    headers = {"Content-Type": f"application/json; charset={charset}"}
    result = OutboundResult(200, headers=headers, body='{"city": "Zürich"}\xff'.encode() + b"\xff")

    outcome = outcome_from_result({}, result)

    assert outcome.variables[RESPONSE_RAW] == '{"city": "Zürich"}\xff\ufffd'
    if charset != "punycode":  # it writes text (a pinned answer) well enough
        assert encode_body("Zürich", headers) == "Zürich".encode()


@pytest.mark.parametrize(
    ("reason", "status"),
    [("TIMEOUT", None), ("CONNECTION_ERROR", None), ("BLOCKED_DESTINATION", None), ("REDIRECTION", 302)],
)
def test_outbound_failures_become_error_reasons(reason, status):
    outcome = outcome_from_result({}, answer(status, reason=reason))

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == reason
    assert outcome.variables[RESPONSE_STATUS] == "FAILED"
    assert outcome.variables[RESPONSE_ERROR] == "true"
    assert outcome.variables[RESPONSE_STATUS_CODE] == (None if status is None else str(status))
    assert outcome.variables[RESPONSE_STATUS_TYPE] == (None if status is None else "Redirection")
    assert outcome.step["error_detail"] == "detail"


def test_a_too_large_answer_keeps_its_code_but_no_body(acme, config, network, settings):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 100
    network.add("POST", HOOK, status=200, body="x" * 500)

    outcome = run_webhook_widget(config(), CALL, account=acme)

    assert outcome.variables[ERROR_REASON] == "RESPONSE_TOO_LARGE"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables[RESPONSE_RAW] is None
    assert outcome.line == "1"


# --- mappings ------------------------------------------------------------------------------

ORDER = {"order": {"status": "shipped", "items": [{"sku": "a1"}, {"sku": "b2"}], "total": 12.5, "paid": True}}


def mapped(mappings: list[dict[str, Any]], body: Any = ORDER, response_type: str = "json", **config: Any):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    widget = {"mappings": mappings, "response_type": response_type, **config}
    return outcome_from_result(widget, answer(200, raw))


def test_a_scalar_mapping_stores_its_text():
    outcome = mapped(
        [
            mapping("$flow.key.status", "data.order.status", mandatory=True),
            mapping("$flow.key.total", "data.order.total"),
            mapping("$flow.key.paid", "data.order.paid"),
        ]
    )

    assert outcome.line == "0"
    assert outcome.variables["$flow.key.status"] == "shipped"
    assert outcome.variables["$flow.key.total"] == "12.5"
    assert outcome.variables["$flow.key.paid"] == "true"


def test_an_array_is_deserialised():
    outcome = mapped([mapping("$flow.key.skus", "data.order.items[*].sku")])

    assert outcome.variables["$flow.key.skus"] == '["a1","b2"]'
    assert outcome.variables["$flow.key.skus_count"] == "2"
    assert outcome.variables["$flow.key.skus_0"] == "a1"
    assert outcome.variables["$flow.key.skus_1"] == "b2"


def test_a_wildcard_matching_one_item_is_still_an_array():
    one_item = {"order": {"items": [{"sku": "a1"}]}}

    outcome = mapped([mapping("$flow.key.skus", "data.order.items[*].sku")], one_item)

    assert outcome.line == "0"
    assert outcome.variables["$flow.key.skus"] == '["a1"]'
    assert outcome.variables["$flow.key.skus_count"] == "1"
    assert outcome.variables["$flow.key.skus_0"] == "a1"


def test_a_wildcard_matching_nothing_is_null_with_a_zero_count():
    no_items = {"order": {"items": []}}

    optional = mapped([mapping("$flow.key.skus", "data.order.items[*].sku")], no_items)
    mandatory = mapped([mapping("$flow.key.skus", "data.order.items[*].sku", True)], no_items)

    assert optional.line == "0"
    assert optional.variables["$flow.key.skus"] is None
    assert optional.variables["$flow.key.skus_count"] == "0"
    assert mandatory.line == "1"
    assert mandatory.variables[ERROR_REASON] == "MANDATORY_FIELD_MISSING"


def test_an_object_is_stored_as_compact_json():
    outcome = mapped([mapping("$flow.key.first", "data.order.items[0]")])

    assert outcome.variables["$flow.key.first"] == '{"sku":"a1"}'


def test_a_missing_optional_mapping_is_null_and_still_succeeds():
    outcome = mapped([mapping("$flow.key.coupon", "data.order.coupon")])

    assert outcome.line == "0"
    assert outcome.variables["$flow.key.coupon"] is None


@pytest.mark.parametrize("body", [ORDER, {"order": {"status": None}}])
def test_a_mandatory_mapping_that_finds_nothing_fails(body):
    outcome = mapped(
        [mapping("$flow.key.status", "data.order.status"), mapping("$flow.key.coupon", "data.order.coupon", True)],
        body,
    )

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "MANDATORY_FIELD_MISSING"
    assert outcome.variables[RESPONSE_STATUS] == "FAILED"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables["$flow.key.coupon"] is None
    assert "$flow.key.coupon" in outcome.step["error_detail"]


def test_an_xml_answer_is_mapped_with_xpath():
    body = b"<order><status>shipped</status><item>a1</item><item>b2</item></order>"

    outcome = mapped(
        [mapping("$flow.key.status", "/order/status", True), mapping("$flow.key.items", "/order/item")],
        body,
        response_type="xml",
    )

    assert outcome.line == "0"
    assert outcome.variables["$flow.key.status"] == "shipped"
    assert outcome.variables["$flow.key.items_count"] == "2"
    assert outcome.variables["$flow.key.items_1"] == "b2"


@pytest.mark.parametrize(
    ("body", "response_type"), [(b"<html>oops</html>", "json"), (b'{"a": 1}', "xml"), (b"", "json")]
)
def test_a_body_that_is_not_the_declared_type_is_an_invalid_response(body, response_type):
    path = "data.a" if response_type == "json" else "/a"

    outcome = mapped([mapping("$flow.key.a", path)], body, response_type=response_type)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.step["error_detail"].startswith("The answer is not valid")


def test_a_mapping_whose_nested_matches_would_multiply_the_answer_fails_the_widget():
    # A partner nests <item> 250 deep around the text: `//item` would store it 250 times over.
    body = ("<item>" * 250 + "x" * 100_000 + "</item>" * 250).encode()

    outcome = mapped([mapping("$flow.key.first", "/item/item"), mapping("$flow.key.items", "//item")], body, "xml")

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert "$flow.key.items" not in outcome.variables and "$flow.key.first" not in outcome.variables
    assert outcome.step["error_detail"].startswith("The mappings would store more than 4,194,304 bytes of text")
    assert "past the limit at $flow.key.items" in outcome.step["error_detail"]


def test_a_mapping_still_searching_at_the_limit_fails_the_widget(monkeypatch):
    monkeypatch.setattr(mapping_sandbox, "READ_SECONDS", 0.5)
    body = b"<r>" + b"<a/>" * 100_000 + b"</r>"  # the path below would search it 10 billion times

    outcome = mapped([mapping("$flow.key.n", "/r/@n"), mapping("$flow.key.all", "//*[count(//*) > 0]")], body, "xml")

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert outcome.step["error_detail"].startswith(
        "Reading the mappings ($flow.key.n, $flow.key.all) from this 400,007-byte answer took longer than 0.5 s"
    )


@pytest.mark.parametrize(
    ("body", "response_type"), [(b"not json{", "json"), (b"<html>plain page", "xml"), (b"<r/>", "json")]
)
def test_without_mappings_an_unparsable_body_is_still_an_invalid_response(body, response_type):
    outcome = outcome_from_result({"response_type": response_type}, answer(200, body))

    assert outcome.line == "1"
    assert outcome.variables[RESPONSE_STATUS] == "FAILED"
    assert outcome.variables[RESPONSE_ERROR] == "true"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables[RESPONSE_STATUS_TYPE] == "Success"
    assert outcome.variables[RESPONSE_RAW] == body.decode()
    assert outcome.step["error_detail"].startswith("The answer is not valid")


@pytest.mark.parametrize("response_type", ["json", "xml"])
@pytest.mark.parametrize(("status", "body"), [(204, b""), (200, b""), (200, b" \r\n ")])
def test_without_mappings_an_empty_body_is_a_success(response_type, status, body):
    outcome = outcome_from_result({"response_type": response_type}, answer(status, body))

    assert outcome.line == "0"
    assert outcome.variables[ERROR_REASON] is None


def test_without_mappings_a_valid_body_is_a_success():
    assert outcome_from_result({"response_type": "json"}, answer(200, b'{"ok": true}')).line == "0"
    assert outcome_from_result({"response_type": "xml"}, answer(200, b"<ok/>")).line == "0"


def test_mappings_are_not_applied_to_error_answers():
    result = answer(500, b'{"order": {"status": "x"}}')

    outcome = outcome_from_result({"mappings": [mapping("$flow.key.status", "data.order.status", True)]}, result)

    assert outcome.variables[ERROR_REASON] == "SERVER_ERROR"
    assert "$flow.key.status" not in outcome.variables


def test_persist_response_keeps_the_mapped_names():
    mappings = [mapping("$flow.key.status", "data.order.status"), mapping("$flow.key.skus", "data.order.items[*].sku")]

    kept = mapped(mappings, persist_response=True)
    not_kept = mapped(mappings)

    assert kept.persisted == ["$flow.key.status", "$flow.key.skus"]
    assert not_kept.persisted == []


# --- internal mode -------------------------------------------------------------------------


@pytest.fixture
def internal_calls(monkeypatch):
    calls: list[tuple] = []

    def fake(account, name, method, parameters):
        calls.append((account, name, method, parameters))
        if name == "explode":
            raise RuntimeError("boom")
        return name != "refuse", f"{name} done"

    monkeypatch.setattr("webhooks.internal_functions.call_internal_function", fake)
    return calls


def test_an_internal_widget_passes_the_chosen_groups(acme, internal_calls):
    variables = {**CALL, "$flow.key.order": "7"}
    config = {"mode": "internal", "function": "cli_pause_update", "method": "POST", "parameters": ["call", "user_key"]}

    outcome = run_internal_widget(config, variables, account=acme)

    assert internal_calls == [
        (acme, "cli_pause_update", "POST", {"$call.cli": "555", "$call.did": "1800", "$user.key.lang": "en"})
    ]
    assert outcome.line == "0"
    assert outcome.variables == {"$flow.key.cli_pause_update": "cli_pause_update done"}
    assert outcome.step["mode"] == "internal"
    assert outcome.step["succeeded"] is True


def test_an_internal_failure_leaves_on_line_1(acme, internal_calls):
    config = {"mode": "internal", "function": "refuse", "method": "POST", "parameters": []}

    outcome = run_webhook_widget(config, CALL, account=acme)

    assert internal_calls[0][3] == {}
    assert outcome.line == "1"
    assert outcome.variables == {"$flow.key.refuse": "refuse done"}


def test_an_internal_function_that_crashes_fails_the_widget_not_the_engine(acme, internal_calls):
    config = {"mode": "internal", "function": "explode", "method": "POST", "parameters": ["flow_key"]}

    outcome = run_internal_widget(config, CALL, account=acme)

    assert outcome.line == "1"
    assert outcome.variables == {"$flow.key.explode": "The internal function explode failed unexpectedly."}


# --- a real server -------------------------------------------------------------------------


@pytest.fixture
def server(widget_server, widget_loopback_allowed):
    return widget_server


def live_config(account, server, path: str = "/hook", **overrides: Any) -> dict[str, Any]:
    return clean_webhook_config(account, url=server.url(path), **overrides)


def run_live(account, server, path: str = "/hook", variables=CALL, **overrides: Any) -> WidgetOutcome:
    return run_webhook_widget(live_config(account, server, path, **overrides), variables, account=account)


def test_a_real_answer_is_mapped(acme, server):
    server.reply("/hook", Reply(body=json.dumps(ORDER), headers={"Content-Type": "application/json"}))

    outcome = run_live(
        acme,
        server,
        mappings=[mapping("$flow.key.status", "data.order.status", True), mapping("$flow.key.sku", "data.order.items")],
    )

    assert outcome.line == "0"
    assert outcome.variables[RESPONSE_STATUS] == "SUCCESS"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables["$flow.key.status"] == "shipped"
    assert outcome.variables["$flow.key.sku"] == '[{"sku":"a1"},{"sku":"b2"}]'
    assert outcome.variables["$flow.key.sku_count"] == "2"
    assert outcome.variables["$flow.key.sku_0"] == '{"sku":"a1"}'


def test_values_arrive_verbatim_at_a_real_server(acme, server):
    server.reply("/hook", Reply(status=200))
    query = [{"key": "q", "value": "$flow.key.tricky", "mandatory": True}]
    bodies = {
        "json": '{"tricky": "$flow.key.tricky"}',
        "xml": '<r a="$flow.key.tricky"><t>$flow.key.tricky</t></r>',
        "form": "tricky=$flow.key.tricky",
    }
    for body_type, body in bodies.items():
        assert run_live(acme, server, body_type=body_type, body=body, query_params=query).line == "0"

    json_request, xml_request, form_request = server.requests
    assert json.loads(json_request.body)["tricky"] == TRICKY
    xml_root = parse_xml(xml_request.body)
    assert xml_root.findtext("t") == TRICKY
    assert xml_root.get("a") == TRICKY
    assert parse_qsl(form_request.text) == [("tricky", TRICKY)]
    assert all(request.query == [("q", TRICKY)] for request in server.requests)


def test_basic_auth_and_headers_reach_a_real_server(acme, server):
    server.reply("/hook", Reply(status=200))

    run_live(
        acme,
        server,
        method="PUT",
        auth={"type": "basic", "username": "phonon", "password": PASSWORD},
        headers=[{"key": "X-Cli", "value": "$call.cli", "mandatory": True}],
    )

    request = server.requests[0]
    assert request.method == "PUT"
    assert basic_auth_of(request.headers) == ("phonon", PASSWORD)
    assert request.headers["X-Cli"] == "555"


def test_client_error_from_a_real_server(acme, server):
    server.reply("/hook", Reply(status=404, body="no such order"))

    outcome = run_live(acme, server)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "CLIENT_ERROR"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "404"
    assert outcome.variables[RESPONSE_STATUS_TYPE] == "Client Error"
    assert outcome.variables[RESPONSE_RAW] == "no such order"


def test_server_error_from_a_real_server(acme, server):
    server.reply("/hook", Reply(status=502, body="bad gateway"))

    outcome = run_live(acme, server)

    assert outcome.variables[ERROR_REASON] == "SERVER_ERROR"
    assert outcome.variables[RESPONSE_STATUS_TYPE] == "Server Error"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "502"


def test_a_redirect_is_followed(acme, server):
    server.reply("/hook", Reply.redirect(server.url("/moved")))
    server.reply("/moved", Reply(body='{"ok": true}'))

    outcome = run_live(acme, server, mappings=[mapping("$flow.key.ok", "data.ok", True)])

    assert outcome.line == "0"
    assert outcome.variables["$flow.key.ok"] == "true"
    assert outcome.step["final_url"] == server.url("/moved")


def test_endless_redirects_are_a_redirection_error(acme, server):
    server.reply("/hook", Reply.redirect(server.url("/hook")))

    outcome = run_live(acme, server)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "REDIRECTION"
    assert outcome.variables[RESPONSE_STATUS_TYPE] == "Redirection"
    assert len(server.requests_to("/hook")) == 6  # the first request and 5 redirects


def test_a_redirect_that_ends_the_chain_is_a_redirection_error(acme, server):
    server.reply("/hook", Reply(status=304))

    outcome = run_live(acme, server)

    assert outcome.variables[ERROR_REASON] == "REDIRECTION"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "304"


def test_a_redirect_to_another_origin_carries_no_credential_header(acme, server):
    """A secret row, an API key and a cookie stay on the origin asked; other headers go on."""
    server.reply("/hook", Reply.redirect(server.url("/elsewhere", host="localhost")))
    server.reply("/elsewhere", Reply(body="{}"))
    rows = [
        {"key": "X-Token", "value": "t0ken-1", "secret": True},
        {"key": "X-Api-Key", "value": "k3y-123"},
        {"key": "Cookie", "value": "session=s3cr3t"},
        {"key": "X-Trace", "value": "trace-9"},
    ]
    config = live_config(acme, server, headers=rows)
    prepared = prepare_webhook_request(config, CALL, account=acme)
    prepared.resolve = lambda host, port: ["127.0.0.1"]

    assert outcome_from_result(config, send_prepared(prepared), prepared).line == "0"

    [asked], [elsewhere] = server.requests_to("/hook"), server.requests_to("/elsewhere")
    assert (asked.headers["X-Token"], asked.headers["Cookie"]) == ("t0ken-1", "session=s3cr3t")
    assert elsewhere.headers["Host"] == f"localhost:{server.port}"
    assert [name for name in ("X-Token", "X-Api-Key", "Cookie") if name in elsewhere.headers] == []
    assert elsewhere.headers["X-Trace"] == "trace-9"


@pytest.mark.parametrize("redirect", ["refused", "endless"])
def test_a_secret_query_value_stays_out_of_a_redirections_detail(acme, server, redirect):
    secret = "t0k 456/é"  # as written, and URL-encoded in the Location
    target = "http://169.254.169.254/latest/" if redirect == "refused" else server.url("/hook")
    server.reply("/hook", Reply.redirect(f"{target}?{urlencode({'token': secret})}"))
    rows = [{"key": "token", "value": secret, "secret": True}]

    outcome = run_live(acme, server, query_params=rows)

    assert outcome.variables[ERROR_REASON] in ("REDIRECTION", "BLOCKED_DESTINATION")
    assert "***" in outcome.step["error_detail"]
    assert secret not in json.dumps(outcome.step, ensure_ascii=False)
    assert quote_plus(secret) not in json.dumps(outcome.step)


def test_a_dripping_server_is_cut_at_the_deadline(acme, server):
    server.reply("/hook", Reply(body=b"x" * 100, drip=0.2))

    outcome = run_live(acme, server, timeout=1)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "TIMEOUT"
    assert outcome.variables[RESPONSE_STATUS] == "FAILED"
    assert 0.9 <= float(outcome.variables[RESPONSE_DURATION]) < 5  # cut at the deadline, not 20 s later


def test_a_closed_port_is_a_connection_error(acme, widget_loopback_allowed):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = clean_webhook_config(acme, url=f"http://127.0.0.1:{port}/hook")

    outcome = run_webhook_widget(config, CALL, account=acme)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "CONNECTION_ERROR"
    assert outcome.variables[RESPONSE_STATUS_CODE] is None
    assert outcome.variables[RESPONSE_STATUS_TYPE] is None


def test_a_loopback_url_outside_the_allowed_networks_is_blocked(acme, server, settings):
    server.reply("/hook", Reply(status=200))
    config = live_config(acme, server)
    settings.WEBHOOK_ALLOWED_NETWORKS = ()

    outcome = run_webhook_widget(config, CALL, account=acme)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "BLOCKED_DESTINATION"
    assert outcome.variables[RESPONSE_STATUS_CODE] is None
    assert server.requests == []


def test_a_name_that_resolves_to_loopback_is_blocked(acme, server, settings):
    server.reply("/hook", Reply(status=200))
    config = clean_webhook_config(acme, url=server.url("/hook", host="hooks.example.com"))
    settings.WEBHOOK_ALLOWED_NETWORKS = ()
    prepared = prepare_webhook_request(config, CALL, account=acme)
    prepared.resolve = lambda host, port: ["127.0.0.1"]

    outcome = outcome_from_result(config, send_prepared(prepared), prepared)

    assert outcome.variables[ERROR_REASON] == "BLOCKED_DESTINATION"
    assert server.requests == []


def test_a_redirect_to_a_blocked_address_is_not_followed(acme, server, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.1/32"),)
    server.reply("/hook", Reply.redirect(f"http://169.254.169.254:{server.port}/latest/meta-data"))

    outcome = run_live(acme, server)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "BLOCKED_DESTINATION"


@pytest.mark.parametrize("content_length", [True, False])
def test_a_too_large_answer_from_a_real_server(acme, server, settings, content_length):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 1000
    body = b"x" * 5000 if content_length else iter([b"x" * 600] * 10)
    server.reply("/hook", Reply(body=body, content_length=content_length))

    outcome = run_live(acme, server)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "RESPONSE_TOO_LARGE"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables[RESPONSE_RAW] is None


def test_an_invalid_answer_without_mappings_from_a_real_server(acme, server):
    server.reply("/hook", Reply(body="not json{"))

    outcome = run_live(acme, server)

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert outcome.variables[RESPONSE_STATUS_CODE] == "200"
    assert outcome.variables[RESPONSE_RAW] == "not json{"


def test_an_invalid_answer_from_a_real_server(acme, server):
    server.reply("/hook", Reply(body="<html>maintenance</html>"))

    outcome = run_live(acme, server, mappings=[mapping("$flow.key.status", "data.status")])

    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert outcome.variables[RESPONSE_RAW] == "<html>maintenance</html>"


def test_a_missing_mandatory_field_from_a_real_server(acme, server):
    server.reply("/hook", Reply(body='{"order": {}}'))

    outcome = run_live(acme, server, mappings=[mapping("$flow.key.status", "data.order.status", True)])

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "MANDATORY_FIELD_MISSING"


def test_a_missing_mandatory_parameter_sends_nothing_to_a_real_server(acme, server):
    server.reply("/hook", Reply(status=200))

    outcome = run_live(acme, server, headers=[{"key": "X-Token", "value": "$user.key.token", "mandatory": True}])

    assert outcome.variables[ERROR_REASON] == "MANDATORY_PARAMETER_MISSING"
    assert server.requests == []


def test_an_xxe_answer_is_an_invalid_response_and_leaks_nothing(acme, server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    body = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]><r><a>before&x;after</a></r>'
    server.reply("/hook", Reply(body=body))

    outcome = run_live(
        acme, server, response_type="xml", mappings=[mapping("$flow.key.a", "/r/a"), mapping("$flow.key.r", "/r")]
    )

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert "entities are refused" in outcome.step["error_detail"]
    assert "$flow.key.a" not in outcome.variables
    assert "TOP-SECRET-MARKER" not in json.dumps(outcome.variables)
    assert "TOP-SECRET-MARKER" not in json.dumps(outcome.step)


def test_an_xxe_answer_without_mappings_is_an_invalid_response():
    body = b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>'

    outcome = outcome_from_result({"response_type": "xml"}, answer(200, body))

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert "root:" not in json.dumps(outcome.variables)


def test_a_billion_laughs_answer_is_an_invalid_response(acme, server):
    entities = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
    body = f'<?xml version="1.0"?><!DOCTYPE lolz [{"".join(entities)}]><lolz>&lol9;</lolz>'
    server.reply("/hook", Reply(body=body))

    outcome = run_live(acme, server, response_type="xml", mappings=[mapping("$flow.key.lolz", "/lolz")])

    assert outcome.line == "1"
    assert outcome.variables[ERROR_REASON] == "INVALID_RESPONSE"
    assert "$flow.key.lolz" not in outcome.variables
    assert float(outcome.variables[RESPONSE_DURATION]) < 5  # expansion would take minutes


def test_a_host_name_with_a_public_address_passes_the_policy(acme, config, network):
    """widget_public_dns maps api.example.com to a public address; the step shows the name, not the address."""
    network.add("POST", HOOK, status=200)

    outcome = run_webhook_widget(config(), CALL, account=acme)

    assert outcome.line == "0"
    assert PUBLIC_ADDRESS not in outcome.step["url"]


def test_an_internal_widget_runs_the_real_catalogue_function(acme, globex):
    from phone_numbers.models import BlockedCaller

    BlockedCaller.objects.create(account=acme, number="555")
    BlockedCaller.objects.create(account=globex, number="777")
    config = {"mode": "internal", "function": "caller_blocklist_check", "method": "GET", "parameters": ["call"]}

    blocked = run_internal_widget(config, CALL, account=acme)
    allowed = run_internal_widget(config, {**CALL, "$call.cli": "777"}, account=acme)  # globex's, not acme's
    no_caller = run_internal_widget({**config, "parameters": []}, CALL, account=acme)

    assert (blocked.line, blocked.variables) == ("0", {"$flow.key.caller_blocklist_check": "blocked"})
    assert (allowed.line, allowed.variables) == ("0", {"$flow.key.caller_blocklist_check": "allowed"})
    assert no_caller.line == "1"


def test_an_https_server_is_called_without_http_support(acme, settings, monkeypatch, tmp_path):
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)
    certificates = make_test_certificates(tmp_path, ("127.0.0.1",))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_path))
    assert acme.http_support_enabled is False
    with local_http_server(tls=certificates) as tls_server:
        tls_server.reply("/hook", Reply(body='{"status": "ok"}'))
        config = clean_webhook_config(
            acme, url=tls_server.url("/hook"), mappings=[mapping("$flow.key.status", "data.status", True)]
        )

        outcome = run_webhook_widget(config, CALL, account=acme)

    assert tls_server.url("/hook").startswith("https://")
    assert outcome.line == "0"
    assert outcome.variables["$flow.key.status"] == "ok"
