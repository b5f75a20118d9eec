"""The URL policy of SPEC §5: what a webhook may call, and the reasons it gives when it may not."""

import ipaddress
import re
import socket

import pytest

from phonon.lib.url_policy import CheckedURL, UrlPolicyError, check_url, parse_allowed_networks

PUBLIC = "93.184.215.14"


def answers(*addresses: str):
    """A resolver returning ``addresses`` for every name, and recording what it was asked."""

    def resolve(host: str, port: int) -> list[str]:
        resolve.asked.append((host, port))
        return list(addresses)

    resolve.asked = []
    return resolve


def no_dns(host: str, port: int) -> list[str]:
    raise AssertionError(f"an IP literal must not be resolved (asked for {host})")


def refusal(url: str, **kwargs) -> UrlPolicyError:
    kwargs.setdefault("allow_http", True)
    kwargs.setdefault("resolve", no_dns)
    with pytest.raises(UrlPolicyError) as raised:
        check_url(url, **kwargs)
    return raised.value


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("127.0.0.2", "a loopback address"),
        ("0.0.0.0", "the unspecified address"),  # noqa: S104
        ("[::1]", "a loopback address"),
        ("[::]", "the unspecified address"),
        ("[::ffff:127.0.0.1]", "an IPv4-mapped IPv6 address (it stands for 127.0.0.1)"),
        ("10.0.0.1", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("224.0.0.1", "a multicast address"),
        ("[fe80::1]", "a link-local address"),
        ("[fc00::1]", "a private address"),
        ("[ff02::1]", "a multicast address"),
        ("[::7f00:1]", "an IPv4-compatible IPv6 address (it stands for 127.0.0.1)"),
        ("[2002:7f00:1::]", "a 6to4 IPv6 address (it stands for 127.0.0.1)"),
        ("[2001:0:4136:e378:8000:63bf:80ff:fffe]", "a Teredo IPv6 address (it stands for 127.0.0.1)"),
        ("[64:ff9b::a00:1]", "a NAT64 IPv6 address (it stands for 10.0.0.1)"),
        ("192.0.0.8", "a special-purpose (IETF protocol) address"),
        ("198.18.0.1", "a benchmarking address"),
        ("240.0.0.1", "a private address"),
        ("255.255.255.255", "a private address"),
    ],
)
def test_it_refuses_addresses_that_are_not_public(host: str, kind: str):
    error = refusal(f"https://{host}/hook", allow_http=False)

    assert error.code == "blocked"
    shown = host.strip("[]")
    assert error.reason == f"The host {shown} is {kind}; webhooks can only call public addresses."


@pytest.mark.parametrize(
    ("url", "meaning"),
    [
        ("http://2130706433/", "127.0.0.1"),
        ("http://0x7f000001/", "127.0.0.1"),
        ("http://017700000001/", "127.0.0.1"),
        ("http://127.1/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://127.000.000.001/", None),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://0x5db8d70e/", PUBLIC),
        ("http://1.2.3.4.5/", None),
        ("http://example.0x10/", None),
    ],
)
def test_it_refuses_unusual_spellings_of_ip_addresses(url: str, meaning: str | None):
    error = refusal(url)

    assert error.code == "invalid_url"
    assert "unusual spelling of an IP address" in error.reason
    assert "four decimal numbers" in error.reason
    if meaning:
        assert f"(it stands for {meaning})" in error.reason


def test_the_system_resolver_would_read_those_spellings_as_loopback():
    # Why the spellings are refused outright: getaddrinfo happily connects them to 127.0.0.1.
    assert socket.getaddrinfo("2130706433", 80, type=socket.SOCK_STREAM)[0][4][0] == "127.0.0.1"
    assert socket.getaddrinfo("127.1", 80, type=socket.SOCK_STREAM)[0][4][0] == "127.0.0.1"


def test_it_refuses_a_name_whose_dns_answer_is_private():
    error = refusal("https://internal.example.com/hook", resolve=answers("10.1.2.3"))

    assert error.code == "blocked"
    assert error.reason == (
        "The host internal.example.com resolves to 10.1.2.3, a private address; "
        "webhooks can only call public addresses."
    )


