"""validate_flow: the graph, each widget's config, and what is stored (SPEC §6)."""

from __future__ import annotations

import html
import ipaddress
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest
from django.template.loader import get_template

from flows.tests.widget_fixtures import end_widget, flow_data, webhook_widget
from flows.validation import FlowValidationError, public_widgets, validate_flow
from phonon.encryption import decrypt_secret


def errors_of(data: dict[str, Any], account, **kwargs: Any) -> dict[str, list[str]]:
    with pytest.raises(FlowValidationError) as caught:
        validate_flow(data, account=account, **kwargs)
    return caught.value.errors


def webhook_errors(account, **config: Any) -> dict[str, list[str]]:
    return errors_of(flow_data(webhook_widget(**config), end_widget()), account)


def assign_widget(widget_id: str = "a1", assignments: Any = None, next_: Any = None) -> dict[str, Any]:
    return {
        "id": widget_id,
        "type": "assign",
        "config": {"assignments": assignments or [{"variable": "$flow.key.x", "value": "$call.cli"}]},
        "next": next_ if next_ is not None else {"0": "end"},
    }


@pytest.fixture
def catalogue(monkeypatch):
    """A known catalogue, so these tests do not depend on which functions the webhooks app ships."""
    functions = {
        "cli_pause_update": SimpleNamespace(name="cli_pause_update", methods=("POST",)),
        "lookup_caller": SimpleNamespace(name="lookup_caller", methods=("GET", "POST")),
    }
    monkeypatch.setattr("webhooks.internal_functions.INTERNAL_FUNCTIONS", functions, raising=False)
    return functions


# --- a valid flow --------------------------------------------------------------------------


def test_it_fills_the_webhook_defaults(acme):
    cleaned = validate_flow(flow_data(webhook_widget(), end_widget()), account=acme)

    config = cleaned["widgets"][0]["config"]
    assert config == {
        "mode": "custom",
        "url": "https://api.example.com/orders/$call.cli",
        "method": "POST",
        "auth": {"type": "none"},
        "headers": [],
        "query_params": [],
        "body_type": "none",
        "body": "",
        "response_type": "json",
        "mappings": [],
        "wait_for_response": True,
        "timeout": 60,
        "hold_music": False,
        "persist_response": False,
        "notes": "",
        "retries": {"count": 0, "on": ["CONNECTION_ERROR", "TIMEOUT", "SERVER_ERROR", "429"]},
        "idempotency_key": False,
        "cache": {"ttl": 0, "key": "", "stale_on_error": False},
    }
    assert cleaned["start"] == "w1"
    assert cleaned["name"] == "Order status"
    assert cleaned["widgets"][0]["next"] == {"0": "end", "1": "end"}
    assert cleaned["widgets"][1] == {"id": "end", "type": "end", "config": {"notes": ""}, "next": {}}


def test_it_keeps_the_example_flow_of_the_spec(acme):
    data = {
        "name": "Order status",
        "flow_end_webhook": True,
        "start": "w1",
        "widgets": [
            webhook_widget(
                "w1",
                method="GET",
                headers=[{"key": "X-Token", "value": "$user.key.token", "mandatory": True}],
                query_params=[{"key": "cli", "value": "$call.cli", "mandatory": False}],
                response_type="json",
                mappings=[{"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": True}],
                timeout=10,
                persist_response=True,
            )
            | {"next": {"0": "w2", "1": "w3"}},
            assign_widget("w2", next_={"0": "w3"}),
            end_widget("w3"),
        ],
    }

    cleaned = validate_flow(data, account=acme)

    webhook = cleaned["widgets"][0]["config"]
    assert webhook["headers"] == [{"key": "X-Token", "value": "$user.key.token", "mandatory": True, "secret": False}]
    assert webhook["mappings"] == [
        {"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": True}
    ]
    assert webhook["timeout"] == 10
    assert cleaned["flow_end_webhook"] is True
    assert cleaned["widgets"][1]["config"]["assignments"] == [{"variable": "$flow.key.x", "value": "$call.cli"}]


