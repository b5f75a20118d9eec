"""An owner invites a colleague, who accepts by the emailed link and logs in as the new member."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from accounts.models import Membership, Role

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a fresh long passphrase"


def test_invite_accept_and_log_in_as_the_new_member(signed_in, live_server, acme, screenshot):
    page = signed_in
    page.click("summary:has-text('Settings')")
    page.click(".menu a:has-text('Members')")
    page.fill("#id_email", "dora@example.com")
    page.select_option("#id_role", "developer")
    page.click("button:has-text('Send invitation')")
    expect(page.locator(".messages")).to_contain_text("Invitation sent to dora@example.com")
    expect(page.locator("tr[data-member='dora@example.com']")).to_contain_text("pending")
    screenshot("invited")
    page.click(".page-head a:has-text('Audit log')")
    expect(page.locator("tbody tr").first).to_contain_text("alice")
    expect(page.locator("tbody tr").first).to_contain_text("created member dora@example.com")
    screenshot("audit-log")

    link = re.search(r"https?://\S+(/invitations/\S+/)", mail.outbox[-1].body).group(1)
    page.click("button:has-text('Log out')")
    page.goto(live_server.url + link)
    expect(page.locator("h1")).to_have_text("Join Acme")
    page.fill("#id_username", "dora")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    screenshot("accepting")
    page.click("button:has-text('Create login and join')")
    expect(page.locator(".messages")).to_contain_text("Welcome to Acme")

    page.click("button:has-text('Log out')")
    page.fill("#id_username", "dora")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator(".session")).to_contain_text("dora")
    expect(page.locator(".session")).to_contain_text("Developer")
    expect(page.locator(".mainnav")).to_contain_text("Flows")
    screenshot("signed-in-as-dora")
    assert Membership.objects.get(account=acme, user__username="dora").role == Role.DEVELOPER
