"""The IP whitelist check, shared by the REST API and the internal webhook endpoints."""

import ipaddress

from .models import Account, IpWhitelistEntry


def is_address_allowed(account: Account, address: str) -> bool:
    """True when the account has no entries, or the address falls inside one of them."""
    networks = [entry.network for entry in IpWhitelistEntry.objects.for_account(account)]
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)
