"""A newcomer's first hour, through the browser only: webhook, flow, call, execution, report."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import expect

from flows.models import Execution, Flow
from phonon.lib.testing.http_server import Reply
from tests.browser.designer_page import DesignerPage

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_newcomer_registers_a_webhook_builds_a_flow_runs_a_call_and_reads_the_report(
    signed_in, live_server, loopback_allowed, server, screenshot
):
    page = signed_in
    server.reply("/receiver", Reply(status=204))
    order = Reply(body='{"order": {"status": "shipped"}}', headers={"Content-Type": "application/json"})
    server.reply("/orders", order)

    # Advanced -> Webhook: add the default webhook, check its URL, see the green tick, save.
    page.click("summary:has-text('Advanced')")
    page.click(".menu a:has-text('Webhook')")
    page.click("a.button:has-text('Add')")
    expect(page).to_have_url(live_server.url + reverse("webhooks:add"))
    page.fill("#id_name", "Receiver")
    page.fill("#id_url", server.url("/receiver"))
    page.click("#check-url")
    expect(page.locator("#check-result")).to_have_class("check-result ok")
    expect(page.locator("#check-result")).to_contain_text("✓")
    page.check("#id_is_default")
    screenshot("webhook-checked")
    page.click("form.card button[type=submit]")
    expect(page.locator("main")).to_contain_text("Receiver")
    screenshot("webhook-list")

    # Flows: build the flow on the canvas.
    page.goto(live_server.url + reverse("flows:list"))
    page.click("a:has-text('New flow')")
    designer = DesignerPage(page)
    page.fill("#flow-name", "Order status")
    page.check("#flow-end-webhook")
    designer.add("webhook")
    page.fill("#wf-url", server.url("/orders"))
    page.select_option("#wf-method", "GET")
    designer.add_row("headers", key="X-Caller", value="$call.cli", mandatory=True)
    designer.add_row("mappings", save_in="$flow.key.order_status", path="data.order.status", mandatory=True)
    page.check("[data-bind='config.persist_response']")
    designer.write_notes("Asks the shop for the caller's order.")
    designer.branch_to_two_ends()
    designer.save()
    designer.expect_saved()
    screenshot("flow-designed")
    flow = Flow.objects.get(account=loopback_allowed)

    # Start a call from the flow's page.
    page.goto(live_server.url + reverse("flows:detail", args=[flow.pk]))
    page.fill(f"#id_cli_{flow.pk}", "+15550100")
    page.fill(f"#id_did_{flow.pk}", "+15550199")
    page.click("button:has-text('Start a call')")
    expect(page.locator("#execution-status")).to_have_text("queued")
    screenshot("call-queued")

    # The worker runs it; the execution page shows it completed, with its variables.
    call_command("runworker", "--once")
    execution = Execution.objects.get(flow=flow)
    assert execution.status == "completed", execution.steps
    # No page.reload(): the unfinished page refreshes itself every second, and a reload of ours
    # could collide with that one (net::ERR_ABORTED on a loaded machine).
    expect(page.locator("#execution-status")).to_have_text("completed")
    expect(page.locator("table.variables")).to_contain_text("$flow.key.order_status")
    expect(page.locator("table.variables")).to_contain_text("shipped")
    screenshot("execution-completed")
    (order_request,) = server.requests_to("/orders")
    assert order_request.headers["X-Caller"] == "+15550100"
    deliveries = [r for r in server.requests_to("/receiver") if r.method == "POST" and r.body]
    assert [json.loads(r.body)["phonon-uuid"] for r in deliveries] == [str(execution.pk)]

    # Reports: the persisted variable is a column.
    page.click("nav a:has-text('Reports')")
    expect(page.locator("th.udf")).to_have_text(["order_status"])
    expect(page.locator("table")).to_contain_text("shipped")
    screenshot("report")
