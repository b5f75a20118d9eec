"""POST /api/v1/flows/test-widget/ (SPEC §13) against a real local server."""

from __future__ import annotations

import base64
import json

import pytest

from flows.models import Delivery, Execution, Flow
from flows.tests.factories import end, make_flow, webhook
from phone_numbers.models import DirectDialNumber
from phonon.lib.testing.http_server import Reply
from reports.models import ReportedExecution, ReportedWebhookCall

URL = "/api/v1/flows/test-widget/"
ORDER = {"data": {"order": {"status": "shipped", "items": [{"sku": "a1"}, {"sku": "b2"}]}}}
JSON_HEADERS = {"Content-Type": "application/json"}


def config(server, path="/order", **overrides):
    return {"mode": "custom", "method": "GET", "url": server.url(path), "timeout": 5, **overrides}


def mapping(save_in, path, mandatory=False):
    return {"save_in": save_in, "path": path, "mandatory": mandatory}


@pytest.fixture
def order_server(server):
    server.reply("/order", Reply(body=json.dumps(ORDER), headers=JSON_HEADERS))
    return server


def test_it_sends_the_request_as_a_call_would_and_maps_the_answer(alice_api, loopback_allowed, order_server):
    body = {
        "config": config(
            order_server,
            url=order_server.url("/order?cli=$call.cli"),
            mappings=[mapping("$flow.key.status", "data.data.order.status", True)],
        ),
        "variables": {"$call.cli": "+1 555&x"},
    }
    response = alice_api.post(URL, body, format="json")

    assert response.status_code == 200, response.json()
    result = response.json()
    assert order_server.requests[0].path == "/order?cli=%2B1%20555%26x"
    assert result["request"]["method"] == "GET"
    assert result["request"]["url"].endswith("/order?cli=%2B1%20555%26x")
    assert result["response"]["status_code"] == 200
    assert json.loads(result["response"]["body"]) == ORDER
    assert result["response"]["headers"]["Content-Type"] == "application/json"
    assert result["mappings"] == [
        {
            "save_in": "$flow.key.status",
            "path": "data.data.order.status",
            "mandatory": True,
            "matched": True,
            "value": "shipped",
            "suggestions": [],
        }
    ]
    assert result["variables"]["$flow.key.response_status"] == "SUCCESS"
    assert result["line"] == 0 and result["error_reason"] is None
    assert result["tree"]["children"][0]["path"] == "data.data"


def test_an_unmatched_path_gets_the_nearest_existing_paths(alice_api, loopback_allowed, order_server):
    body = {"config": config(order_server, mappings=[mapping("$flow.key.status", "data.order.status", True)])}
    result = alice_api.post(URL, body, format="json").json()

    row = result["mappings"][0]
    assert row["matched"] is False and row["value"] is None
    assert row["suggestions"][0] == "data.data.order.status"
    assert result["line"] == 1 and result["error_reason"] == "MANDATORY_FIELD_MISSING"


def test_an_xml_answer_is_mapped_with_xpath_and_drawn_as_a_tree(alice_api, loopback_allowed, server):
    xml = '<order id="7"><status>shipped</status><items><item sku="a1">Headset</item></items></order>'
    server.reply("/order.xml", Reply(body=xml, headers={"Content-Type": "application/xml"}))
    body = {
        "config": config(
            server,
            "/order.xml",
            response_type="xml",
            mappings=[mapping("$flow.key.status", "/order/status"), mapping("$flow.key.state", "/order/state")],
        )
    }
    result = alice_api.post(URL, body, format="json").json()

    status, state = result["mappings"]
    assert status["matched"] and status["value"] == "shipped"
    assert not state["matched"] and "/order/status" in state["suggestions"]
    paths = [child["path"] for child in result["tree"]["children"]]
    assert paths == ["/order/@id", "/order/status", "/order/items"]