def test_it_refuses_a_name_when_any_of_its_addresses_is_private():
    error = refusal("https://mixed.example.com/", resolve=answers(PUBLIC, "2606:4700::1", "127.0.0.1"))

    assert error.code == "blocked"
    assert "resolves to 127.0.0.1, a loopback address" in error.reason


def test_it_refuses_a_name_resolving_to_an_ipv4_mapped_address():
    error = refusal("https://sneaky.example.com/", resolve=answers("::ffff:169.254.169.254"))

    assert error.code == "blocked"
    assert "resolves to ::ffff:a9fe:a9fe, an IPv4-mapped IPv6 address (it stands for 169.254.169.254)" in error.reason


def test_it_allows_a_public_address_and_returns_what_it_checked():
    resolve = answers(PUBLIC)

    checked = check_url("https://api.example.com/hook?x=1", allow_http=False, resolve=resolve)

    assert checked == CheckedURL(
        url="https://api.example.com/hook?x=1",
        scheme="https",
        host="api.example.com",
        port=443,
        addresses=(ipaddress.ip_address(PUBLIC),),
    )
    assert resolve.asked == [("api.example.com", 443)]


def test_it_allows_public_literals_without_resolving_them():
    assert check_url(f"https://{PUBLIC}:8443/", allow_http=False, resolve=no_dns).addresses == (
        ipaddress.ip_address(PUBLIC),
    )
    assert check_url("https://[2606:4700::1111]/", allow_http=False, resolve=no_dns).host == "2606:4700::1111"


def test_it_keeps_every_distinct_address_in_resolver_order():
    checked = check_url("https://api.example.com/", allow_http=False, resolve=answers(PUBLIC, "2606:4700::1", PUBLIC))

    assert [str(address) for address in checked.addresses] == [PUBLIC, "2606:4700::1"]


def test_it_allows_anything_inside_the_allowed_networks():
    allowed = parse_allowed_networks("127.0.0.0/8, 10.0.0.0/8, ::1/128")

    assert check_url("http://127.0.0.1:8000/", allow_http=True, allowed_networks=allowed).port == 8000
    assert check_url("http://10.9.8.7/", allow_http=True, allowed_networks=allowed).host == "10.9.8.7"
    assert check_url("http://[::1]/", allow_http=True, allowed_networks=allowed).host == "::1"
    named = check_url("http://demo.test/", allow_http=True, allowed_networks=allowed, resolve=answers("127.0.0.1"))
    assert named.addresses == (ipaddress.ip_address("127.0.0.1"),)


def test_the_allowed_networks_open_nothing_else():
    allowed = parse_allowed_networks("127.0.0.0/8")

    assert refusal("http://192.168.1.1/", allowed_networks=allowed).code == "blocked"
    assert refusal("http://[::1]/", allowed_networks=allowed).code == "blocked"
    assert refusal("http://[::ffff:127.0.0.1]/", allowed_networks=allowed).code == "blocked"
    assert refusal("http://2130706433/", allowed_networks=allowed).code == "invalid_url"


def test_it_uses_the_system_resolver_by_default():
    error = refusal("http://localhost:8000/", resolve=None)

    assert error.code == "blocked"
    assert error.reason.startswith("The host localhost resolves to ")


def test_it_refuses_http_without_http_support():
    error = refusal(f"http://{PUBLIC}/", allow_http=False)

    assert error.code == "scheme"
    assert error.reason == (
        "Plain http:// is not allowed for this account; use an https:// URL (http needs HTTP support on the account)."
    )


