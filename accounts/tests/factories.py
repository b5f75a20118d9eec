"""One object per account for every accounts route that takes a pk (see tests/test_cross_account.py)."""

from collections.abc import Callable
from itertools import count

from django.contrib.auth import get_user_model
from django.db.models import Model

from accounts.cidr import normalise_cidr
from accounts.models import Account, ApiToken, IpWhitelistEntry, Membership, Role

_serial = count(1)


def make_whitelist_entry(account: Account, **fields) -> IpWhitelistEntry:
    n = next(_serial)
    values = {"cidr": f"198.51.100.{n % 250}", "label": f"Entry {n}"} | fields
    values["cidr"] = normalise_cidr(values["cidr"])  # as every writer stores it
    return IpWhitelistEntry.objects.create(account=account, **values)


def make_member(account: Account, role: str = Role.OWNER):
    user = get_user_model().objects.create_user(username=f"member{next(_serial)}-{account.slug}")
    Membership.objects.create(user=user, account=account, role=role)
    return user


def make_token(account: Account) -> ApiToken:
    token, _ = ApiToken.issue(user=make_member(account), account=account, name="factory")
    return token


def make_membership(account: Account) -> Membership:
    return Membership.objects.get(user=make_member(account, Role.DEVELOPER), account=account)


CROSS_ACCOUNT_FACTORIES: dict[str, Callable[[Account], Model]] = {
    "ip-whitelist-detail": make_whitelist_entry,
    "accounts:ip-whitelist-delete": make_whitelist_entry,
    "accounts:api-token-revoke": make_token,
    "member-detail": make_membership,
    "accounts:member-role": make_membership,
    "accounts:member-remove": make_membership,
}
