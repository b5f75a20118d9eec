from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, ManagementUtility, call_command
from rest_framework.test import APIClient

from accounts.models import Account, ApiToken, HttpSupportChange, Membership, Role


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("support", password="x", is_staff=True)


def test_create_account_creates_the_account_and_its_owner(db):
    run("create_account", "initech", "--name", "Initech", "--owner", "peter", "--password", "tps-report-1999")
    account = Account.objects.get(slug="initech")
    peter = get_user_model().objects.get(username="peter")
    assert account.name == "Initech"
    assert peter.check_password("tps-report-1999")
    assert Membership.objects.get(user=peter, account=account).role == Role.OWNER


def test_create_account_makes_an_existing_user_the_owner(alice):
    run("create_account", "initech", "--name", "Initech", "--owner", "alice")
    assert Membership.objects.get(user=alice, account__slug="initech").role == Role.OWNER
    assert alice.check_password("correct horse battery")


def test_create_account_refuses_a_taken_slug(acme):
    with pytest.raises(CommandError, match="already exists"):
        run("create_account", "acme", "--name", "Other", "--owner", "x", "--password", "pw-long-enough")


def test_create_account_refuses_an_invalid_slug_naming_the_field_and_rule(db):
    with pytest.raises(CommandError, match=r"(?s)Invalid account:\nslug: Enter a valid .slug. consisting of letters"):
        run("create_account", "Bad Slug", "--name", "x", "--owner", "peter", "--password", "tps-report-1999")
    assert not Account.objects.exists()
    assert not get_user_model().objects.filter(username="peter").exists()


def test_create_account_fails_without_a_traceback_on_the_command_line(db, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "create_account", "Bad Slug", "--name", "x", "--owner", "peter"]).execute()
    assert exit_info.value.code == 1
    stderr = capsys.readouterr().err
    assert "CommandError: Invalid account:\nslug: Enter a valid" in stderr
    assert "Traceback" not in stderr


def test_create_account_runs_the_password_validators_for_a_new_owner(db):
    with pytest.raises(CommandError, match="Password refused: This password is too short"):
        run("create_account", "initech", "--name", "Initech", "--owner", "peter", "--password", "pw")
    with pytest.raises(CommandError, match="Password refused: This password is too common"):
        run("create_account", "initech", "--name", "Initech", "--owner", "peter", "--password", "password")
    assert not Account.objects.filter(slug="initech").exists()
    assert not get_user_model().objects.filter(username="peter").exists()


def test_create_token_prints_a_key_on_the_last_line_that_works(alice, acme):
    output = run("create_token", "alice", "--account", "acme")
    key = output.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get("/api/v1/account/")
    assert response.status_code == 200
    assert response.json() == {"slug": "acme", "name": "Acme", "http_support_enabled": False}


def test_create_token_with_a_role_adds_the_user_to_the_account(alice, globex):
    run("create_token", "alice", "--account", "globex", "--role", "viewer")
    assert Membership.objects.get(user=alice, account=globex).role == Role.VIEWER
    run("create_token", "alice", "--account", "globex", "--role", "developer")
    assert Membership.objects.get(user=alice, account=globex).role == Role.DEVELOPER


def test_create_token_refuses_a_non_member_without_role(alice, globex):
    with pytest.raises(CommandError, match="not a member"):
        run("create_token", "alice", "--account", "globex")
    assert not ApiToken.objects.filter(account=globex).exists()


def test_set_http_support_by_staff_changes_it_and_logs_old_and_new(acme, staff):
    output = run("set_http_support", "acme", "on", "--by", "support")
    acme.refresh_from_db()
    assert acme.http_support_enabled is True
    change = HttpSupportChange.objects.get(account=acme)
    assert (change.old_value, change.new_value, change.changed_by) == (False, True, staff)
    assert "off → on" in output


def test_set_http_support_says_when_nothing_changes(acme, staff):
    output = run("set_http_support", "acme", "off", "--by", "support")
    assert "already off" in output
    assert not HttpSupportChange.objects.exists()


def test_set_http_support_refuses_a_non_staff_user(acme, alice):
    with pytest.raises(CommandError, match="alice is not staff"):
        run("set_http_support", "acme", "on", "--by", "alice")
    acme.refresh_from_db()
    assert acme.http_support_enabled is False
    assert not HttpSupportChange.objects.exists()


def test_set_http_support_exits_non_zero_for_non_staff(acme, alice, capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "set_http_support", "acme", "on", "--by", "alice"]).execute()
    assert exit_info.value.code != 0
    assert "only support staff may change HTTP support" in capsys.readouterr().err
