"""What an IP whitelist entry may be: parsing and the one canonical spelling (no Django here)."""

import ipaddress

from phonon.lib.numbers import whole_number

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

CIDR_HELP = "Enter an IPv4 or IPv6 address (203.0.113.7, 2001:db8::7) or a network in CIDR form (203.0.113.0/24)."


def normalise_cidr(text: str) -> str:
    """The canonical spelling of an address or network, or ValueError with how to fix it.

    A single address is stored without its prefix ("203.0.113.7"); IPv6 is compressed and
    lower-case; an IPv4-mapped IPv6 entry becomes the IPv4 one, since clients arriving as
    ::ffff:a.b.c.d are matched as a.b.c.d. Host bits under the mask (10.0.0.1/24) are refused
    rather than silently widened to the whole network: the user may have meant one address.
    """
    text = text.strip()
    if not text:
        raise ValueError(f"This field is empty. {CIDR_HELP}")
    if "%" in text:
        raise ValueError(f"{text!r} has an interface scope (%…); leave it out. {CIDR_HELP}")
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            address, _, prefix = text.partition("/")
            if prefix:
                max_prefix = 128 if ":" in address else 32
                length = whole_number(prefix)
                if length is None or length > max_prefix:
                    raise ValueError(
                        f"{text!r} has an invalid prefix length /{prefix}: use 0 to {max_prefix}. {CIDR_HELP}"
                    ) from error
            raise ValueError(f"{text!r} is not an IP address or network. {CIDR_HELP}") from error
        host = text.partition("/")[0]
        raise ValueError(
            f"{text!r} has host bits set: use {loose} for the whole network, or {host} for that one address."
        ) from error
    network = unmap_ipv4(network)
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def unmap_ipv4(network: Network) -> Network:
    """::ffff:10.0.0.0/104 → 10.0.0.0/8; other networks unchanged."""
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return ipaddress.IPv4Network(f"{mapped}/{network.prefixlen - 96}")
    return network


def client_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A client's address as the whitelist sees it (::ffff:a.b.c.d is a.b.c.d); None when `text` is none."""
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def address_in_networks(address: str, networks) -> bool:
    """True when `address` (a client's, see client_address) is in one of `networks`."""
    ip = client_address(address)
    return ip is not None and any(ip.version == net.version and ip in net for net in networks)
