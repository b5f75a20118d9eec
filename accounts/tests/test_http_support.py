import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied

from accounts.http_support import set_http_support
from accounts.models import HttpSupportChange


def test_only_staff_may_toggle_http_support(acme, alice):
    with pytest.raises(PermissionDenied):
        set_http_support(acme, True, by=alice)
    acme.refresh_from_db()
    assert acme.http_support_enabled is False


def test_each_change_is_logged_with_who_and_old_and_new(acme):
    staff = get_user_model().objects.create_user("support", is_staff=True)
    set_http_support(acme, True, by=staff)
    set_http_support(acme, True, by=staff)
    set_http_support(acme, False, by=staff)
    rows = list(HttpSupportChange.objects.for_account(acme).order_by("pk").values_list("old_value", "new_value"))
    assert rows == [(False, True), (True, False)]
