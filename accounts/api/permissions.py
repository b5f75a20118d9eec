"""Who may use the API: a token holder, from a whitelisted address, writing only with a write role."""

from rest_framework import exceptions, permissions

from accounts.client_ip import get_client_ip
from accounts.models import Role
from accounts.whitelist import is_address_allowed


class AccountAccess(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        token = request.auth
        if token is None:
            raise exceptions.NotAuthenticated("Send 'Authorization: Token KEY'; create a key on the API tokens page.")
        address = get_client_ip(request)
        if not is_address_allowed(token.account, address):
            raise exceptions.PermissionDenied(
                f"Requests from {address} are not allowed for this account; add the address to its IP whitelist."
            )
        if request.method not in permissions.SAFE_METHODS and not token.membership.can_write:
            raise exceptions.PermissionDenied("Viewers cannot change anything; ask an owner for the developer role.")
        return True


class OwnerOnly(permissions.BasePermission):
    """Members and the audit log (SPEC §17): owners only, reads too. Put it after AccountAccess."""

    def has_permission(self, request, view) -> bool:
        if request.auth.membership.role != Role.OWNER:
            raise exceptions.PermissionDenied("Only the account's owners can use this endpoint.")
        return True