def test_secrets_are_masked_in_what_comes_back(alice_api, loopback_allowed, order_server):
    body = {
        "config": config(
            order_server,
            auth={"type": "basic", "username": "ops", "password": "pw-123"},
            headers=[{"key": "X-Token", "value": "tok-123", "secret": True}],
            query_params=[{"key": "key", "value": "qk-123", "secret": True}, {"key": "n", "value": "1"}],
        )
    }
    response = alice_api.post(URL, body, format="json")

    received = order_server.requests[0]
    assert received.headers["X-Token"] == "tok-123" and "key=qk-123" in received.path
    text = response.content.decode()
    for secret in ("pw-123", "tok-123", "qk-123"):
        assert secret not in text
    request = response.json()["request"]
    assert request["headers"]["X-Token"] == "***"
    assert request["headers"]["Authorization"] == "***"  # sent (from the basic auth), shown masked
    assert received.headers["Authorization"].startswith("Basic ")
    assert request["url"].endswith("?key=***&n=1")


def test_a_stored_widgets_secrets_are_used_when_left_masked(alice_api, loopback_allowed, order_server):
    stored_auth = {"type": "basic", "username": "ops", "password": "stored-pw"}
    headers = [{"key": "X-Token", "value": "stored-1", "secret": True}]
    flow = make_flow(
        loopback_allowed, webhook("w1", order_server.url("/order"), auth=stored_auth, headers=headers), end()
    )
    masked = config(
        order_server,
        auth={"type": "basic", "username": "ops", "password": "***"},
        headers=[{"key": "X-Token", "value": "***", "secret": True}],
    )

    used = alice_api.post(URL, {"config": masked, "flow": flow.pk, "widget": "w1"}, format="json")
    alone = alice_api.post(URL, {"config": masked}, format="json")  # no stored widget: nothing to keep

    assert used.status_code == 200, used.json()
    (received,) = order_server.requests
    assert received.headers["X-Token"] == "stored-1"
    assert received.headers["Authorization"] == "Basic " + base64.b64encode(b"ops:stored-pw").decode()
    assert alone.status_code == 400
    assert set(alone.json()) == {"config.auth.password", "config.headers.0.value"}


