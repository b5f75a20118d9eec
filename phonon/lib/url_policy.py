"""The one URL policy (SPEC §5): which URLs a webhook may call.

Used by the check button, by saving a webhook, and by ``outbound.send_request`` before every
request and every redirect hop. A URL passes when its syntax is sound, its scheme is https
(or http with HTTP support), its host resolves, and *every* address it resolves to is public
or inside the operator's ``WEBHOOK_ALLOWED_NETWORKS``. The outbound client then connects to
the addresses checked here, so a DNS answer that changes afterwards cannot move the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Iterable[str | IPAddress]]
"""``resolve(host, port)`` returns the addresses of ``host``; raises ``OSError`` when it has none."""

DEFAULT_PORTS = {"http": 80, "https": 443}
# The dot segments, percent-encoded: "/a/../b" is "/b" to every client and server (RFC 3986
# 5.2.4), "/a/%2E%2E/b" keeps three segments. The templating and the outbound client use it.
ENCODED_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}
PUBLIC_ONLY = "webhooks can only call public addresses"

# Ranges that Python's ipaddress flags (is_private, is_global...) miss on some 3.11 patch levels.
_SPECIAL_RANGES: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(network), description)
    for network, description in (
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("192.0.0.0/24", "a special-purpose (IETF protocol) address"),
        ("192.88.99.0/24", "a 6to4 relay address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("64:ff9b::/96", "a NAT64 address"),
        ("64:ff9b:1::/48", "a NAT64 address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:20::/28", "an ORCHIDv2 address"),
        ("2002::/16", "a 6to4 tunnel address"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "a segment-routing address"),
    )
)
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_HEX_NUMBER = re.compile(r"0x[0-9a-f]*")


class UrlPolicyError(Exception):
    """A URL the policy refuses; ``reason`` is a sentence saying what failed and how to fix it.

    ``code`` is one of ``invalid_url``, ``scheme``, ``dns``, ``blocked``.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class CheckedURL:
    """A URL that passed the policy, with the addresses that were judged (connect to these only)."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]

    @property
    def netloc(self) -> str:
        """``host[:port]`` as the Host header wants it (port only when not the scheme's default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if DEFAULT_PORTS[self.scheme] == self.port else f"{host}:{self.port}"


def parse_allowed_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse ``WEBHOOK_ALLOWED_NETWORKS`` ("127.0.0.0/8, ::1/128" or a list); empty entries are skipped."""
    entries = value.split(",") if isinstance(value, str) else value
    networks = []
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP network; write networks in CIDR form, e.g. 127.0.0.0/8.")
    return tuple(networks)


def resolve_host(host: str, port: int) -> list[str]:
    """The system resolver (getaddrinfo): every address of ``host`` for a TCP connection."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def check_url(
    url: str,
    *,
    allow_http: bool,
    allowed_networks: Sequence[IPNetwork] = (),
    resolve: Resolver | None = None,
) -> CheckedURL:
    """Return the checked URL with its resolved addresses, or raise ``UrlPolicyError``.

    ``resolve`` defaults to ``resolve_host``, looked up at call time so tests may patch it.
    IP literals are judged as they are, without a lookup.
    """
    url, scheme, host, port = _parse(url, allow_http=allow_http)
    literal = _ip_literal(host)
    addresses = (literal,) if literal else _resolve(host, port, resolve or resolve_host)
    for address in addresses:
        if any(address in network for network in allowed_networks):
            continue
        kind = describe_forbidden_address(address)
        if kind is None:
            continue
        if literal:
            raise UrlPolicyError("blocked", f"The host {host} is {kind}; {PUBLIC_ONLY}.")
        raise UrlPolicyError("blocked", f"The host {host} resolves to {address}, {kind}; {PUBLIC_ONLY}.")
    return CheckedURL(url=url, scheme=scheme, host=host, port=port, addresses=addresses)


