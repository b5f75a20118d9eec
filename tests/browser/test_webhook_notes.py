"""The webhook form's notes: the Summernote editor in its collapsible panel, with the live counter."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from webhooks.tests.factories import make_webhook

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_webhook_notes_are_edited_in_summernote_with_a_live_counter(signed_in, live_server, acme, screenshot):
    webhook = make_webhook(acme, name="Orders", notes="<p>Call <b>us</b></p>")
    page = signed_in
    page.goto(live_server.url + reverse("webhooks:edit", args=[webhook.pk]))
    expect(page.locator("#notes-count")).to_have_text("7 / 1000")
    page.click("#notes-panel > summary")
    editor = page.locator("#notes-panel .note-editable")
    expect(editor.locator("b")).to_have_text("us")  # formatted, not "<b>" typed out
    expect(page.locator("#notes-panel .note-icon-bold")).to_have_count(1)
    expect(page.locator("#notes-panel .note-icon-picture, #notes-panel .note-icon-video")).to_have_count(0)
    editor.click()
    page.keyboard.press("End")
    page.keyboard.type(" today")
    expect(page.locator("#notes-count")).to_have_text("13 / 1000")
    screenshot("notes-open")
    page.click("form.card button[type=submit]")
    expect(page.locator(".message")).to_contain_text("Webhook “Orders” saved.")
    webhook.refresh_from_db()
    assert webhook.notes == "<p>Call <b>us today</b></p>"  # typed at the end of the bold word
