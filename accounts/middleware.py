"""The site's current account: chosen in the account switcher, kept in the session."""

from django.http import HttpRequest

from .models import Membership

SESSION_KEY = "current_account_id"


def user_memberships(user) -> list[Membership]:
    return list(Membership.objects.filter(user=user).select_related("account").order_by("account__name", "account_id"))


def pick_membership(request: HttpRequest, memberships: list[Membership] | None = None) -> Membership | None:
    """The membership of the account chosen in the session, else the user's first one."""
    if memberships is None:
        memberships = user_memberships(request.user)
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if membership.account_id == chosen:
            return membership
    return memberships[0] if memberships else None


class CurrentAccountMiddleware:
    """Sets request.membership, request.account and request.memberships for signed-in users."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.membership = None
        request.account = None
        request.memberships = []
        if request.user.is_authenticated:
            request.memberships = user_memberships(request.user)
            request.membership = pick_membership(request, request.memberships)
            if request.membership is not None:
                request.account = request.membership.account
        return self.get_response(request)


def current_account(request: HttpRequest) -> dict:
    """Template context: the current account and membership, for the layout and the switcher."""
    return {
        "current_account": getattr(request, "account", None),
        "current_membership": getattr(request, "membership", None),
        "account_memberships": getattr(request, "memberships", []),
    }