def test_a_private_destination_is_blocked_without_a_request(alice_api, acme_with_http, server, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ()
    url = server.url("/order").replace("127.0.0.1", "localhost")
    response = alice_api.post(URL, {"config": {**config(server), "url": url}}, format="json")

    assert response.status_code == 200
    result = response.json()
    assert result["error_reason"] == "BLOCKED_DESTINATION" and result["line"] == 1
    assert result["response"] is None
    assert server.requests == []


def test_an_invalid_config_has_the_field_errors_of_saving_a_flow(alice_api, loopback_allowed, server):
    bad = config(server, timeout=600, mappings=[mapping("$flow.key.x", "order.status")])
    test = alice_api.post(URL, {"config": bad, "widget": "w1"}, format="json")
    save = alice_api.post(
        "/api/v1/flows/",
        {
            "name": "x",
            "start": "w1",
            "widgets": [{"id": "w1", "type": "webhook", "config": bad, "next": {"0": "e", "1": "e"}}, end("e")],
        },
        format="json",
    )
    assert test.status_code == 400 and save.status_code == 400
    tested = {key: messages for key, messages in test.json().items() if key.startswith("widgets.")}
    saved = {key: messages for key, messages in save.json().items() if key.startswith("widgets.")}
    assert tested == saved
    assert "widgets.w1.config.timeout" in tested and "widgets.w1.config.mappings.0.path" in tested


def test_a_config_tested_on_its_own_has_its_errors_keyed_as_sent(alice_api, loopback_allowed, server):
    bad = config(server, timeout=600, mappings=[mapping("$flow.key.x", "order.status")])

    response = alice_api.post(URL, {"config": bad}, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"config.timeout", "config.mappings.0.path"}
    assert errors["config.timeout"][0].startswith("timeout must be between 1 and 60 seconds")
    assert server.requests == []


def test_unknown_fields_and_bad_variables_are_refused(alice_api, loopback_allowed, server):
    response = alice_api.post(URL, {"config": config(server), "variables": {"cli": "1"}, "extra": 1}, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"extra", "variables"}
    assert server.requests == []


def test_an_unknown_or_another_accounts_flow_or_widget_is_404(alice_api, globex, loopback_allowed, order_server):
    theirs = make_flow(globex, webhook("w1", "https://api.example.com/x"), end())
    mine = make_flow(loopback_allowed, webhook("w1", order_server.url("/order")), end())
    for flow, widget in ((theirs.pk, "w1"), (mine.pk, "w9"), (mine.pk, "end"), (999999, "w1")):
        response = alice_api.post(URL, {"config": config(order_server), "flow": flow, "widget": widget}, format="json")
        assert response.status_code == 404, (flow, widget)
        assert response.json() == {"detail": "Not found: nothing with this id exists in your account."}
    assert order_server.requests == []


def test_viewers_cannot_test(bob_api, loopback_allowed, order_server):
    assert bob_api.post(URL, {"config": config(order_server)}, format="json").status_code == 403
    assert order_server.requests == []


def test_thirty_tests_a_minute_then_429_and_refused_ones_do_not_count(alice_api, loopback_allowed, server):
    # A mandatory header that renders empty: the test is accepted (and counted) but nothing is sent.
    quick = {"config": config(server, headers=[{"key": "X-Cli", "value": "$call.cli", "mandatory": True}])}
    invalid = {"config": config(server, timeout=0)}
    for _ in range(30):
        assert alice_api.post(URL, invalid, format="json").status_code == 400
        assert alice_api.post(URL, quick, format="json").status_code == 200
    refused = alice_api.post(URL, quick, format="json")

    assert refused.status_code == 429
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    assert refused.json()["detail"] == f"At most 30 widget tests a minute; try again in {wait} s."  # said once
    assert server.requests == []


def test_a_mandatory_parameter_left_empty_is_shown_without_sending(alice_api, loopback_allowed, server):
    body = {"config": config(server, headers=[{"key": "X-Cli", "value": "$call.cli", "mandatory": True}])}
    result = alice_api.post(URL, body, format="json").json()
    assert result["error_reason"] == "MANDATORY_PARAMETER_MISSING" and result["response"] is None
    assert result["request"]["headers"] == {"X-Cli": ""}
    assert server.requests == []


def test_a_test_never_writes_an_execution_a_report_row_or_a_delivery(alice_api, loopback_allowed, order_server):
    body = {
        "config": config(
            order_server, persist_response=True, mappings=[mapping("$flow.key.status", "data.data.order.status")]
        )
    }
    assert alice_api.post(URL, body, format="json").status_code == 200
    assert not Execution.objects.exists() and not Delivery.objects.exists()
    assert not ReportedExecution.objects.exists() and not ReportedWebhookCall.objects.exists()
    assert not Flow.objects.exists()


def test_an_internal_function_that_changes_data_is_rolled_back_unless_confirmed(alice_api, acme):
    number = DirectDialNumber.objects.create(account=acme, number="+911234", is_paused=False)
    body = {
        "config": {
            "mode": "internal",
            "function": "cli_pause_update",
            "method": "POST",
            "parameters": ["call", "user_key"],
        },
        "variables": {"$call.did": "+911234", "$user.key.action": "pause"},
    }
    dry = alice_api.post(URL, body, format="json").json()
    assert dry["dry_run"] is True and dry["changes_data"] is True
    assert dry["variables"] == {"$flow.key.cli_pause_update": "The Direct Dial +911234 was successfully paused"}
    number.refresh_from_db()
    assert number.is_paused is False

    confirmed = alice_api.post(URL, {**body, "confirm": True}, format="json").json()
    assert confirmed["dry_run"] is False
    number.refresh_from_db()
    assert number.is_paused is True
