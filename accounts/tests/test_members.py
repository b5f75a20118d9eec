"""Members and invitations (SPEC §17): invite, accept, change roles, remove; owners only."""

import re
import socket
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken, AuditEntry, Membership, Role
from conftest import api_client, make_member

MEMBERS = "/api/v1/members/"
NEW_PASSWORD = "a fresh long passphrase"


def link_in(message) -> str:
    return re.search(r"http://testserver(/invitations/\S+/)", message.body).group(1)


def invite_on_site(client, email="dora@example.com", role=Role.DEVELOPER) -> str:
    response = client.post(reverse("accounts:members"), {"email": email, "role": role})
    assert response.status_code == 302, response.content.decode()
    return link_in(mail.outbox[-1])


@pytest.fixture
def visitor():
    """A second browser, not signed in (the `client` fixture is alice_client's)."""
    return Client()


@pytest.fixture
def dave(acme):
    return make_member("dave", acme, Role.DEVELOPER)


class TestInvitationLifecycle:
    def test_an_owner_invites_and_the_link_creates_a_login_that_joins_the_account(self, alice_client, acme, client):
        link = invite_on_site(alice_client)
        message = mail.outbox[0]
        assert message.to == ["dora@example.com"]
        assert "Acme" in message.subject and "7 days" in message.body and "developer" in message.body
        pending = Membership.objects.get(account=acme, email="dora@example.com")
        assert pending.status == "pending" and pending.user is None
        assert pending.invite_expires_at - timezone.now() > timedelta(days=6, hours=23)

        alice_client.logout()
        page = client.get(link)
        assert page.status_code == 200 and b"Create your login" in page.content
        response = client.post(link, {"username": "dora", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/"
        dora = get_user_model().objects.get(username="dora")
        assert dora.email == "dora@example.com" and dora.check_password(NEW_PASSWORD)
        pending.refresh_from_db()
        assert (pending.user, pending.status, pending.role) == (dora, "active", Role.DEVELOPER)
        assert b"Acme" in client.get("/").content  # signed in, in the new account

    def test_the_link_works_once(self, alice_client, visitor):
        link = invite_on_site(alice_client)
        visitor.post(link, {"username": "dora", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
        visitor.logout()
        again = visitor.get(link)
        assert again.status_code == 410
        assert b"already used" in again.content and b"Log in" in again.content

    def test_an_expired_link_says_so_and_offers_to_ask_for_a_new_one(self, alice_client, acme, visitor, alice):
        alice.email = "alice@acme.test"
        alice.save()
        link = invite_on_site(alice_client)
        Membership.objects.filter(email="dora@example.com").update(invite_expires_at=timezone.now())
        page = visitor.get(link)
        assert page.status_code == 410 and b"has expired" in page.content
        assert (
            visitor.post(link, {"username": "dora", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code
            == 410
        )
        assert not get_user_model().objects.filter(username="dora").exists()

        asked = visitor.post(link + "renew/")
        assert asked.status_code == 200 and b"We asked for a new invitation" in asked.content
        assert mail.outbox[-1].to == ["alice@acme.test"] and "dora@example.com" in mail.outbox[-1].subject

    def test_inviting_a_pending_address_again_sends_a_new_link_and_the_old_one_stops(self, alice_client, visitor):
        first = invite_on_site(alice_client)
        second = invite_on_site(alice_client, email="Dora@Example.com", role=Role.VIEWER)
        assert first != second
        assert Membership.objects.filter(user__isnull=True).count() == 1
        assert visitor.get(first).status_code == 404
        assert Membership.objects.get(user__isnull=True).role == Role.VIEWER
        assert b"viewer" in visitor.get(second).content

    def test_an_existing_user_logs_in_and_joins(self, alice_client, visitor, charlie, globex, acme):
        charlie.email = "charlie@globex.test"
        charlie.save()
        link = invite_on_site(alice_client, email="charlie@globex.test")
        login_url = f"/login/?next={link}"
        page = visitor.get(link).content.decode()
        assert login_url in page and "A login with the address charlie@globex.test exists already" in page
        logged_in = visitor.post(login_url, {"username": "charlie", "password": "correct horse battery", "next": link})
        assert logged_in["Location"] == link
        assert b"Join as charlie" in visitor.get(link).content
        assert visitor.post(link).status_code == 302
        assert Membership.objects.get(user=charlie, account=acme).role == Role.DEVELOPER
        assert b"Acme" in visitor.get("/").content

    def test_a_member_trying_the_link_leaves_it_open_for_the_invitee(self, alice_client, visitor):
        link = invite_on_site(alice_client)
        assert b"already a member of Acme" in alice_client.get(link).content
        response = alice_client.post(link, follow=True)
        assert b"the invitation stays open for dora@example.com" in response.content
        assert visitor.get(link).status_code == 200
        assert Membership.objects.get(email="dora@example.com").is_pending

    def test_the_new_password_must_pass_the_validators(self, alice_client, visitor):
        link = invite_on_site(alice_client)
        response = visitor.post(link, {"username": "dora", "password1": "12345678", "password2": "12345678"})
        assert response.status_code == 400
        assert b"too common" in response.content or b"entirely numeric" in response.content
        assert not get_user_model().objects.filter(username="dora").exists()

    def test_an_unknown_or_revoked_link_is_a_page_not_an_error(self, alice_client, visitor):
        link = invite_on_site(alice_client)
        pending = Membership.objects.get(user__isnull=True)
        alice_client.post(reverse("accounts:member-remove", args=[pending.pk]))
        for url in (link, "/invitations/not-a-key/"):
            response = visitor.get(url)
            assert response.status_code == 404 and b"does not work" in response.content


class TestInviteRules:
    def test_an_address_that_is_already_a_member_is_refused(self, alice_api, bob, alice_client):
        bob.email = "bob@acme.test"
        bob.save()
        response = alice_api.post(MEMBERS, {"email": "BOB@acme.test", "role": "viewer"}, format="json")
        assert response.status_code == 400
        assert "already a member" in response.json()["email"][0]
        page = alice_client.post(reverse("accounts:members"), {"email": "bob@acme.test", "role": "viewer"})
        assert page.status_code == 400 and b"already a member" in page.content
        assert not mail.outbox

    @pytest.mark.parametrize(
        "body, field",
        [({"email": "not an address", "role": "viewer"}, "email"), ({"email": "x@y.test", "role": "boss"}, "role")],
    )
    def test_bad_input_names_the_field(self, alice_api, body, field):
        response = alice_api.post(MEMBERS, body, format="json")
        assert response.status_code == 400 and field in response.json()

    def test_viewers_and_developers_get_403_on_the_site_and_the_api(self, bob_api, bob_client, dave, acme, client):
        assert bob_api.post(MEMBERS, {"email": "x@y.test", "role": "owner"}, format="json").status_code == 403
        assert bob_api.get(MEMBERS).status_code == 403
        assert api_client(dave, acme).get(MEMBERS).status_code == 403
        assert bob_client.get(reverse("accounts:members")).status_code == 403
        assert bob_client.post(reverse("accounts:members"), {"email": "x@y.test", "role": "owner"}).status_code == 403
        client.force_login(dave)
        assert client.get(reverse("accounts:members")).status_code == 403
        assert client.get(reverse("accounts:audit-log")).status_code == 403
        assert not Membership.objects.filter(email="x@y.test").exists()


class TestMembersApi:
    def test_it_lists_members_and_pending_invitations(self, alice_api, alice, bob):
        alice.email = "alice@acme.test"
        alice.save()
        created = alice_api.post(MEMBERS, {"email": "dora@example.com", "role": "developer"}, format="json")
        assert created.status_code == 201
        assert created.json() | {"id": 0} == {
            "id": 0,
            "username": None,
            "email": "dora@example.com",
            "role": "developer",
            "status": "pending",
        }
        assert "/invitations/" in mail.outbox[0].body
        rows = alice_api.get(MEMBERS).json()["results"]
        assert [(r["username"], r["email"], r["role"], r["status"]) for r in rows] == [
            ("alice", "alice@acme.test", "owner", "active"),
            ("bob", "", "viewer", "active"),
            (None, "dora@example.com", "developer", "pending"),
        ]

    def test_an_owner_changes_a_role(self, alice_api, bob, acme):
        membership = Membership.objects.get(user=bob)
        response = alice_api.patch(f"{MEMBERS}{membership.pk}/", {"role": "developer"}, format="json")
        assert response.status_code == 200 and response.json()["role"] == "developer"
        assert Membership.objects.get(user=bob).role == Role.DEVELOPER

    def test_an_unknown_field_is_refused_by_name_and_nothing_changes(self, alice_api, bob):
        invite = alice_api.post(MEMBERS, {"email": "dora@example.com", "role": "viewer", "extra": 1}, format="json")
        membership = Membership.objects.get(user=bob)
        patch = alice_api.patch(f"{MEMBERS}{membership.pk}/", {"role": "owner", "rol": "owner"}, format="json")

        assert (invite.status_code, invite.json()) == (400, {"extra": ["Unknown field. Send only: email, role."]})
        assert (patch.status_code, patch.json()) == (400, {"rol": ["Unknown field. Send only: role."]})
        assert not Membership.objects.filter(email="dora@example.com").exists() and not mail.outbox
        assert Membership.objects.get(user=bob).role == Role.VIEWER

    def test_removing_a_member_revokes_their_tokens_for_that_account(self, alice_api, bob, acme, globex, bob_api):
        Membership.objects.create(user=bob, account=globex, role=Role.VIEWER)
        ApiToken.issue(user=bob, account=globex)
        assert bob_api.get("/api/v1/account/").status_code == 200
        membership = Membership.objects.get(user=bob, account=acme)
        assert alice_api.delete(f"{MEMBERS}{membership.pk}/").status_code == 204
        assert not Membership.objects.filter(user=bob, account=acme).exists()
        assert not ApiToken.objects.filter(user=bob, account=acme).exists()
        assert ApiToken.objects.filter(user=bob, account=globex).count() == 1  # other accounts keep theirs
        assert bob_api.get("/api/v1/account/").status_code == 401

    def test_deleting_a_pending_invitation_revokes_it(self, alice_api, visitor):
        created = alice_api.post(MEMBERS, {"email": "dora@example.com", "role": "viewer"}, format="json").json()
        link = link_in(mail.outbox[0])
        assert alice_api.delete(f"{MEMBERS}{created['id']}/").status_code == 204
        assert visitor.get(link).status_code == 404


class TestLastOwner:
    def test_the_last_owner_can_be_neither_demoted_nor_removed(self, alice_api, alice, acme, alice_client):
        membership = Membership.objects.get(user=alice)
        demote = alice_api.patch(f"{MEMBERS}{membership.pk}/", {"role": "viewer"}, format="json")
        assert demote.status_code == 400 and "at least one owner" in demote.json()["role"][0]
        remove = alice_api.delete(f"{MEMBERS}{membership.pk}/")
        assert remove.status_code == 400 and "at least one owner" in remove.json()["detail"]
        page = alice_client.post(reverse("accounts:member-role", args=[membership.pk]), {"role": "viewer"}, follow=True)
        assert b"at least one owner" in page.content
        alice_client.post(reverse("accounts:member-remove", args=[membership.pk]))
        assert Membership.objects.get(user=alice).role == Role.OWNER

    def test_a_pending_owner_invitation_does_not_count(self, alice_api, alice):
        alice_api.post(MEMBERS, {"email": "next@acme.test", "role": "owner"}, format="json")
        membership = Membership.objects.get(user=alice)
        assert alice_api.patch(f"{MEMBERS}{membership.pk}/", {"role": "viewer"}, format="json").status_code == 400

    def test_with_a_second_owner_one_may_step_down(self, alice_api, alice, bob, alice_client):
        Membership.objects.filter(user=bob).update(role=Role.OWNER)
        membership = Membership.objects.get(user=alice)
        response = alice_client.post(reverse("accounts:member-remove", args=[membership.pk]))
        assert response.status_code == 302 and response["Location"] == "/"
        assert not Membership.objects.filter(user=alice).exists()


class TestMembersPage:
    def test_it_lists_members_and_pending_invitations_with_their_actions(self, alice_client, bob):
        invite_on_site(alice_client)
        page = alice_client.get(reverse("accounts:members")).content.decode()
        assert "bob" in page and "dora@example.com" in page and "pending" in page
        assert "Revoke" in page and "Remove" in page

    def test_the_settings_menu_shows_members_and_audit_log_to_owners_only(self, alice, bob, visitor):
        visitor.force_login(alice)
        owner_page = visitor.get("/").content.decode()
        assert "/settings/members/" in owner_page and "/settings/audit-log/" in owner_page
        visitor.force_login(bob)
        viewer_page = visitor.get("/").content.decode()
        assert "/settings/members/" not in viewer_page and "/settings/audit-log/" not in viewer_page

    def test_an_unknown_role_is_refused_with_a_message(self, alice_client, bob):
        membership = Membership.objects.get(user=bob)
        page = alice_client.post(reverse("accounts:member-role", args=[membership.pk]), {"role": "boss"}, follow=True)
        assert b"Role:" in page.content
        assert Membership.objects.get(user=bob).role == Role.VIEWER


def break_mail(settings) -> None:
    """SMTP to a local port nothing listens on: a real refused connection."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2


class TestMailServerDown:
    def test_an_invitation_that_cannot_be_mailed_is_not_saved(self, alice_api, alice_client, settings):
        break_mail(settings)
        response = alice_api.post(MEMBERS, {"email": "dora@example.com", "role": "viewer"}, format="json")
        assert response.status_code == 503 and "could not be sent" in response.json()["detail"]
        page = alice_client.post(reverse("accounts:members"), {"email": "dora@example.com", "role": "viewer"})
        assert page.status_code == 503 and b"could not be sent" in page.content
        assert not Membership.objects.filter(email="dora@example.com").exists()
        assert not AuditEntry.objects.exists()

    def test_asking_for_a_new_invitation_says_when_the_mail_failed(self, alice_client, alice, visitor, settings):
        alice.email = "alice@acme.test"
        alice.save()
        link = invite_on_site(alice_client)
        Membership.objects.filter(email="dora@example.com").update(invite_expires_at=timezone.now())
        break_mail(settings)
        response = visitor.post(link + "renew/", follow=True)
        assert response.status_code == 410 and b"could not be sent" in response.content