def test_a_loop_with_a_way_out_is_allowed(acme):
    retry = webhook_widget("w1") | {"next": {"0": "end", "1": "w1"}}

    cleaned = validate_flow(flow_data(retry, end_widget()), account=acme)

    assert cleaned["widgets"][0]["next"] == {"0": "end", "1": "w1"}


# --- the graph -----------------------------------------------------------------------------


def test_it_refuses_a_missing_start(acme):
    data = flow_data(webhook_widget(), end_widget())
    del data["start"]

    errors = errors_of(data, acme)

    assert errors["start"] == ["The flow needs a start widget; set start to the id of the first widget."]


def test_it_refuses_a_start_that_is_not_a_widget(acme):
    errors = errors_of(flow_data(webhook_widget(), end_widget(), start="w9"), acme)

    assert "'w9' is not a widget of this flow" in errors["start"][0]


def test_it_refuses_a_line_to_an_unknown_id(acme):
    widget = webhook_widget() | {"next": {"0": "end", "1": "nowhere"}}

    errors = errors_of(flow_data(widget, end_widget()), acme)

    assert errors["widgets.w1.next.1"] == ["Widget w1: line 1 goes to 'nowhere', which is not a widget of this flow."]


def test_it_refuses_a_dangling_line(acme):
    widget = webhook_widget() | {"next": {"0": "end"}}

    errors = errors_of(flow_data(widget, end_widget()), acme)

    assert errors["widgets.w1.next.1"][0].startswith("Widget w1: line 1 is not connected")


def test_a_widget_with_no_lines_yet_is_told_to_connect_them_not_that_it_loops(acme):
    first = webhook_widget() | {"next": {}}
    second = assign_widget("a1", next_={})

    errors = errors_of(flow_data(first, second, end_widget(), start="w1"), acme)

    assert "widgets.w1.next.0" in errors and "widgets.w1.next.1" in errors
    assert not any("loop forever" in message for messages in errors.values() for message in messages), errors


def test_a_widget_label_is_kept_trimmed_and_limited(acme):
    labelled = webhook_widget() | {"label": "  Look up the order  "}
    cleaned = validate_flow(flow_data(labelled, end_widget()), account=acme)
    assert cleaned["widgets"][0]["label"] == "Look up the order"
    assert "label" not in cleaned["widgets"][1]

    errors = errors_of(flow_data(webhook_widget() | {"label": "x" * 61}, end_widget()), acme)
    assert errors["widgets.w1.label"] == ["Widget w1: the label can be at most 60 characters; it has 61."]
    errors = errors_of(flow_data(webhook_widget() | {"label": "two\nlines"}, end_widget()), acme)
    assert errors["widgets.w1.label"] == ["Widget w1: the label must be one line of text."]


def test_it_refuses_a_line_with_no_target(acme):
    widget = webhook_widget() | {"next": {"0": "end", "1": None}}

    errors = errors_of(flow_data(widget, end_widget()), acme)

    assert errors["widgets.w1.next.1"] == ["Widget w1: line 1 is not connected to a widget."]


def test_it_refuses_an_unreachable_widget(acme):
    errors = errors_of(flow_data(webhook_widget(), assign_widget("orphan"), end_widget()), acme)

    assert errors["widgets.orphan"] == [
        "Widget orphan cannot be reached from the start widget w1; connect a line to it or delete it."
    ]


def test_it_refuses_a_loop_with_no_way_out(acme):
    first = assign_widget("a1", next_={"0": "a2"})
    second = assign_widget("a2", next_={"0": "a1"})

    errors = errors_of(flow_data(first, second, end_widget("end"), start="a1"), acme)

    assert "Widget a1 never leads to an end widget" in errors["widgets.a1"][0]
    assert "widgets.end" in errors  # and the end widget is unreachable


