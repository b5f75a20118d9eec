"""Login throttling (SPEC §17): 5 failed logins for one user name or one client address within
15 minutes lock that name or address out of the login forms for 15 minutes, right password or not.

Failures are recorded from Django's `user_login_failed` signal (so the site's and the admin's
login forms both count); `throttled()` wraps a login view and answers 429 while a lock holds.
The client address is read as the IP whitelist reads it (`accounts.client_ip`). Deleting a
LoginLock (the admin's Unlock) lets the name or address in again at once.
"""

import unicodedata
from datetime import datetime, timedelta
from functools import wraps

from django.contrib.auth.signals import user_login_failed
from django.db.models import Q
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone

from .client_ip import canonical_client_ip
from .models import LoginFailure, LoginLock

FAILURE_LIMIT = 5
WINDOW = timedelta(minutes=15)
LOCK_FOR = timedelta(minutes=15)


def _normalise_username(username: str) -> str:
    """Case, surrounding spaces and look-alike spellings do not make a new name to guess against.

    NFKC as Django's UsernameField applies it before logging in (a full-width "a", U+FF41, logs in as "a"),
    so the name checked before the form is the one counted after it."""
    return unicodedata.normalize("NFKC", username or "").strip().casefold()[:150]


def _keys(username: str, address: str) -> list[tuple[str, str, str]]:
    """(lock kind, LoginFailure field, value) for each of the two things counted."""
    keys = [(LoginLock.Kind.USERNAME, "username", _normalise_username(username))]
    keys.append((LoginLock.Kind.ADDRESS, "address", address))
    return [key for key in keys if key[2]]


def locked_until(username: str, address: str) -> datetime | None:
    """When the later of the two locks (name, address) ends, or None if neither holds."""
    keys = _keys(username, address)
    if not keys:
        return None
    match = Q()
    for kind, _, value in keys:
        match |= Q(kind=kind, value=value)
    locks = LoginLock.objects.filter(match, locked_until__gt=timezone.now())
    return max((lock.locked_until for lock in locks), default=None)


def record_failure(username: str, address: str) -> None:
    now = timezone.now()
    LoginFailure.objects.filter(time__lte=now - WINDOW).delete()  # only the window is ever read
    LoginLock.objects.filter(locked_until__lte=now).delete()
    LoginFailure.objects.create(username=_normalise_username(username), address=address, time=now)
    for kind, field, value in _keys(username, address):
        recent = LoginFailure.objects.filter(**{field: value}, time__gt=now - WINDOW).count()
        if recent >= FAILURE_LIMIT:
            LoginLock.objects.update_or_create(kind=kind, value=value, defaults={"locked_until": now + LOCK_FOR})


def unlock(lock: LoginLock) -> None:
    """Clear a lock and the failures behind it, so the next mistake does not lock again at once."""
    field = "username" if lock.kind == LoginLock.Kind.USERNAME else "address"
    LoginFailure.objects.filter(**{field: lock.value}).delete()
    lock.delete()


@receiver(user_login_failed, dispatch_uid="accounts.login_throttle")
def count_failed_login(sender, credentials: dict, request=None, **kwargs) -> None:
    address = canonical_client_ip(request) if request is not None else ""
    record_failure(credentials.get("username", ""), address)


def throttled(login_view):
    """The login view, answering a POST with 429 (and when to try again) while a lock holds."""

    @wraps(login_view)
    def view(request, *args, **kwargs):
        if request.method == "POST":
            until = locked_until(request.POST.get("username", ""), canonical_client_ip(request))
            if until is not None:
                seconds = max(1, int((until - timezone.now()).total_seconds()))
                context = {"until": until, "minutes": -(-seconds // 60)}
                response = render(request, "registration/login_locked.html", context, status=429)
                response["Retry-After"] = str(seconds)
                return response
        return login_view(request, *args, **kwargs)

    return view
