"""Login throttling (SPEC §17): 5 failures per user name or per address in 15 minutes lock it out for 15."""

from datetime import timedelta

import pytest
from django.test import Client

from accounts.login_throttle import FAILURE_LIMIT
from accounts.models import LoginFailure, LoginLock

RIGHT = "correct horse battery"


def log_in(username: str, password: str, address: str = "198.51.100.7", path: str = "/login/", **headers):
    return Client().post(path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def fail(times: int, username: str = "alice", address: str = "198.51.100.7") -> None:
    for _ in range(times):
        assert log_in(username, "wrong", address).status_code == 200


def age_everything(minutes: int) -> None:
    """Move the clock forward by moving the rows back."""
    then = timedelta(minutes=minutes)
    for failure in LoginFailure.objects.all():
        LoginFailure.objects.filter(pk=failure.pk).update(time=failure.time - then)
    for lock in LoginLock.objects.all():
        LoginLock.objects.filter(pk=lock.pk).update(locked_until=lock.locked_until - then)


def test_five_failures_for_one_user_name_lock_it_even_with_the_right_password(alice):
    fail(FAILURE_LIMIT - 1, address="198.51.100.7")
    assert log_in("alice", RIGHT, "198.51.100.7").status_code == 302  # four are not enough
    fail(1, username="ALICE ", address="203.0.113.5")  # case and spaces count as the same name
    locked = log_in("alice", RIGHT, "192.0.2.44")  # from yet another address
    assert locked.status_code == 429
    text = locked.content.decode()
    assert "Too many failed logins" in text and "Try again at" in text and "in 15 minutes" in text
    assert 14 * 60 < int(locked["Retry-After"]) <= 15 * 60
    assert log_in("bob", "anything", "192.0.2.44").status_code == 200  # other names are not locked


def test_a_look_alike_spelling_of_a_locked_name_is_locked_too(alice):
    """A full-width "a" (U+FF41) logs in as "a" (Django's NFKC), so it must not be a way round the lock."""
    for n in range(FAILURE_LIMIT):
        fail(1, username="\uff41lice" if n % 2 else "alice", address=f"198.51.100.{n + 1}")

    assert log_in("\uff41lice", RIGHT, "192.0.2.45").status_code == 429
    assert log_in("alice", RIGHT, "192.0.2.46").status_code == 429


def test_five_failures_from_one_address_lock_that_address_for_every_name(alice):
    for n in range(FAILURE_LIMIT):
        fail(1, username=f"guess{n}", address="203.0.113.9")
    assert log_in("alice", RIGHT, "203.0.113.9").status_code == 429
    assert log_in("alice", RIGHT, "203.0.113.10").status_code == 302


def test_the_address_is_read_as_the_ip_whitelist_reads_it(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(FAILURE_LIMIT):
        log_in(f"guess{n}", "wrong", "10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.9")
    assert LoginLock.objects.get().value == "203.0.113.9"
    blocked = log_in("alice", RIGHT, "10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1, 203.0.113.9")
    assert blocked.status_code == 429


def test_an_ipv4_mapped_ipv6_address_counts_as_the_ipv4_address(alice):
    fail(FAILURE_LIMIT - 1, username="someone", address="::ffff:203.0.113.9")
    fail(1, username="someone-else", address="203.0.113.9")
    assert LoginLock.objects.get(kind="address").value == "203.0.113.9"
    assert log_in("alice", RIGHT, "::ffff:203.0.113.9").status_code == 429


def test_failures_older_than_the_window_do_not_count(alice):
    fail(FAILURE_LIMIT - 1)
    age_everything(16)
    fail(1)
    assert log_in("alice", RIGHT).status_code == 302


def test_the_lock_ends_after_fifteen_minutes(alice):
    fail(FAILURE_LIMIT)
    assert log_in("alice", RIGHT).status_code == 429
    age_everything(14)
    assert log_in("alice", RIGHT).status_code == 429
    age_everything(1)
    assert log_in("alice", RIGHT).status_code == 302


def test_the_admin_login_is_throttled_too(admin_user):
    for _ in range(FAILURE_LIMIT):
        log_in("admin", "wrong", path="/admin/login/")
    assert log_in("admin", "password", path="/admin/login/").status_code == 429


@pytest.mark.parametrize("how", ["delete", "action"])
def test_an_admin_clears_a_lock(alice, admin_client, how):
    fail(FAILURE_LIMIT)
    locks = LoginLock.objects.all()
    assert locks.count() == 2  # the name and the address
    if how == "delete":
        lock = locks.get(kind="username")
        response = admin_client.post(f"/admin/accounts/loginlock/{lock.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        admin_client.post(f"/admin/accounts/loginlock/{locks.get().pk}/delete/", {"post": "yes"})
    else:
        ids = [str(lock.pk) for lock in locks]
        admin_client.post("/admin/accounts/loginlock/", {"action": "unlock_selected", "_selected_action": ids})
    assert not LoginLock.objects.exists() and not LoginFailure.objects.exists()
    assert log_in("alice", RIGHT).status_code == 302
