"""Site pages outside the designer, walked as a new user would (issue 14)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from phonon.lib.testing.http_server import Reply

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
