"""Testing a webhook widget in the designer and mapping its answer by clicking it (SPEC §13)."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from flows.models import Execution, Flow
from flows.tests.factories import end, make_flow, queue_execution, webhook
from phonon.lib.testing.http_server import Reply
from tests.browser.designer_page import DesignerPage

pytestmark = pytest.mark.django_db(transaction=True)

ORDER = {"order": {"status": "shipped", "eta": "2030-01-05", "items": [{"sku": "A-100"}]}}


def test_a_value_clicked_in_the_test_answer_becomes_a_mapping_that_calls_set(
    signed_in, live_server, loopback_allowed, server, screenshot
):
    server.reply("*", Reply(body=json.dumps(ORDER), headers={"Content-Type": "application/json"}))
    flow = make_flow(
        loopback_allowed,
        webhook(
            "w1",
            server.url("/orders/$call.cli"),
            ok="w2",
            failed="w2",
            headers=[{"key": "X-Api-Key", "value": "key-in-db", "secret": True}],
        ),
        end("w2"),
    )
    flow.layout = {"w1": {"x": 60, "y": 60}, "w2": {"x": 400, "y": 60}}
    flow.save()
    earlier = queue_execution(flow, cli="+15550142")
    earlier.variables = {"$call.cli": "+15550142"}
    earlier.save()
    page = signed_in
    designer = DesignerPage(page)

    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer.open("w1")
    page.get_by_role("button", name="Test", exact=True).click()
    sample = page.get_by_label("$call.cli")
    expect(sample).to_have_value("+15550142")  # from the last execution
    sample.fill("+15550100")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the Send button, by keyboard
    expect(page.locator(".test-status-line")).to_contain_text("200")
    expect(page.locator(".test-request")).to_contain_text("X-Api-Key: ***")
    (sent,) = server.requests
    assert sent.path == "/orders/%2B15550100" and sent.headers["X-Api-Key"] == "key-in-db"
    screenshot("answer")

    page.locator(".answer-tree .tree-value", has_text="shipped").click()
    row = page.locator("[data-rows='config.mappings'] tbody tr").last
    expect(row.locator("[data-col=path]")).to_have_value("data.order.status")
    save_in = row.locator("[data-col=save_in]")
    expect(save_in).to_have_value("$flow.key.status")
    expect(save_in).to_be_focused()
    page.keyboard.type("order_status")  # the proposed name is selected: typing renames it
    expect(save_in).to_have_value("$flow.key.order_status")
    screenshot("mapped")
    designer.save()
    designer.expect_saved()
    page.click("#publish-flow")  # a save is a draft (SPEC §14): calls run what is published
    expect(page.locator("#revision-status")).to_have_text("Published · revision 2")
    mappings = Flow.objects.get(pk=flow.pk).widgets[0]["config"]["mappings"]
    assert mappings == [{"save_in": "$flow.key.order_status", "path": "data.order.status", "mandatory": False}]
    assert not Execution.objects.exclude(pk=earlier.pk).exists()  # the test itself wrote none

    Execution.objects.filter(pk=earlier.pk).delete()
    page.goto(live_server.url + reverse("flows:detail", args=[flow.pk]))
    page.fill(f"#id_cli_{flow.pk}", "+15550100")
    page.fill(f"#id_did_{flow.pk}", "+15550199")
    page.click("button:has-text('Start a call')")
    expect(page.locator("#execution-status")).to_have_text("queued")
    call_command("runworker", "--once")
    execution = Execution.objects.get(flow=flow)
    assert execution.variables["$flow.key.order_status"] == "shipped"
    page.reload()
    expect(page.locator("table.variables")).to_contain_text("$flow.key.order_status")


def test_a_json_path_that_does_not_start_with_data_is_warned_about(signed_in, live_server, acme):
    flow = make_flow(acme, webhook("w1", "https://api.example.com/orders", ok="w2", failed="w2"), end("w2"))
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer.open("w1")
    designer.add_row("mappings", save_in="$flow.key.status", path="order.status")
    expect(page.locator(".path-warning")).to_have_text(
        "JSON paths start at data (the whole answer): did you mean data.order.status?"
    )
    page.locator("[data-rows='config.mappings'] [data-col=path]").fill("data.order.status")
    expect(page.locator(".path-warning")).to_have_count(0)
