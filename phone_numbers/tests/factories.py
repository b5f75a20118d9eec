"""One object per account for every route of the numbers app that takes a pk.

The foundation's route-walking test builds another account's object with these and expects 404.
"""

from collections.abc import Callable
from itertools import count

from django.db.models import Model

from accounts.models import Account
from phone_numbers.models import BlockedCaller, DirectDialNumber

_serial = count(1)


def make_direct_dial(account: Account, **fields) -> DirectDialNumber:
    values = {"number": f"+9110000{next(_serial):05d}", "label": "Line"} | fields
    return DirectDialNumber.objects.create(account=account, **values)


def make_blocked_caller(account: Account, **fields) -> BlockedCaller:
    values = {"number": f"+4420000{next(_serial):05d}", "reason": "Spam"} | fields
    return BlockedCaller.objects.create(account=account, **values)


CROSS_ACCOUNT_FACTORIES: dict[str, Callable[[Account], Model]] = {
    "phone_numbers:direct-dial-pause": make_direct_dial,
    "phone_numbers:direct-dial-delete": make_direct_dial,
    "phone_numbers:blocked-caller-delete": make_blocked_caller,
}
