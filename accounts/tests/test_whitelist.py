"""The whitelist, enforced on every API request of an account that has entries."""

import pytest

from accounts.tests.factories import make_whitelist_entry


def get_account(client, remote_addr: str, forwarded_for: str | None = None):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client.get("/api/v1/account/", **headers)


def test_an_account_without_entries_accepts_any_address(alice_api):
    assert get_account(alice_api, "198.51.100.99").status_code == 200


@pytest.mark.parametrize(
    ("entry", "address", "allowed"),
    [
        ("203.0.113.7", "203.0.113.7", True),
        ("203.0.113.7", "203.0.113.8", False),
        ("203.0.113.0/24", "203.0.113.200", True),
        ("203.0.113.0/24", "203.0.114.1", False),
        ("2001:db8::1", "2001:db8::1", True),
        ("2001:db8::1", "2001:db8::2", False),
        ("2001:db8:abcd::/48", "2001:db8:abcd:12::5", True),
        ("2001:db8:abcd::/48", "2001:db8:abce::5", False),
        ("203.0.113.0/24", "::ffff:203.0.113.9", True),  # IPv4 client on a dual-stack socket
        ("203.0.113.0/24", "::ffff:198.51.100.1", False),
        ("::ffff:203.0.113.0/120", "203.0.113.9", True),  # stored as 203.0.113.0/24
    ],
)
def test_the_whitelist_allows_and_denies(alice_api, acme, entry, address, allowed):
    make_whitelist_entry(acme, cidr=entry)
    response = get_account(alice_api, address)
    if allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert response.json()["detail"].startswith(f"Requests from {address} are not allowed")


def test_the_whitelist_applies_to_writes_and_to_viewers_too(alice_api, bob_api, acme):
    make_whitelist_entry(acme, cidr="203.0.113.7")
    post = alice_api.post("/api/v1/ip-whitelist/", {"cidr": "0.0.0.0/0"}, format="json", REMOTE_ADDR="192.0.2.1")
    assert post.status_code == 403
    assert get_account(bob_api, "192.0.2.1").status_code == 403


def test_another_accounts_whitelist_does_not_apply(alice_api, globex):
    make_whitelist_entry(globex, cidr="203.0.113.7")
    assert get_account(alice_api, "192.0.2.1").status_code == 200


def test_a_forged_forwarded_for_is_ignored_by_default(alice_api, acme):
    make_whitelist_entry(acme, cidr="203.0.113.7")
    assert get_account(alice_api, "192.0.2.1", forwarded_for="203.0.113.7").status_code == 403


def test_forwarded_for_is_honoured_with_one_trusted_proxy(alice_api, acme, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    make_whitelist_entry(acme, cidr="203.0.113.7")
    # The proxy (10.0.0.2) appended the address it saw; an earlier, forged entry is not read.
    assert get_account(alice_api, "10.0.0.2", forwarded_for="203.0.113.7").status_code == 200
    assert get_account(alice_api, "10.0.0.2", forwarded_for="203.0.113.7, 192.0.2.1").status_code == 403