def test_it_refuses_duplicate_ids(acme):
    errors = errors_of(flow_data(webhook_widget(), webhook_widget(), end_widget()), acme)

    assert errors["widgets.w1.id"] == ["Widget w1: the id is used by more than one widget."]


def test_it_refuses_an_unknown_widget_type(acme):
    odd = {"id": "w2", "type": "sms", "config": {}, "next": {}}

    errors = errors_of(flow_data(webhook_widget() | {"next": {"0": "w2", "1": "end"}}, odd, end_widget()), acme)

    assert errors["widgets.w2.type"] == ["Widget w2: the type 'sms' is unknown; use webhook, assign or end."]
    assert "widgets.w1.next.0" not in errors  # no second error for the line to it


def test_it_refuses_lines_a_widget_does_not_have(acme):
    assign = assign_widget("w1", next_={"0": "end", "1": "end"})
    end = end_widget() | {"next": {"0": "w1"}}

    errors = errors_of(flow_data(assign, end), acme)

    assert "Widget w1: an assign widget has line(s) \"0\", not '1'." in errors["widgets.w1.next"]
    assert errors["widgets.end.next"] == ["Widget end: an end widget has no outgoing lines; remove '0'."]


def test_it_needs_an_end_widget(acme):
    errors = errors_of(flow_data(assign_widget("a1", next_={"0": "a1"}), start="a1"), acme)

    assert errors["widgets"] == ["The flow needs at least one end widget, so every call can finish."]


def test_it_refuses_a_widget_without_an_id(acme):
    errors = errors_of(flow_data({"type": "end"}, start="x"), acme)

    assert errors["widgets"][0].startswith("Widget number 1 needs an id")


def test_it_refuses_a_flow_without_a_name_or_widgets(acme):
    errors = errors_of({"name": " ", "start": "w1", "widgets": []}, acme)

    assert errors["name"] == ["The flow needs a name."]
    assert errors["widgets"] == ["The flow needs a list of widgets with at least one end widget."]


def test_it_collects_every_error_at_once(acme):
    widget = webhook_widget(timeout=0, method="FETCH") | {"next": {"0": "end"}}

    errors = errors_of(flow_data(widget, end_widget()), acme)

    assert {"widgets.w1.config.timeout", "widgets.w1.config.method", "widgets.w1.next.1"} <= set(errors)


# --- webhook config ------------------------------------------------------------------------


@pytest.mark.parametrize("timeout", [61, 0, -5, 30.5, "30", True, None])
def test_it_refuses_a_timeout_outside_1_to_60_seconds(acme, timeout):
    errors = webhook_errors(acme, timeout=timeout)

    message = errors["widgets.w1.config.timeout"][0]
    assert message.startswith("Widget w1: timeout must be between 1 and 60 seconds")


