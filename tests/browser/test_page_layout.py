"""Pages keep their shape on a 1366 x 768 screen, whatever the data."""

import pytest
from django.urls import reverse

from flows.models import Execution
from flows.tests.factories import make_flow, queue_execution

pytestmark = pytest.mark.django_db(transaction=True)

LONG_WORD = "x" * 3000


def test_a_long_one_line_request_and_answer_wrap_inside_the_execution_page(signed_in, live_server, acme, screenshot):
    execution = queue_execution(make_flow(acme), order=LONG_WORD)
    step = {"widget": "w1", "type": "webhook", "mode": "custom", "line": "0", "duration": 0.1, "method": "GET"}
    step |= {"url": "https://api.example.com/" + LONG_WORD, "request_body_excerpt": LONG_WORD}
    step |= {"status_code": 200, "response_excerpt": '{"data": "' + LONG_WORD + '"}'}
    variables = {"$flow.key.response_raw": LONG_WORD}
    Execution.objects.filter(pk=execution.pk).update(status="completed", steps=[step], variables=variables)
    page = signed_in
    page.goto(live_server.url + reverse("flows:execution-detail", args=[execution.pk]))
    assert page.evaluate("document.documentElement.scrollWidth") == 1366
    card = page.locator("#step-1").bounding_box()
    for pre in page.locator("#step-1 pre").all():
        box = pre.bounding_box()
        assert box["x"] + box["width"] <= card["x"] + card["width"]
    screenshot("long-answer")


def test_the_start_call_fields_share_one_top_line(signed_in, live_server, acme, screenshot):
    flow = make_flow(acme)
    page = signed_in
    page.goto(live_server.url + reverse("flows:detail", args=[flow.pk]))
    tops = [page.locator(f"#id_{name}_{flow.pk}").bounding_box()["y"] for name in ("cli", "did", "user_keys")]
    assert max(tops) - min(tops) < 1
    heading = page.locator("section.card h2:has-text('Start a call')").bounding_box()
    assert tops[0] - (heading["y"] + heading["height"]) < 60  # label and field right under the heading
    screenshot("start-call")