def test_it_allows_http_with_http_support():
    assert check_url(f"http://{PUBLIC}/", allow_http=True).port == 80


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/", "The scheme ftp: is not supported; start the URL with https://."),
        ("file:///etc/passwd", "The scheme file: is not supported; start the URL with https://."),
        ("example.com/hook", "The URL has no scheme; start the URL with https://."),
    ],
)
def test_it_refuses_other_schemes(url: str, reason: str):
    error = refusal(url, allow_http=False)

    assert error.code == "scheme"
    assert error.reason == reason


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "The URL is empty"),
        ("https:///hook", "The URL has no host name"),
        ("https://example.com:99999/", "The URL is not valid"),
        ("https://example.com:http/", "The URL is not valid"),
        ("https://example.com:0/", "port 0 is not valid"),
        ("https://[::1/", "The URL is not valid"),
        ("https://[example.com]/", "The URL is not valid"),
        ("https://exa mple.com/", "spaces, control characters or backslashes"),
        ("https://exa\tmple.com/", "spaces, control characters or backslashes"),
        ("https://example.com\\@127.0.0.1/", "spaces, control characters or backslashes"),
        ("https://exa%6dple.com/", "is not a valid host name"),
        ("https://-example.com/", "is not a valid host name"),
        ("https://example..com/", "is not a valid host name"),
        ("https://[fe80::1%25eth0]/", "zone"),
    ],
)
def test_it_refuses_malformed_urls_saying_what_is_wrong(url: str, says: str):
    error = refusal(url)

    assert error.code == "invalid_url"
    assert says in error.reason


def test_userinfo_does_not_confuse_the_host():
    assert check_url(f"https://127.0.0.1@{PUBLIC}/", allow_http=False).host == PUBLIC
    assert check_url(f"https://user:p%40ss@{PUBLIC}/", allow_http=False).host == PUBLIC
    assert check_url(f"https://user:p@ss@{PUBLIC}/", allow_http=False).host == PUBLIC

    error = refusal(f"https://{PUBLIC}:443@127.0.0.1/")
    assert error.code == "blocked"
    assert error.reason.startswith("The host 127.0.0.1 is a loopback address")


def test_a_fragment_or_query_cannot_hide_the_host():
    assert refusal(f"https://127.0.0.1#@{PUBLIC}/").reason.startswith("The host 127.0.0.1 ")
    assert refusal(f"https://127.0.0.1?@{PUBLIC}/").reason.startswith("The host 127.0.0.1 ")


def test_reasons_never_show_the_password():
    error = refusal("https://admin:hunter2-secret@10.0.0.1/")

    assert "hunter2" not in error.reason
    assert "admin" not in error.reason


def test_it_refuses_a_name_that_does_not_resolve():
    def failing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    error = refusal("https://nowhere.example.com/", resolve=failing)

    assert error.code == "dns"
    assert error.reason == (
        "The host nowhere.example.com could not be found (DNS lookup failed); check the spelling of the host name."
    )


def test_an_empty_dns_answer_is_a_dns_failure():
    assert refusal("https://empty.example.com/", resolve=answers()).code == "dns"


def test_it_resolves_international_names_in_their_ascii_form():
    resolve = answers(PUBLIC)

    checked = check_url("https://Bücher.example/", allow_http=False, resolve=resolve)

    assert checked.host == "xn--bcher-kva.example"
    assert resolve.asked == [("xn--bcher-kva.example", 443)]


def test_fullwidth_digits_are_judged_as_the_address_they_spell():
    fullwidth_loopback = "https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/"  # 127.0.0.1 in fullwidth digits

    assert refusal(fullwidth_loopback).code == "blocked"


def test_the_netloc_is_what_the_host_header_wants():
    def checked(url: str) -> CheckedURL:
        return check_url(url, allow_http=True, resolve=answers(PUBLIC))

    assert checked("https://api.example.com/").netloc == "api.example.com"
    assert checked("https://api.example.com:8443/").netloc == "api.example.com:8443"
    assert checked("http://api.example.com:443/").netloc == "api.example.com:443"
    assert checked("https://[2606:4700::1111]:8443/").netloc == "[2606:4700::1111]:8443"


def test_it_parses_allowed_networks_from_the_setting():
    assert parse_allowed_networks("127.0.0.0/8, ::1/128,,") == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_allowed_networks(["10.0.0.0/8", " 192.168.0.1 "]) == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("192.168.0.1/32"),
    )
    assert parse_allowed_networks("") == ()
    assert parse_allowed_networks("10.1.2.3/8") == (ipaddress.ip_network("10.0.0.0/8"),)


def test_it_names_the_bad_entry_of_the_allowed_networks():
    with pytest.raises(ValueError, match=re.escape("'10.0.0.0/33' is not an IP network")):
        parse_allowed_networks("127.0.0.0/8, 10.0.0.0/33")
