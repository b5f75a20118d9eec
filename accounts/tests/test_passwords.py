"""Password change and reset by email: Django's views with the site's pages, validators on."""

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

NEW = "a fresh long passphrase"


def test_a_member_changes_their_password_and_stays_signed_in(alice_client, alice):
    page = alice_client.get(reverse("password_change"))
    assert page.status_code == 200 and b"Change your password" in page.content and b'class="topbar"' in page.content
    response = alice_client.post(
        reverse("password_change"),
        {"old_password": "correct horse battery", "new_password1": NEW, "new_password2": NEW},
    )
    assert response["Location"] == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert alice_client.get("/").status_code == 200  # the session survived the change


def test_a_weak_new_password_is_refused_by_the_validators(alice_client, alice):
    response = alice_client.post(
        reverse("password_change"),
        {"old_password": "correct horse battery", "new_password1": "alice123", "new_password2": "alice123"},
    )
    assert response.status_code == 200
    assert b"too similar to the username" in response.content or b"too common" in response.content
    alice.refresh_from_db()
    assert alice.check_password("correct horse battery")


def test_a_forgotten_password_is_reset_by_email(alice, client):
    alice.email = "alice@acme.test"
    alice.save()
    assert b"Forgot your password?" in client.get(reverse("login")).content
    response = client.post(reverse("password_reset"), {"email": "alice@acme.test"})
    assert response["Location"] == reverse("password_reset_done")
    message = mail.outbox[0]
    assert message.to == ["alice@acme.test"] and message.subject == "Reset your Phonon password"
    link = re.search(r"http://testserver(/password/reset/\S+/)", message.body).group(1)

    form_url = client.get(link)["Location"]  # Django swaps the token for a session-held one
    page = client.get(form_url)
    assert b"Choose a new password" in page.content
    done = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert done["Location"] == reverse("password_reset_complete")
    assert Client().login(username="alice", password=NEW)
    assert b"does not work" in Client().get(link, follow=True).content  # the link worked once


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, db):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response["Location"] == reverse("password_reset_done")
    assert not mail.outbox
