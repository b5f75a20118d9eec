"""The endpoint rules registered webhooks and webhook widgets share."""

import ipaddress

import pytest

from phonon.lib.endpoint_rules import USERINFO_REFUSED, has_userinfo, url_problem, username_problem

PUBLIC = {"allow_http": False}


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com?email=a@b.example",
        "https://api.example.com/users/a@b.example",
        "https://api.example.com/#a@b",
    ],
)
def test_an_at_sign_after_the_authority_is_not_user_info(url):
    assert not has_userinfo(url)
    assert url_problem(url, **PUBLIC, look_up_names=False) is None


@pytest.mark.parametrize("url", ["https://user@api.example.com/", "https://user:pw@api.example.com/?a=b@c"])
def test_user_info_in_the_authority_is_refused(url):
    assert has_userinfo(url)
    assert url_problem(url, **PUBLIC, look_up_names=False) == USERINFO_REFUSED


def test_without_lookups_a_name_is_not_resolved_but_an_ip_literal_is_judged(monkeypatch):
    def no_dns(host, port):
        raise AssertionError("resolved a name")

    monkeypatch.setattr("phonon.lib.url_policy.resolve_host", no_dns)
    assert url_problem("https://nowhere.invalid/", **PUBLIC, look_up_names=False) is None
    assert "loopback" in url_problem("https://127.0.0.1/", **PUBLIC, look_up_names=False)
    assert "https://" in url_problem("http://api.example.com/", **PUBLIC, look_up_names=False)


def test_with_lookups_a_name_must_resolve_to_an_allowed_address(monkeypatch):
    monkeypatch.setattr("phonon.lib.url_policy.resolve_host", lambda host, port: ["10.0.0.7"])
    assert "10.0.0.7" in url_problem("https://inside.test/", **PUBLIC)
    allowed = (ipaddress.ip_network("10.0.0.0/8"),)
    assert url_problem("https://inside.test/", allow_http=False, allowed_networks=allowed) is None


@pytest.mark.parametrize(
    ("username", "problem"),
    [
        ("", "basic authentication needs a username."),
        (None, "basic authentication needs a username."),
        ("a:b", "basic authentication does not allow ':' in the username."),
        ("x" * 201, "the username is longer than 200 characters."),
        ("api-key-123", None),
    ],
)
def test_a_basic_auth_username_is_required_short_and_without_a_colon(username, problem):
    assert username_problem(username) == problem