@pytest.mark.parametrize("timeout", [1, 60])
def test_it_accepts_the_timeout_limits(acme, timeout):
    cleaned = validate_flow(flow_data(webhook_widget(timeout=timeout), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["timeout"] == timeout


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_it_accepts_the_seven_methods(acme, method):
    cleaned = validate_flow(flow_data(webhook_widget(method=method), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["method"] == method


@pytest.mark.parametrize(("sent", "stored"), [("get", "GET"), ("Post", "POST"), (" delete ", "DELETE")])
def test_a_method_in_any_case_is_stored_upper_case(acme, sent, stored):
    cleaned = validate_flow(flow_data(webhook_widget(method=sent), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["method"] == stored


def test_an_internal_functions_method_in_any_case_is_stored_upper_case(acme, catalogue):
    config = {"mode": "internal", "function": "lookup_caller", "method": "get"}

    cleaned = validate_flow(flow_data(webhook_widget() | {"config": config}, end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["method"] == "GET"


def test_it_refuses_another_method(acme):
    errors = webhook_errors(acme, method="TRACE")

    assert (
        "Widget w1: method must be one of GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD"
        in (errors["widgets.w1.config.method"][0])
    )


def test_it_refuses_an_unknown_setting(acme):
    errors = webhook_errors(acme, timout=5)

    assert errors["widgets.w1.config.timout"] == [
        "Widget w1: 'timout' is not a setting of a webhook widget; remove it."
    ]


def test_only_the_chosen_modes_settings_are_stored(acme, catalogue):
    leftovers = {"url": "https://api.example.com/x", "timeout": 5, "function": "lookup_caller"}

    custom = validate_flow(flow_data(webhook_widget(**leftovers), end_widget()), account=acme)
    internal_config = {**leftovers, "mode": "internal", "method": "GET"}
    internal_widget = validate_flow(
        flow_data(webhook_widget() | {"config": internal_config}, end_widget()), account=acme
    )

    assert "function" not in custom["widgets"][0]["config"]
    assert internal_widget["widgets"][0]["config"] == {
        "mode": "internal",
        "function": "lookup_caller",
        "method": "GET",
        "parameters": [],
        "notes": "",
    }


@pytest.mark.parametrize("key", ["wait_for_response", "hold_music", "persist_response"])
def test_flags_must_be_booleans(acme, key):
    errors = webhook_errors(acme, **{key: "yes"})

    assert errors[f"widgets.w1.config.{key}"] == [f"Widget w1: {key} must be true or false."]


def test_notes_are_sanitised(acme):
    notes = '<p onclick="steal()">Call <b>us</b></p><script>alert(1)</script><img src="x.png"><iframe></iframe>'

    cleaned = validate_flow(flow_data(webhook_widget(notes=notes), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["notes"] == "<p>Call <b>us</b></p>"


def test_notes_over_1000_visible_characters_are_refused(acme):
    errors = webhook_errors(acme, notes="<p>" + "x" * 1001 + "</p>")

    assert errors["widgets.w1.config.notes"] == ["Max 1000 characters are allowed"]


def test_notes_count_visible_text_not_markup(acme):
    notes = "<p><b>" + "x" * 1000 + "</b></p>"

    cleaned = validate_flow(flow_data(webhook_widget(notes=notes), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["notes"] == notes


def test_end_and_assign_widgets_take_notes_too(acme):
    errors = errors_of(
        flow_data(assign_widget("a1") | {"config": {"assignments": [], "notes": "y" * 1001}}, end_widget(), start="a1"),
        acme,
    )

    assert errors["widgets.a1.config.notes"] == ["Max 1000 characters are allowed"]


def test_it_refuses_a_bad_json_path(acme):
    errors = webhook_errors(acme, mappings=[{"save_in": "$flow.key.status", "path": "data.order[", "mandatory": False}])

    message = errors["widgets.w1.config.mappings.0.path"][0]
    assert message.startswith("Widget w1: mapping 1: The path 'data.order[' is not a valid JSON path")


def test_a_json_path_must_start_at_data(acme):
    errors = webhook_errors(acme, mappings=[{"save_in": "$flow.key.status", "path": "$.order", "mandatory": False}])

    assert "must start with data" in errors["widgets.w1.config.mappings.0.path"][0]


def test_it_refuses_a_bad_xpath(acme):
    errors = webhook_errors(
        acme, response_type="xml", mappings=[{"save_in": "$flow.key.status", "path": "//order[", "mandatory": True}]
    )

    assert errors["widgets.w1.config.mappings.0.path"][0].startswith("Widget w1: mapping 1: The XPath '//order['")


def test_paths_are_checked_against_the_response_type(acme):
    mappings = [{"save_in": "$flow.key.status", "path": "/order/status", "mandatory": True}]

    assert "widgets.w1.config.mappings.0.path" in webhook_errors(acme, response_type="json", mappings=mappings)
    cleaned = validate_flow(
        flow_data(webhook_widget(response_type="xml", mappings=mappings), end_widget()), account=acme
    )
    assert cleaned["widgets"][0]["config"]["mappings"] == mappings


@pytest.mark.parametrize("save_in", ["order_status", "$call.cli", "$user.key.x", "$flow.key.", "$flow.key.a-b"])
def test_a_mapping_saves_in_a_flow_key_variable(acme, save_in):
    errors = webhook_errors(acme, mappings=[{"save_in": save_in, "path": "data.status", "mandatory": False}])

    assert (
        "Widget w1: mapping 1 must be saved in a flow variable like $flow.key.order_status"
        in (errors["widgets.w1.config.mappings.0.save_in"][0])
    )


def test_a_mapping_cannot_overwrite_an_output_variable(acme):
    errors = webhook_errors(
        acme, mappings=[{"save_in": "$flow.key.response_status", "path": "data.status", "mandatory": False}]
    )

    assert "set by the widget itself" in errors["widgets.w1.config.mappings.0.save_in"][0]


@pytest.mark.parametrize(
    ("body_type", "body", "expected"),
    [
        ("json", '{"cli": "$call.cli"', "The JSON body is not valid JSON"),
        ("xml", "<order><cli>$call.cli</cli>", "The XML body is not well-formed XML"),
        ("xml", "<$call.cli/>", "inside a tag or declaration"),
        ("form", "cli", "is not a key=value pair"),
        ("json", "", "The JSON body is empty"),
    ],
)
def test_it_refuses_a_bad_body_template(acme, body_type, body, expected):
    errors = webhook_errors(acme, body_type=body_type, body=body)

    message = errors["widgets.w1.config.body"][0]
    assert message.startswith("Widget w1: ")
    assert expected in message


@pytest.mark.parametrize(
    ("body_type", "body"),
    [
        ("json", '{"cli": "$call.cli", "n": $flow.key.n}'),
        ("xml", '<order id="$flow.key.id"><cli>$call.cli</cli></order>'),
        ("form", "cli=$call.cli&lang=$user.key.lang"),
    ],
)
def test_it_accepts_body_templates(acme, body_type, body):
    cleaned = validate_flow(flow_data(webhook_widget(body_type=body_type, body=body), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["body"] == body


def test_the_designers_form_body_help_states_the_servers_rule(acme):
    source = get_template("flows/designer.html").template.source
    help_text = html.unescape(re.sub(r"<[^>]+>", "", source.split("Form data: ", 1)[1].split("</span>", 1)[0]))
    example = help_text.split("e.g. ", 1)[1].rstrip(".")

    cleaned = validate_flow(flow_data(webhook_widget(body_type="form", body=example), end_widget()), account=acme)

    assert "per line" not in help_text and "&" in help_text
    assert cleaned["widgets"][0]["config"]["body"] == "a=1&b=$call.cli"
    assert "widgets.w1.config.body" in webhook_errors(acme, body_type="form", body="a=1\nb=$call.cli")


def test_a_body_is_dropped_with_body_type_none(acme):
    cleaned = validate_flow(flow_data(webhook_widget(body_type="none", body="{"), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["body"] == ""


def test_headers_and_query_params_are_rows(acme):
    errors = webhook_errors(
        acme,
        headers=[
            {"key": "X Bad", "value": "1"},
            {"key": "Content-Length", "value": "1"},
            {"key": "X-$call.cli", "value": "1"},
            {"key": "X-Ok", "value": "1", "mandatory": "yes"},
        ],
        query_params=[{"key": "", "value": "$call.cli"}, "cli=1"],
    )

    assert "Widget w1: header 1 needs a name" in errors["widgets.w1.config.headers.0.key"][0]
    assert errors["widgets.w1.config.headers.1.key"] == [
        "Widget w1: the Content-Length header is set by Phonon itself; remove it."
    ]
    assert "widgets.w1.config.headers.2.key" in errors
    assert errors["widgets.w1.config.headers.3.mandatory"] == [
        "Widget w1: mandatory of header 'X-Ok' must be true or false."
    ]
    assert errors["widgets.w1.config.query_params.0.key"] == ["Widget w1: query parameter 1 needs a name."]
    assert "must be an object with key, value, mandatory and secret" in errors["widgets.w1.config.query_params.1"][0]


# --- the URL -------------------------------------------------------------------------------


def test_the_url_is_required(acme):
    errors = webhook_errors(acme, url="")

    assert errors["widgets.w1.config.url"][0].startswith("Widget w1: the URL is required")


def test_plain_http_needs_http_support(acme):
    errors = webhook_errors(acme, url="http://api.example.com/orders")

    assert "Plain http:// is not allowed for this account" in errors["widgets.w1.config.url"][0]
    acme.http_support_enabled = True
    cleaned = validate_flow(flow_data(webhook_widget(url="http://api.example.com/orders"), end_widget()), account=acme)
    assert cleaned["widgets"][0]["config"]["url"] == "http://api.example.com/orders"


@pytest.mark.parametrize(
    "url",
    [
        "https://$flow.key.host/orders",
        "https://api.example.com$call.cli",
        "https://api.example.com:$flow.key.port/x",
        "$flow.key.url",
        "https://${flow.key.sub}.example.com/",
    ],
)
def test_the_scheme_and_host_must_be_literal(acme, url):
    errors = webhook_errors(acme, url=url)

    assert "write the URL's scheme and host literally" in errors["widgets.w1.config.url"][0]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/orders/$call.cli?lang=$user.key.lang",
        "https://api.example.com/?q=${call.cli}x",
        "https://api.example.com#$call.cli",
    ],
)
def test_variables_may_follow_the_host(acme, url):
    cleaned = validate_flow(flow_data(webhook_widget(url=url), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["url"] == url


def test_host_names_are_not_looked_up_at_save_time(acme):
    """DNS answers change: the policy runs again before every request."""
    url = "https://no-such-host.invalid/hook"

    cleaned = validate_flow(flow_data(webhook_widget(url=url), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["url"] == url


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/x", "https://10.0.0.1/x", "https://169.254.169.254/latest", "https://[::1]/x"]
)
def test_a_private_ip_literal_is_refused_at_save_time(acme, url):
    errors = webhook_errors(acme, url=url)

    assert "webhooks can only call public addresses" in errors["widgets.w1.config.url"][0]


def test_an_allowed_network_may_be_saved(acme, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = (ipaddress.ip_network("127.0.0.0/8"),)

    cleaned = validate_flow(flow_data(webhook_widget(url="https://127.0.0.1:8443/x"), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["url"] == "https://127.0.0.1:8443/x"


@pytest.mark.parametrize("url", ["https://2130706433/", "ftp://api.example.com/", "https:///nohost"])
def test_odd_urls_are_refused(acme, url):
    assert "widgets.w1.config.url" in webhook_errors(acme, url=url)


def test_credentials_do_not_belong_in_the_url(acme):
    errors = webhook_errors(acme, url="https://user:secret@api.example.com/x")

    assert "use basic authentication instead" in errors["widgets.w1.config.url"][0]


def test_an_at_sign_in_the_query_is_not_a_user_name(acme):
    url = "https://api.example.com?email=a@b.example"

    cleaned = validate_flow(flow_data(webhook_widget(url=url), end_widget()), account=acme)

    assert cleaned["widgets"][0]["config"]["url"] == url


# --- basic auth ----------------------------------------------------------------------------


def basic(password: str | None = "s3cret pass", username: str = "phonon") -> dict[str, Any]:  # noqa: S107
    auth = {"type": "basic", "username": username}
    if password is not None:
        auth["password"] = password
    return auth


def test_the_password_is_stored_encrypted(acme):
    cleaned = validate_flow(flow_data(webhook_widget(auth=basic()), end_widget()), account=acme)

    auth = cleaned["widgets"][0]["config"]["auth"]
    assert set(auth) == {"type", "username", "password_encrypted"}
    assert decrypt_secret(auth["password_encrypted"]) == "s3cret pass"
    assert "s3cret pass" not in json.dumps(cleaned)


@pytest.mark.parametrize("password", [None, "", "***"])
def test_a_blank_or_starred_password_keeps_the_previous_one(acme, password):
    stored = validate_flow(flow_data(webhook_widget(auth=basic()), end_widget()), account=acme)

    updated = validate_flow(
        flow_data(webhook_widget(auth=basic(password, username="renamed")), end_widget()),
        account=acme,
        previous=stored["widgets"],
    )

    auth = updated["widgets"][0]["config"]["auth"]
    assert auth["username"] == "renamed"
    assert decrypt_secret(auth["password_encrypted"]) == "s3cret pass"


def test_a_new_password_replaces_the_previous_one(acme):
    stored = validate_flow(flow_data(webhook_widget(auth=basic()), end_widget()), account=acme)

    updated = validate_flow(
        flow_data(webhook_widget(auth=basic("new one")), end_widget()), account=acme, previous=stored["widgets"]
    )

    assert decrypt_secret(updated["widgets"][0]["config"]["auth"]["password_encrypted"]) == "new one"


@pytest.mark.parametrize("password", [None, ""])
def test_basic_auth_may_have_an_empty_password(acme, password):
    cleaned = validate_flow(flow_data(webhook_widget(auth=basic(password, "api-key-123")), end_widget()), account=acme)

    auth = cleaned["widgets"][0]["config"]["auth"]
    assert auth == {"type": "basic", "username": "api-key-123"}
    assert public_widgets(cleaned["widgets"])[0]["config"]["auth"]["password_set"] is False


def test_switching_auth_to_none_and_back_removes_the_stored_password(acme):
    stored = validate_flow(flow_data(webhook_widget(auth=basic()), end_widget()), account=acme)
    without = validate_flow(
        flow_data(webhook_widget(auth={"type": "none"}), end_widget()), account=acme, previous=stored["widgets"]
    )

    back = validate_flow(
        flow_data(webhook_widget(auth=basic("")), end_widget()), account=acme, previous=without["widgets"]
    )

    assert back["widgets"][0]["config"]["auth"] == {"type": "basic", "username": "phonon"}


def test_a_submitted_ciphertext_is_not_trusted(acme):
    """Only the server encrypts: a client cannot plant someone else's ciphertext."""
    auth = {"type": "basic", "username": "u", "password_encrypted": "gAAAA-forged"}

    cleaned = validate_flow(flow_data(webhook_widget(auth=auth), end_widget()), account=acme)

    assert "gAAAA-forged" not in json.dumps(cleaned)
    assert cleaned["widgets"][0]["config"]["auth"] == {"type": "basic", "username": "u"}


def test_auth_with_a_key_it_does_not_have_is_refused(acme):
    errors = webhook_errors(acme, auth={**basic(), "pasword": "typo"})

    assert errors["widgets.w1.config.auth"] == [
        'Widget w1: auth must be {"type": "none"} or {"type": "basic", "username": …, "password": …}.'
    ]


def test_basic_auth_needs_a_user_name_without_a_colon(acme):
    errors = webhook_errors(acme, auth=basic(username="a:b"))

    assert errors["widgets.w1.config.auth.username"] == [
        "Widget w1: basic authentication does not allow ':' in the username."
    ]


def test_public_widgets_show_a_stored_password_as_stars_only(acme):
    stored = validate_flow(flow_data(webhook_widget(auth=basic()), end_widget()), account=acme)

    shown = public_widgets(stored["widgets"])

    assert shown[0]["config"]["auth"] == {
        "type": "basic",
        "username": "phonon",
        "password": "***",
        "password_set": True,
    }
    assert "password_encrypted" not in json.dumps(shown)
    assert "password_encrypted" in stored["widgets"][0]["config"]["auth"]  # the stored list is untouched


def test_the_shown_widgets_can_be_saved_back_unchanged(acme):
    stored = validate_flow(flow_data(webhook_widget(auth=basic()), end_widget()), account=acme)
    shown = public_widgets(stored["widgets"])

    again = validate_flow(flow_data(*shown), account=acme, previous=stored["widgets"])

    assert again["widgets"] == stored["widgets"]


# --- internal mode -------------------------------------------------------------------------


def internal(**config: Any) -> dict[str, Any]:
    return {"id": "w1", "type": "webhook", "config": {"mode": "internal", **config}, "next": {"0": "end", "1": "end"}}


def test_an_internal_widget_is_cleaned(acme, catalogue):
    data = flow_data(
        internal(function="cli_pause_update", method="POST", parameters=["user_key", "call"]), end_widget()
    )

    cleaned = validate_flow(data, account=acme)

    assert cleaned["widgets"][0]["config"] == {
        "mode": "internal",
        "function": "cli_pause_update",
        "method": "POST",
        "parameters": ["call", "user_key"],
        "notes": "",
    }


def test_an_internal_function_must_exist(acme, catalogue):
    errors = errors_of(flow_data(internal(function="format_disk"), end_widget()), acme)

    assert errors["widgets.w1.config.function"] == [
        "Widget w1: the internal function 'format_disk' does not exist; choose one of: cli_pause_update, lookup_caller."
    ]


def test_an_internal_method_must_be_allowed_for_the_function(acme, catalogue):
    errors = errors_of(flow_data(internal(function="cli_pause_update", method="DELETE"), end_widget()), acme)

    assert errors["widgets.w1.config.method"] == ["Widget w1: the function cli_pause_update takes POST, not 'DELETE'."]


def test_internal_parameters_are_variable_groups(acme, catalogue):
    data = flow_data(internal(function="lookup_caller", method="GET", parameters=["call", "secrets"]), end_widget())

    errors = errors_of(data, acme)

    assert errors["widgets.w1.config.parameters"] == [
        "Widget w1: parameters must be a list drawn from call, flow_key, user_key."
    ]


def test_an_unknown_mode_is_refused(acme):
    errors = webhook_errors(acme, mode="magic")

    assert errors["widgets.w1.config.mode"] == ["Widget w1: mode must be custom or internal, not 'magic'."]


# --- assign --------------------------------------------------------------------------------


def test_an_assignment_goes_to_a_flow_key_variable(acme):
    widget = assign_widget("a1", assignments=[{"variable": "$call.cli", "value": "x"}])

    errors = errors_of(flow_data(widget, end_widget(), start="a1"), acme)

    assert (
        "Widget a1: assignment 1 must be saved in a flow variable"
        in (errors["widgets.a1.config.assignments.0.variable"][0])
    )


def test_an_assign_widget_needs_assignments(acme):
    widget = assign_widget("a1") | {"config": {"assignments": []}}

    errors = errors_of(flow_data(widget, end_widget(), start="a1"), acme)

    assert errors["widgets.a1.config.assignments"][0].startswith("Widget a1: add at least one assignment")


def test_braced_targets_are_stored_without_braces(acme):
    widget = assign_widget("a1", assignments=[{"variable": "${flow.key.greeting}", "value": "Hi ${call.cli}!"}])

    cleaned = validate_flow(flow_data(widget, end_widget(), start="a1"), account=acme)

    assert cleaned["widgets"][0]["config"]["assignments"] == [
        {"variable": "$flow.key.greeting", "value": "Hi ${call.cli}!"}
    ]


def test_the_error_says_everything_in_its_message(acme):
    with pytest.raises(FlowValidationError) as caught:
        validate_flow(flow_data(webhook_widget(timeout=61), end_widget()), account=acme)

    assert "Widget w1: timeout must be between 1 and 60 seconds" in str(caught.value)


def test_the_real_catalogue_is_used_for_internal_widgets(acme):
    data = flow_data(internal(function="cli_pause_update", method="PUT", parameters=["call"]), end_widget())

    assert validate_flow(data, account=acme)["widgets"][0]["config"]["method"] == "PUT"
    errors = errors_of(flow_data(internal(function="cli_pause_update", method="GET"), end_widget()), acme)
    assert errors["widgets.w1.config.method"] == [
        "Widget w1: the function cli_pause_update takes POST or PUT, not 'GET'."
    ]
