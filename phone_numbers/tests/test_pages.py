"""Advanced → Direct Dial and Advanced → Caller blocklist, as a signed-in user."""

import pytest
from django.urls import reverse

from phone_numbers.models import BlockedCaller, DirectDialNumber
from phone_numbers.tests.factories import CROSS_ACCOUNT_FACTORIES, make_direct_dial


def test_the_pages_keep_their_paths_under_webhooks():
    assert reverse("phone_numbers:direct-dial-list") == "/webhooks/direct-dial/"
    assert reverse("phone_numbers:blocklist") == "/webhooks/blocklist/"


@pytest.mark.parametrize("route", sorted(CROSS_ACCOUNT_FACTORIES))
def test_another_accounts_numbers_are_404(alice_client, globex, route):
    theirs = CROSS_ACCOUNT_FACTORIES[route](globex)
    url = reverse(route, args=[theirs.pk])
    assert alice_client.get(url).status_code == 404
    assert alice_client.post(url, {"action": "pause"}).status_code == 404
    assert type(theirs).objects.filter(pk=theirs.pk).exists()


def test_direct_dial_numbers_are_added_paused_and_unpaused(alice_client, acme):
    alice_client.post(reverse("phone_numbers:direct-dial-list"), {"number": "+91 12345 67890", "label": "Sales"})
    number = DirectDialNumber.objects.get(account=acme)
    assert number.number == "+911234567890"
    alice_client.post(reverse("phone_numbers:direct-dial-pause", args=[number.pk]), {"action": "pause"})
    number.refresh_from_db()
    assert number.is_paused
    page = alice_client.get(reverse("phone_numbers:direct-dial-list")).content.decode()
    assert "Paused" in page and "Unpause" in page
    alice_client.post(reverse("phone_numbers:direct-dial-pause", args=[number.pk]), {"action": "unpause"})
    number.refresh_from_db()
    assert not number.is_paused


def test_a_duplicate_direct_dial_is_refused(alice_client, acme):
    make_direct_dial(acme, number="+911234")
    response = alice_client.post(reverse("phone_numbers:direct-dial-list"), {"number": "911234"})
    assert response.status_code == 400
    assert "already a Direct Dial number" in response.content.decode()


def test_callers_are_blocked_and_unblocked(alice_client, acme):
    alice_client.post(reverse("phone_numbers:blocklist"), {"number": "+44 20 7946 0000", "reason": "Spam"})
    caller = BlockedCaller.objects.get(account=acme)
    assert caller.number == "+442079460000"
    alice_client.post(reverse("phone_numbers:blocked-caller-delete", args=[caller.pk]))
    assert not BlockedCaller.objects.exists()


def test_viewers_cannot_pause_numbers(bob_client, acme):
    number = make_direct_dial(acme)
    assert (
        bob_client.post(reverse("phone_numbers:direct-dial-pause", args=[number.pk]), {"action": "pause"}).status_code
        == 403
    )
    number.refresh_from_db()
    assert not number.is_paused
