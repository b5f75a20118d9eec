"""Site pages outside the designer, walked as a new user would (issue 14)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from flows.tests.factories import end, make_flow, webhook
from phonon.lib.testing.http_server import Reply
from tests.browser.designer_page import DesignerPage

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_url_check_shows_an_error_answer_amber_with_its_code(
    signed_in, live_server, loopback_allowed, server, screenshot
):
    server.reply("/missing", Reply(status=404))
    server.reply("/hook", Reply(status=204))
    page = signed_in
    page.goto(live_server.url + reverse("webhooks:add"))
    result = page.locator("#check-result")

    page.fill("#id_url", server.url("/missing"))
    page.click("#check-url")
    expect(result).to_have_text(
        "⚠ The URL answered 404 Not Found, a client error: check the path and the authentication."
    )
    expect(result).to_have_class("check-result warn")
    screenshot("amber")

    page.fill("#id_url", server.url("/hook"))
    page.click("#check-url")
    expect(result).to_have_text("✓ The URL is reachable.")
    expect(result).to_have_class("check-result ok")


def test_a_new_api_token_has_a_copy_button(signed_in, live_server, acme):
    page = signed_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + reverse("accounts:api-tokens"))
    page.fill("#id_name", "CRM")
    page.click("button:has-text('Create token')")
    key = page.locator("#new-key").input_value()
    page.click("#copy-key")
    expect(page.locator("#copy-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("() => navigator.clipboard.readText()") == key


def test_the_flow_pages_say_just_now_and_explain_mandatory(signed_in, live_server, acme):
    flow = make_flow(acme, webhook("w1", "https://api.example.com/orders"), end())
    page = signed_in
    page.goto(live_server.url + reverse("flows:detail", args=[flow.pk]))
    expect(page.locator("main")).to_contain_text("updated just now")
    expect(page.locator("main")).not_to_contain_text("0 minutes")
    page.goto(live_server.url + reverse("flows:designer", args=[flow.pk]))
    DesignerPage(page).open("w1")
    expect(page.locator("[data-rows='config.headers'] .mandatory-help")).to_contain_text("MANDATORY_PARAMETER_MISSING")
    expect(page.locator("[data-rows='config.mappings'] .mandatory-help")).to_contain_text("MANDATORY_FIELD_MISSING")
