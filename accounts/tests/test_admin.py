import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from accounts.models import ApiToken, AuditEntry, HttpSupportChange
from flows.tests.factories import end, make_flow, webhook
from webhooks.models import Webhook


@pytest.fixture
def staff_client(client, db):
    staff = get_user_model().objects.create_user("support", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client, staff


def test_the_accounts_page_switches_http_support_after_a_confirmation_saying_what_changes(staff_client, acme):
    client, staff = staff_client
    acme.http_support_enabled = True
    acme.save()
    make_flow(acme, webhook("w1", "http://api.example.com/orders"), end())
    Webhook.objects.create(account=acme, name="Plain receiver", url="http://receiver.example.com/")
    switch = reverse("admin:accounts_account_http_support", args=[acme.pk])

    page = client.get(f"/admin/accounts/account/{acme.pk}/change/").content.decode()
    assert f'href="{switch}"' in page and "Turn it off…" in page
    assert "Only staff may change it" not in page

    confirmation = client.get(switch).content.decode()
    assert acme.__class__.objects.get(pk=acme.pk).http_support_enabled is True  # asking changes nothing
    assert "BLOCKED_DESTINATION" in confirmation
    assert "Order status → w1" in confirmation and "Plain receiver" in confirmation

    response = client.post(switch, follow=True)
    assert "HTTP support is off for Acme (logged)." in response.content.decode()
    acme.refresh_from_db()
    assert acme.http_support_enabled is False
    change = HttpSupportChange.objects.get(account=acme)
    assert (change.old_value, change.new_value, change.changed_by) == (True, False, staff)


@pytest.fixture
def plain_staff_client(client, db):
    """Support staff as SPEC §1 has them: is_staff, no model permission granted."""
    clerk = get_user_model().objects.create_user("clerk", password="x", is_staff=True)
    client.force_login(clerk)
    return client, clerk


def test_staff_without_model_permissions_see_accounts_and_switch_http_support(plain_staff_client, acme):
    client, clerk = plain_staff_client
    switch = reverse("admin:accounts_account_http_support", args=[acme.pk])
    assert b'href="/admin/accounts/account/"' in client.get("/admin/").content
    assert b"Acme" in client.get("/admin/accounts/account/").content
    page = client.get(f"/admin/accounts/account/{acme.pk}/change/")
    assert page.status_code == 200
    assert f'href="{switch}"'.encode() in page.content and b"HTTP support audit log" in page.content

    assert client.get(switch).status_code == 200
    response = client.post(switch, follow=True)

    assert "HTTP support is on for Acme (logged)." in response.content.decode()
    acme.refresh_from_db()
    assert acme.http_support_enabled is True
    change = HttpSupportChange.objects.get(account=acme)
    assert (change.old_value, change.new_value, change.changed_by) == (False, True, clerk)
    assert AuditEntry.objects.get(account=acme, object_type="http_support").actor == "clerk"


def test_staff_without_model_permissions_cannot_edit_or_delete_accounts_or_see_members_and_secrets(
    plain_staff_client, acme, alice
):
    client, _ = plain_staff_client
    ApiToken.issue(user=alice, account=acme)
    Webhook.objects.create(account=acme, name="CRM", url="https://crm.example.com/hook")
    change = f"/admin/accounts/account/{acme.pk}/change/"

    page = client.get(change)
    assert b'name="name"' not in page.content and b'name="_save"' not in page.content  # read-only
    assert b"alice" not in page.content  # the members inline needs the membership permission
    assert client.post(change, {"slug": "acme", "name": "Renamed"}).status_code == 403
    assert client.get(f"/admin/accounts/account/{acme.pk}/delete/").status_code == 403
    assert client.get("/admin/accounts/account/add/").status_code == 403
    for secrets in ("/admin/accounts/apitoken/", "/admin/accounts/membership/", "/admin/webhooks/webhook/"):
        assert client.get(secrets).status_code == 403, secrets
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_the_account_form_cannot_change_http_support(staff_client, acme):
    client, _ = staff_client
    page = client.get(f"/admin/accounts/account/{acme.pk}/change/")
    assert page.status_code == 200
    assert b'name="http_support_enabled"' not in page.content
    assert b"HTTP support audit log" in page.content


def test_the_token_admin_never_shows_the_hash(staff_client, alice, acme):
    client, _ = staff_client
    token, key = ApiToken.issue(user=alice, account=acme)
    page = client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert page.status_code == 200
    assert token.key_hash.encode() not in page.content
    assert key.encode() not in page.content


def test_the_audit_log_is_read_only(staff_client, acme):
    client, _ = staff_client
    assert client.get("/admin/accounts/httpsupportchange/add/").status_code == 403


def test_non_staff_cannot_reach_the_admin(alice_client):
    response = alice_client.get("/admin/accounts/account/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
