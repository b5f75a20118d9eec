import pytest
from django.contrib.auth import get_user_model

from accounts.models import ApiToken, HttpSupportChange


@pytest.fixture
def staff_client(client, db):
    staff = get_user_model().objects.create_user("support", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client, staff


def test_the_admin_action_turns_http_support_on_with_an_audit_row(staff_client, acme):
    client, staff = staff_client
    response = client.post(
        "/admin/accounts/account/", {"action": "turn_http_support_on", "_selected_action": [acme.pk]}, follow=True
    )
    assert response.status_code == 200
    acme.refresh_from_db()
    assert acme.http_support_enabled is True
    change = HttpSupportChange.objects.get(account=acme)
    assert (change.old_value, change.new_value, change.changed_by) == (False, True, staff)


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
