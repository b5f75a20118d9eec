"""Hostile webhook answers end in a finished execution, stored alike on SQLite and PostgreSQL.

A NUL or a lone surrogate anywhere in an answer (body, JSON string or key, XML, an odd
charset, a redirect's Location) used to make the finishing write fail on PostgreSQL: the
execution stayed `running` and every lease period another worker sent the request again.
Such characters become U+FFFD (phonon.lib.storable), visibly, wherever answer text is kept.
"""

from __future__ import annotations

import json

import pytest

from flows.models import Delivery, DeliveryAttempt, Execution
from flows.tests.factories import end, make_flow, queue_execution, webhook
from flows.worker import Worker
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook

JSON = {"Content-Type": "application/json"}
R = "\ufffd"

MAPPINGS = [
    {"save_in": "$flow.key.status", "path": "data.status", "mandatory": False},
    {"save_in": "$flow.key.lone", "path": "data.lone", "mandatory": False},
    {"save_in": "$flow.key.obj", "path": "data.obj", "mandatory": False},
    {"save_in": "$flow.key.items", "path": "data.items[*]", "mandatory": False},
]
ESCAPED_ANSWER = json.dumps(
    {"status": "ok\x00", "lone": "\ud800", "obj": {"k\x00": "\udc00"}, "items": ["\x00", "a\ud83d"]}
)


def run_to_the_end(execution: Execution) -> Execution:
    worker = Worker(worker_id="hostile-answers")
    assert worker.run_one_execution()
    assert not worker.run_one_execution(), "the execution was left to be claimed (and sent) again"
    execution.refresh_from_db()
    assert execution.status == "completed", execution.failure_reason
    return execution


def test_nul_and_lone_surrogates_in_json_strings_and_keys_become_replacement_characters(loopback_allowed, server):
    server.reply("/orders", Reply(body=ESCAPED_ANSWER, headers=JSON))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders"), mappings=MAPPINGS), end())

    execution = run_to_the_end(queue_execution(flow))

    variables = execution.variables
    assert variables["$flow.key.status"] == f"ok{R}"
    assert variables["$flow.key.lone"] == R
    assert json.loads(variables["$flow.key.obj"]) == {"k\x00": R}  # the key's NUL is JSON-escaped text
    assert variables["$flow.key.items_0"] == R
    assert variables["$flow.key.items_1"] == f"a{R}"
    assert variables["$flow.key.response_raw"] == ESCAPED_ANSWER  # escapes are plain text: kept as sent
    assert len(server.requests_to("/orders")) == 1


@pytest.mark.parametrize(
    ("reply", "raw"),
    [
        (Reply(body=b'{"a": "x\x00y"}', headers=JSON), f'{{"a": "x{R}y"}}'),  # a raw NUL: not JSON
        (Reply(status=500, body=b"down\x00\x00"), f"down{R}{R}"),
        (Reply(body=b"<a>\x00</a>", headers={"Content-Type": "application/xml"}), f"<a>{R}</a>"),
        (Reply(body=b"+2AA-", headers={"Content-Type": "text/plain; charset=utf-7"}), R),  # UTF-7 → U+D800
        (Reply(body=b"\\ud800\\x00", headers={"Content-Type": "text/plain; charset=unicode_escape"}), R + R),
    ],
    ids=["raw-nul-in-json", "error-answer", "xml", "utf-7-surrogate", "unicode-escape-charset"],
)
def test_unstorable_text_in_a_raw_answer_is_kept_with_replacement_characters(reply, raw, loopback_allowed, server):
    server.reply("/orders", reply)
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders")), end())

    execution = run_to_the_end(queue_execution(flow))

    assert execution.variables["$flow.key.response_raw"] == raw
    assert execution.steps[0]["response_excerpt"] == raw


def test_a_nul_in_a_redirect_location_ends_the_execution(loopback_allowed, server):
    server.reply("/orders", Reply.redirect("/next\x00step"))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders")), end())

    execution = run_to_the_end(queue_execution(flow))

    assert "\x00" not in json.dumps(execution.steps, ensure_ascii=False)


def test_a_receiver_answering_a_nul_gets_its_attempt_logged_once(loopback_allowed, server):
    server.reply("/orders", Reply(body='{"x": "\\u0000"}', headers=JSON))
    server.reply("/receiver", Reply(status=200, body=b"thanks\x00"))
    Webhook.objects.create(account=loopback_allowed, name="Receiver", url=server.url("/receiver"), is_default=True)
    flow = make_flow(
        loopback_allowed,
        webhook("w1", server.url("/orders"), mappings=[{"save_in": "$flow.key.x", "path": "data.x"}]),
        end(),
        flow_end_webhook=True,
    )
    run_to_the_end(queue_execution(flow))
    worker = Worker(worker_id="hostile-answers")

    assert worker.send_one_delivery()
    assert not worker.send_one_delivery()

    delivery = Delivery.objects.get()
    assert delivery.status == "delivered"
    assert {"name": "$flow.key.x", "value": R} in json.loads(delivery.payload)["keys"]
    assert DeliveryAttempt.objects.get().response_excerpt == f"thanks{R}"
    assert len(server.requests_to("/receiver")) == 1


@pytest.mark.parametrize(
    ("levels", "readable"), [(500, True), (900, "too much to store"), (2_000, False), (100_000, False)]
)
def test_a_deeply_nested_answer_ends_the_execution(levels, readable, loopback_allowed, server):
    server.reply("/orders", Reply(body='{"a": ' * levels + '"x"' + "}" * levels, headers=JSON))
    mappings = [
        {"save_in": "$flow.key.whole", "path": "data", "mandatory": False},
        {"save_in": "$flow.key.deep", "path": "data..a", "mandatory": False},
    ]
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders"), mappings=mappings), end())

    execution = run_to_the_end(queue_execution(flow))

    step = execution.steps[0]
    if readable is True:  # Python's parser reads it: the mappings give what they can
        assert step["error_reason"] is None
        assert execution.variables["$flow.key.whole"].startswith('{"a":{"a":')
        assert execution.variables["$flow.key.deep_count"] == str(levels)
    elif readable:  # read, but `data..a` repeats each level's text in every match around it
        assert step["error_reason"] == "INVALID_RESPONSE"
        assert step["error_detail"].startswith("The mappings would store more than 4,194,304 bytes of text")
    else:
        assert step["error_reason"] == "INVALID_RESPONSE"
        assert step["error_detail"].startswith("The answer is not valid JSON: maximum recursion depth exceeded")
    assert execution.variables["$flow.key.response_raw"].startswith('{"a": {"a": ')
