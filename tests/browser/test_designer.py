"""The flow designer, driven with the mouse and keyboard like a user would."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from flows.models import Flow
from flows.tests.factories import assign, end, make_flow, webhook
from tests.browser.designer_page import DesignerPage
from webhooks import endpoints

pytestmark = pytest.mark.django_db(transaction=True)


def one_webhook_flow(account) -> Flow:
    flow = make_flow(account, webhook("w1", "https://api.example.com/orders", ok="w2", failed="w2"), end("w2"))
    flow.layout = {"w1": {"x": 60, "y": 60}, "w2": {"x": 400, "y": 60}}
    flow.save()
    return flow


def test_it_builds_a_webhook_flow_on_the_canvas_and_keeps_it(signed_in, live_server, acme, screenshot):
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer-new"))
    expect(page.locator("#canvas-empty")).to_be_visible()
    screenshot("empty")

    page.fill("#flow-name", "Order status")
    page.check("#flow-end-webhook")
    designer.add("webhook")
    expect(page.locator("#panel-title")).to_have_text("Webhook widget · w1")
    page.fill("#wf-url", "https://api.example.com/orders/$call.cli")
    page.select_option("#wf-method", "GET")
    designer.add_row("headers", key="X-Api-Key", value="$flow.key.api_key", mandatory=True)
    designer.add_row("mappings", save_in="$flow.key.order_status", path="data.order.status")
    designer.write_notes("Looks the order up by the caller's number.")
    expect(page.locator("#notes-count")).to_have_text("42 / 1000")
    page.check("[data-bind='config.persist_response']")
    screenshot("webhook-form")

    designer.branch_to_two_ends()
    assert sorted(label for label, _ in designer.lines()) == ["0", "1"]
    expect(page.locator("#save-status")).to_have_text("Unsaved changes")
    designer.save()
    designer.expect_saved()
    screenshot("saved")

    flow = Flow.objects.get(account=acme)
    assert page.url.endswith(reverse("flows:designer", args=[flow.pk]))
    assert (flow.name, flow.start, flow.flow_end_webhook) == ("Order status", "w1", True)
    widget = flow.widgets[0]
    assert widget["next"] == {"0": "w2", "1": "w3"}
    assert widget["config"]["method"] == "GET"
    assert widget["config"]["headers"] == [
        {"key": "X-Api-Key", "value": "$flow.key.api_key", "mandatory": True, "secret": False}
    ]
    assert widget["config"]["mappings"][0]["save_in"] == "$flow.key.order_status"
    assert "Looks the order up" in widget["config"]["notes"]
    assert widget["config"]["persist_response"] is True
    saved_layout = flow.layout
    assert saved_layout["w3"]["y"] > saved_layout["w2"]["y"] > saved_layout["w1"]["y"] - 1

    page.reload()
    expect(page.locator("#flow-name")).to_have_value("Order status")
    expect(page.locator("#flow-end-webhook")).to_be_checked()
    expect(designer.node("w1").locator(".flag.start")).to_be_visible()
    labels = {label: classes.split() for label, classes in designer.lines()}
    assert "output_1" in labels["0"] and "output_2" in labels["1"]
    assert page.evaluate("() => window.phononDesigner.collectFlow().widgets[0].next") == {"0": "w2", "1": "w3"}
    assert page.evaluate("() => window.phononDesigner.collectFlow().layout") == saved_layout
    designer.open("w1")
    expect(page.locator("#wf-url")).to_have_value("https://api.example.com/orders/$call.cli")
    expect(page.locator("[data-rows='config.headers'] tbody tr [data-col=key]")).to_have_value("X-Api-Key")
    expect(page.locator("[data-rows='config.mappings'] tbody tr [data-col=path]")).to_have_value("data.order.status")
    page.click("#notes-panel > summary")
    expect(page.locator("#notes-panel .note-editable")).to_contain_text("Looks the order up by the caller's number.")
    screenshot("reloaded")


def test_a_timeout_over_60_is_shown_beside_the_field(signed_in, live_server, acme, screenshot):
    flow = one_webhook_flow(acme)
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer.open("w1")
    page.fill("#wf-timeout", "61")
    designer.save()
    errors = designer.field_errors("config.timeout")
    expect(errors).to_have_text("Timeout must be between 1 and 60 seconds (a whole number), not 61.")
    expect(page.locator("#save-status")).to_have_text("Not saved: 1 problem")
    expect(designer.node("w1").locator(".flag.errors")).to_have_text("1 error")
    screenshot("timeout-error")
    flow.refresh_from_db()
    assert flow.widgets[0]["config"]["timeout"] == 60

    page.fill("#wf-timeout", "30")
    expect(errors).to_be_hidden()
    designer.save()
    designer.expect_saved()
    flow.refresh_from_db()
    assert flow.widgets[0]["config"]["timeout"] == 30


def test_notes_over_1000_visible_characters_are_refused(signed_in, live_server, acme, screenshot):
    flow = one_webhook_flow(acme)
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer.open("w1")
    designer.write_notes("x" * 1001)
    expect(page.locator("#notes-count")).to_have_text("1001 / 1000")
    designer.save()
    expect(page.locator("#save-status")).to_have_text("Not saved: 1 problem")
    server_error = designer.field_errors("config.notes").locator("li:not(.local)")
    expect(server_error).to_have_text("Max 1000 characters are allowed")
    expect(designer.field_errors("config.notes").locator("li")).to_have_count(1)
    screenshot("notes-too-long")
    flow.refresh_from_db()
    assert flow.widgets[0]["config"]["notes"] == ""


def test_assign_widgets_keep_notes_in_the_moved_notes_panel(signed_in, live_server, acme, screenshot):
    flow = make_flow(acme, assign("a1", "e1", order="$call.cli"), end("e1"))
    flow.layout = {"a1": {"x": 60, "y": 60}, "e1": {"x": 400, "y": 60}}
    flow.save()
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer.open("a1")
    notes_panel = page.locator("[data-for-type=assign] #notes-panel")
    expect(notes_panel.locator("#notes-title")).to_have_text("Notes")
    designer.write_notes("Keeps the caller's number.")
    expect(page.locator("#notes-count")).to_have_text("26 / 1000")
    screenshot("assign-notes")
    designer.save()
    designer.expect_saved()
    flow.refresh_from_db()
    assert "Keeps the caller's number." in flow.widgets[0]["config"]["notes"]

    page.reload()
    designer.open("a1")
    expect(notes_panel.locator(".note-editable")).to_have_text("Keeps the caller's number.")
    expect(page.locator("#notes-count")).to_have_text("26 / 1000")
    designer.open("e1")  # the end widget's form gets the one panel, with its own notes
    expect(page.locator("[data-for-type=end] #notes-panel .note-editable")).to_have_text("")
    expect(page.locator("#notes-count")).to_have_text("0 / 1000")
    designer.write_notes("Hang up politely.")
    designer.save()
    designer.expect_saved()
    flow.refresh_from_db()
    assert "Hang up politely." in flow.widgets[1]["config"]["notes"]
    assert "Keeps the caller's number." in flow.widgets[0]["config"]["notes"]


def test_the_resilience_section_saves_retries_and_cache_and_warns_of_an_open_circuit(
    signed_in, live_server, acme, screenshot, settings
):
    flow = make_flow(
        acme,
        webhook("w1", "https://api.example.com/pay", method="POST", ok="w3", failed="w3"),
        webhook("w3", "https://api.example.com/log", wait_for_response=False, ok="w2", failed="w2"),
        end("w2"),
    )
    for _ in range(settings.CIRCUIT_FAILURES):
        endpoints.record_outcome(acme.pk, "https://api.example.com:443", failed=True, probe=False)
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    expect(designer.node("w1").locator(".flag.circuit-open")).to_be_visible()
    # A request sent without waiting is not held back by the circuit: no flag.
    expect(designer.node("w3").locator(".flag.circuit-open")).to_have_count(0)
    designer.open("w1")
    expect(page.locator("#circuit-warning")).to_be_visible()

    page.fill("#wf-retries", "2")
    designer.save()  # a POST retried without the Idempotency-Key is refused beside the field
    expect(designer.field_errors("config.idempotency_key")).to_contain_text("only retried with idempotency_key on")
    page.check('[data-bind="config.idempotency_key"]')
    page.uncheck('[data-bind-list="config.retries.on"][value="429"]')
    page.fill("#wf-cache-ttl", "300")
    page.fill("#wf-cache-key", "$call.cli")
    page.check('[data-bind="config.cache.stale_on_error"]')
    screenshot("resilience-section")
    designer.save()
    designer.expect_saved()

    flow.refresh_from_db()
    config = flow.widgets[0]["config"]
    assert config["retries"] == {"count": 2, "on": ["CONNECTION_ERROR", "TIMEOUT", "SERVER_ERROR"]}
    assert config["idempotency_key"] is True
    assert config["cache"] == {"ttl": 300, "key": "$call.cli", "stale_on_error": True}
