"""The designer walked as a new user would (issue 14): the keyboard, deleting lines, undo, phones,
viewers, labels, registered webhooks and error messages in the user's words."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from flows.models import Flow
from flows.tests.factories import end, make_flow, webhook
from phonon.encryption import decrypt_secret
from tests.browser.conftest import sign_in
from tests.browser.designer_page import DesignerPage
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db(transaction=True)


def two_ends_flow(account) -> Flow:
    flow = make_flow(
        account, webhook("w1", "https://api.example.com/orders", ok="w2", failed="w3"), end("w2"), end("w3")
    )
    flow.layout = {"w1": {"x": 60, "y": 60}, "w2": {"x": 420, "y": 40}, "w3": {"x": 420, "y": 260}}
    flow.save()
    return flow


def open_designer(page, live_server, flow) -> DesignerPage:
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    designer = DesignerPage(page)
    expect(designer.node("w1")).to_be_visible()
    return designer


def test_delete_removes_the_selected_line_after_the_form_was_used(signed_in, live_server, acme, screenshot):
    page = signed_in
    designer = open_designer(page, live_server, two_ends_flow(acme))
    designer.open("w1")
    page.fill("#wf-url", "https://api.example.com/orders/$call.cli")  # focus was in the form
    page.click("#done-widget")
    designer.select_line("1")
    expect(page.locator("svg.connection g.line-delete")).to_have_count(1)
    screenshot("line-selected")
    page.keyboard.press("Delete")
    assert [label for label, _ in designer.lines()] == ["0"]

    designer.select_line("0")
    page.locator("svg.connection g.line-delete").click()
    assert designer.lines() == []
    assert page.evaluate("() => window.phononDesigner.collectFlow().widgets[0].next") == {}


def test_boxes_take_the_keyboard_and_canvas_edits_undo_and_redo(signed_in, live_server, acme, screenshot):
    page = signed_in
    designer = open_designer(page, live_server, two_ends_flow(acme))
    designer.node("w1").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#panel-title")).to_have_text("Webhook widget · w1")
    page.keyboard.press("Escape")
    expect(page.locator("#widget-panel")).to_be_hidden()
    expect(designer.node("w1")).to_be_focused()

    page.keyboard.press("Backspace")
    expect(designer.node("w1")).to_have_count(0)
    assert designer.lines() == []
    page.keyboard.press("Control+z")
    expect(designer.node("w1")).to_be_visible()
    assert sorted(label for label, _ in designer.lines()) == ["0", "1"]
    designer.open("w1")
    expect(page.locator("#wf-url")).to_have_value("https://api.example.com/orders")  # its config came back
    page.click("#done-widget")
    page.keyboard.press("Control+Shift+z")
    expect(designer.node("w1")).to_have_count(0)
    page.keyboard.press("Control+z")
    designer.select_line("0")
    page.keyboard.press("Delete")
    assert [label for label, _ in designer.lines()] == ["1"]
    page.keyboard.press("Control+z")
    assert sorted(label for label, _ in designer.lines()) == ["0", "1"]
    screenshot("undone")


def test_on_a_phone_a_tap_opens_the_form_without_changing_it(phone, live_server, alice, acme, screenshot):
    flow = two_ends_flow(acme)
    sign_in(phone, live_server, alice)
    designer = open_designer(phone, live_server, flow)
    designer.node("w1").locator(".wbox-summary").tap()
    expect(phone.locator("#panel-title")).to_have_text("Webhook widget · w1")
    expect(phone.locator("input[name=mode][value=custom]")).to_be_checked()
    assert phone.evaluate("() => window.phononDesigner.state.widgets.get('w1').config.mode") == "custom"
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
    screenshot("phone-form", of=phone)
    phone.fill("#wf-url", "https://api.example.com/v2/orders")
    phone.click("#done-widget")
    phone.click("#save-flow")
    expect(phone.locator("#save-status")).to_have_text("Saved")
    flow.refresh_from_db()
    assert flow.widgets[0]["config"]["url"] == "https://api.example.com/v2/orders"
    assert flow.widgets[0]["config"]["mode"] == "custom"

    for path in (reverse("flows:list"), reverse("flows:detail", args=[flow.pk]), reverse("reports:udf")):
        phone.goto(live_server.url + path)
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390, path
        expect(phone.get_by_role("button", name="Log out")).to_be_in_viewport()
        expect(phone.get_by_role("link", name="Reports")).to_be_in_viewport()
    screenshot("phone-report", of=phone)


def test_a_viewer_reads_the_diagram_but_cannot_change_it(page, live_server, bob, acme, screenshot):
    flow = two_ends_flow(acme)
    sign_in(page, live_server, bob)
    page.goto(live_server.url + reverse("flows:detail", args=[flow.pk]))
    page.get_by_role("link", name="View the diagram").click()
    designer = DesignerPage(page)
    expect(designer.node("w1")).to_be_visible()
    assert sorted(label for label, _ in designer.lines()) == ["0", "1"]
    expect(page.locator("#save-flow")).to_have_count(0)
    expect(page.locator("[data-add]")).to_have_count(0)
    designer.open("w1")
    expect(page.locator("#wf-url")).to_have_value("https://api.example.com/orders")
    expect(page.locator("#wf-url")).to_be_disabled()
    expect(page.locator("#delete-widget")).to_have_count(0)
    page.click("#done-widget")
    designer.node("w1").focus()
    page.keyboard.press("Delete")
    expect(designer.node("w1")).to_be_visible()
    screenshot("viewer")


def test_a_label_is_shown_on_the_box_and_kept(signed_in, live_server, acme):
    page = signed_in
    flow = two_ends_flow(acme)
    designer = open_designer(page, live_server, flow)
    designer.open("w1")
    page.fill("#wf-label", "Look up the order")
    expect(designer.node("w1").locator(".wbox-label")).to_have_text("Look up the order")
    designer.save()
    designer.expect_saved()
    flow.refresh_from_db()
    assert flow.widgets[0]["id"] == "w1"
    assert flow.widgets[0]["label"] == "Look up the order"


def test_a_stored_password_shows_as_stars_and_saves_keep_it(signed_in, live_server, acme):
    auth = {"type": "basic", "username": "u1", "password": "pa55-w0rd"}
    flow = make_flow(acme, webhook("w1", "https://api.example.com/orders", ok="w2", failed="w2", auth=auth), end("w2"))
    flow.layout = {"w1": {"x": 60, "y": 60}, "w2": {"x": 420, "y": 40}}
    flow.save()
    page = signed_in
    designer = open_designer(page, live_server, flow)
    designer.open("w1")
    password = page.locator("#wf-password")
    expect(password).to_have_value("***")
    expect(page.locator("#password-help")).to_be_visible()

    for label in ("Once", "Twice"):  # the second save starts from what the first one answered
        page.fill("#wf-label", label)
        designer.save()
        designer.expect_saved()
        expect(password).to_have_value("***")

    stored = Flow.objects.get(pk=flow.pk).widgets[0]["config"]["auth"]["password_encrypted"]
    assert decrypt_secret(stored) == "pa55-w0rd"


def test_picking_a_registered_webhook_brings_its_request_settings(signed_in, live_server, acme):
    Webhook.objects.create(
        account=acme, name="CRM", url="https://crm.example.com/hook", method="PUT", auth_type="basic", username="crm"
    )
    page = signed_in
    designer = open_designer(page, live_server, two_ends_flow(acme))
    designer.open("w1")
    page.fill("#wf-url", "https://crm.example.com/hook")
    expect(page.locator("#wf-method")).to_have_value("PUT")
    expect(page.locator("#wf-auth")).to_have_value("basic")
    expect(page.locator("#wf-username")).to_have_value("crm")
    expect(page.locator("#wf-body-type")).to_have_value("none")
    expect(page.locator("#url-picked")).to_contain_text("Type its password")


def test_errors_speak_the_users_words_and_lead_to_the_field(signed_in, live_server, acme, screenshot):
    page = signed_in
    designer = DesignerPage(page)
    page.goto(live_server.url + reverse("flows:designer-new"))
    page.fill("#flow-name", "Unfinished")
    designer.add("webhook")
    page.fill("#wf-url", "https://api.example.com/orders")
    designer.write_notes("x" * 1001)
    designer.add("end")
    page.click("#done-widget")
    designer.save()
    summary = page.locator("#flow-errors li")
    expect(summary.first).to_be_visible()
    texts = summary.all_inner_texts()
    screenshot("errors")
    assert not any("next." in text or "widgets:" in text or "loop forever" in text for text in texts), texts
    assert not any("Widget w1:" in text for text in texts), texts
    assert "Webhook w1: Line 0 is not connected; connect it to a widget (an end widget to stop)." in texts
    assert "End w2: Cannot be reached from the start widget w1; connect a line to it or delete it." in texts
    notes_error = summary.filter(has_text="Notes: Max 1000 characters are allowed")
    notes_error.get_by_role("button").click()
    expect(page.locator("#notes-panel .note-editable")).to_be_focused()
    expect(page.locator("#notes-panel .note-editable")).to_be_in_viewport()


def test_a_viewer_on_a_phone_opens_a_form_with_a_tap(phone, live_server, bob, acme):
    flow = two_ends_flow(acme)
    sign_in(phone, live_server, bob)
    designer = open_designer(phone, live_server, flow)
    designer.node("w1").locator(".wbox-summary").tap()
    expect(phone.locator("#panel-title")).to_have_text("Webhook widget · w1")
    expect(phone.locator("#wf-url")).to_have_value("https://api.example.com/orders")
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
