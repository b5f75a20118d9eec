"""The client address of a request, trusting X-Forwarded-For only as far as configured."""

from django.conf import settings
from django.http import HttpRequest

from accounts.cidr import client_address


def get_client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or with TRUSTED_PROXY_COUNT=N the address N hops back in X-Forwarded-For.

    Like DRF's NUM_PROXIES: each trusted proxy appends the address it saw, so the client is the
    N-th entry from the right; anything further left may be forged and is never read.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            return addresses[-min(proxies, len(addresses))]
    return remote


def canonical_client_ip(request: HttpRequest) -> str:
    """get_client_ip() in one spelling, for what is stored or counted (audit log, login throttle):
    IPv4-mapped IPv6 as IPv4, as the whitelist matches it; "" when it is not an address at all."""
    ip = client_address(get_client_ip(request))
    return "" if ip is None else str(ip)