def describe_forbidden_address(address: IPAddress) -> str | None:
    """Why ``address`` is not public ("a loopback address"), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            form, ipv4 = embedded
            return f"{form} (it stands for {ipv4})"
        if address.scope_id:
            return "a link-local address with a zone"
    checks = (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
    )
    for flagged, description in checks:
        if flagged:
            return description
    for network, description in _SPECIAL_RANGES:
        if address in network:
            return description
    if address.is_private or getattr(address, "is_site_local", False):
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """IPv6 spellings that carry an IPv4 address; all refused, since they only serve to disguise one."""
    if address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address", address.ipv4_mapped
    if address.sixtofour is not None:
        return "a 6to4 IPv6 address", address.sixtofour
    if address.teredo is not None:
        return "a Teredo IPv6 address", address.teredo[1]
    packed = address.packed
    if packed[:12] == bytes(12) and int(address) > 1:
        return "an IPv4-compatible IPv6 address", ipaddress.IPv4Address(packed[12:])
    if address in ipaddress.IPv6Network("64:ff9b::/96"):
        return "a NAT64 IPv6 address", ipaddress.IPv4Address(packed[12:])
    return None


def _parse(url: str, *, allow_http: bool) -> tuple[str, str, str, int]:
    """Syntax and scheme: (url, scheme, ASCII host without brackets, port)."""
    if not isinstance(url, str) or not url.strip():
        raise UrlPolicyError("invalid_url", "The URL is empty; enter a full address like https://api.example.com/hook.")
    url = url.strip()
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 or char == "\\" for char in url):
        raise UrlPolicyError(
            "invalid_url",
            "The URL contains spaces, control characters or backslashes; remove them "
            "(encode a space in a path as %20).",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlPolicyError(
            "invalid_url", f"The URL is not valid ({error}); write it like https://api.example.com/hook."
        )
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        wanted = "https:// or http://" if allow_http else "https://"
        problem = f"The scheme {scheme}: is not supported" if scheme else "The URL has no scheme"
        raise UrlPolicyError("scheme", f"{problem}; start the URL with {wanted}.")
    if scheme == "http" and not allow_http:
        raise UrlPolicyError(
            "scheme",
            "Plain http:// is not allowed for this account; use an https:// URL "
            "(http needs HTTP support on the account).",
        )
    host = parts.hostname or ""
    if not host:
        raise UrlPolicyError("invalid_url", "The URL has no host name; write it like https://api.example.com/hook.")
    if port == 0:
        raise UrlPolicyError("invalid_url", "The URL's port 0 is not valid; leave the port out or use 1-65535.")
    return url, scheme, _normalise_host(host), port or DEFAULT_PORTS[scheme]


def _normalise_host(host: str) -> str:
    """An IP literal, or a DNS name in ASCII; odd numeric spellings of IPv4 are refused here."""
    if ":" in host:  # only IPv6 literals contain colons; urlsplit has removed the brackets
        try:
            address = ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlPolicyError("invalid_url", f"The host [{host}] is not a valid IPv6 address.")
        if address.scope_id:
            raise UrlPolicyError("invalid_url", f"The host [{host}] has an IPv6 zone; webhooks cannot use zones.")
        return host
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise UrlPolicyError("invalid_url", f"The host {host} is not a valid international domain name.")
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # a trailing dot (a fully qualified name)
    if _is_number(labels[-1]):
        # Like browsers, a host ending in a number is an IPv4 address; only the usual four-decimal
        # spelling is accepted, because inet_aton also reads 2130706433, 0x7f.1, 0177.0.0.1 or 127.1.
        if host != ".".join(labels) or not _is_canonical_ipv4(host):
            raise UrlPolicyError("invalid_url", _odd_ipv4_reason(host))
        return host
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise UrlPolicyError(
            "invalid_url",
            f"The host {host} is not a valid host name; use letters, digits, hyphens and dots, like api.example.com.",
        )
    return host


def _is_number(label: str) -> bool:
    return label.isdigit() or bool(_HEX_NUMBER.fullmatch(label))


def _is_canonical_ipv4(host: str) -> bool:
    try:
        return str(ipaddress.IPv4Address(host)) == host
    except ValueError:
        return False


def _odd_ipv4_reason(host: str) -> str:
    try:
        meaning = f" (it stands for {socket.inet_ntoa(socket.inet_aton(host.rstrip('.')))})"
    except OSError:
        meaning = ""
    return (
        f"The host {host} is an unusual spelling of an IP address{meaning}; "
        "write IPv4 addresses as four decimal numbers like 93.184.215.14, or use a host name."
    )


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _resolve(host: str, port: int, resolve: Resolver) -> tuple[IPAddress, ...]:
    try:
        answers = [ipaddress.ip_address(answer) for answer in resolve(host, port)]
    except (OSError, UnicodeError, ValueError):
        answers = []
    if not answers:
        raise UrlPolicyError(
            "dns", f"The host {host} could not be found (DNS lookup failed); check the spelling of the host name."
        )
    return tuple(dict.fromkeys(answers))
