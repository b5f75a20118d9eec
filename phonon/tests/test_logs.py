"""LOG_FORMAT=json: one object a line, naming the account, execution, flow, widget or delivery."""

import io
import json
import logging

import pytest
from django.core.management import call_command

from flows.tests.factories import end, make_flow, queue_execution, webhook
from phonon.lib.testing.http_server import Reply
from phonon.logs import JsonFormatter, LogContextFilter, log_context


@pytest.fixture
def json_lines():
    """Everything logged while the test runs, as the json console handler writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(level)


def test_a_line_has_time_level_logger_message_and_the_ids_bound_around_it(json_lines):
    with log_context(account=7, execution="e-1"):
        with log_context(widget="w1"):
            logging.getLogger("flows.engine").warning("widget %s raised", "w1")
        logging.getLogger("flows.engine").info("after the widget")
    logging.getLogger("flows.engine").info("outside")

    inner, after, outside = json_lines()
    assert inner["level"] == "WARNING" and inner["logger"] == "flows.engine"
    assert inner["message"] == "widget w1 raised"
    assert inner["time"].endswith("+00:00")
    assert (inner["account"], inner["execution"], inner["widget"]) == ("7", "e-1", "w1")
    assert "widget" not in after and after["execution"] == "e-1"
    assert set(outside) == {"time", "level", "logger", "message"}


def test_a_traceback_stays_inside_its_line(json_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed")

    (line,) = json_lines()
    assert "ValueError: boom" in line["exception"]


@pytest.mark.django_db(transaction=True)
def test_the_workers_lines_name_the_execution_its_flow_and_account(json_lines, loopback_allowed, server):
    server.reply("/orders", Reply(body="{}"))
    flow = make_flow(loopback_allowed, webhook("w1", server.url("/orders")), end())
    execution = queue_execution(flow)

    call_command("runworker", "--once")

    finished = next(line for line in json_lines() if line["message"].startswith(f"execution {execution.pk}"))
    assert finished["execution"] == str(execution.pk)
    assert finished["flow"] == str(flow.pk)
    assert finished["account"] == str(loopback_allowed.pk)


def test_the_default_format_stays_plain(settings):
    assert settings.LOGGING["handlers"]["console"]["formatter"] == "plain"
