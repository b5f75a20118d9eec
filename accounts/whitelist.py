"""The IP whitelist check, shared by the REST API and the internal webhook endpoints."""

from .cidr import address_in_networks
from .models import Account, IpWhitelistEntry


def is_address_allowed(account: Account, address: str) -> bool:
    """True when the account has no entries, or the address falls inside one of them."""
    networks = [entry.network for entry in IpWhitelistEntry.objects.for_account(account)]
    return not networks or address_in_networks(address, networks)
