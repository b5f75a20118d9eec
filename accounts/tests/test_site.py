import pytest
from django.test import Client

from accounts.middleware import SESSION_KEY
from accounts.models import ApiToken, IpWhitelistEntry, Membership, Role, hash_token_key
from accounts.tests.factories import make_token, make_whitelist_entry


def test_login_with_the_form_leads_home(alice, client):
    response = client.post("/login/", {"username": "alice", "password": "correct horse battery"}, follow=True)
    assert response.status_code == 200
    assert response.request["PATH_INFO"] == "/"
    assert b"Acme" in response.content


def test_pages_need_a_login(client, db):
    for url in ["/", "/settings/ip-whitelist/", "/settings/api-tokens/"]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_logout_ends_the_session(alice_client):
    alice_client.post("/logout/")
    assert alice_client.get("/settings/api-tokens/").status_code == 302


def test_a_user_without_an_account_sees_a_note_not_an_error(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("lonely"))
    response = client.get("/")
    assert response.status_code == 200
    assert b"not a member of any account" in response.content


class TestIpWhitelistPage:
    def test_it_lists_only_the_current_accounts_entries(self, alice_client, acme, globex):
        make_whitelist_entry(acme, cidr="203.0.113.0/24", label="office")
        make_whitelist_entry(globex, cidr="192.0.2.0/24", label="elsewhere")
        page = alice_client.get("/settings/ip-whitelist/").content.decode()
        assert "203.0.113.0/24" in page
        assert "192.0.2.0/24" not in page

    def test_it_adds_an_entry(self, alice_client, acme):
        response = alice_client.post("/settings/ip-whitelist/", {"cidr": "2001:DB8::/32", "label": "v6"}, follow=True)
        assert IpWhitelistEntry.objects.get(account=acme).cidr == "2001:db8::/32"
        assert b"Added 2001:db8::/32" in response.content

    def test_a_bad_entry_shows_the_error_and_keeps_what_was_typed(self, alice_client):
        response = alice_client.post("/settings/ip-whitelist/", {"cidr": "10.0.0.0/33", "label": "lab"})
        page = response.content.decode()
        assert response.status_code == 400
        assert "invalid prefix length /33" in page
        assert 'value="10.0.0.0/33"' in page
        assert 'value="lab"' in page
        assert not IpWhitelistEntry.objects.exists()

    def test_delete_asks_first_then_deletes(self, alice_client, acme):
        entry = make_whitelist_entry(acme, cidr="203.0.113.7")
        url = f"/settings/ip-whitelist/{entry.pk}/delete/"
        assert b"Delete 203.0.113.7?" in alice_client.get(url).content
        assert IpWhitelistEntry.objects.filter(pk=entry.pk).exists()
        alice_client.post(url)
        assert not IpWhitelistEntry.objects.filter(pk=entry.pk).exists()

    def test_a_viewer_sees_the_list_but_cannot_change_it(self, bob_client, acme):
        entry = make_whitelist_entry(acme, cidr="203.0.113.7")
        page = bob_client.get("/settings/ip-whitelist/")
        assert page.status_code == 200
        assert b"203.0.113.7" in page.content
        assert b"Delete" not in page.content
        assert bob_client.post("/settings/ip-whitelist/", {"cidr": "192.0.2.1"}).status_code == 403
        assert bob_client.get(f"/settings/ip-whitelist/{entry.pk}/delete/").status_code == 403
        assert bob_client.post(f"/settings/ip-whitelist/{entry.pk}/delete/").status_code == 403
        assert list(IpWhitelistEntry.objects.values_list("cidr", flat=True)) == ["203.0.113.7"]


class TestApiTokensPage:
    def test_a_new_key_is_shown_once_and_works(self, alice_client, acme):
        response = alice_client.post("/settings/api-tokens/", {"name": "CRM"}, follow=True)
        token = ApiToken.objects.get(account=acme, name="CRM")
        page = response.content.decode()
        key = page.split('id="new-key"')[0].rsplit('value="', 1)[1].split('"')[0]
        assert key.startswith(token.prefix)
        assert token.key_hash == hash_token_key(key)
        assert "shown <strong>only this once</strong>" in page
        assert key not in alice_client.get("/settings/api-tokens/").content.decode()
        assert Client().get("/api/v1/account/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 200

    def test_a_token_needs_a_name(self, alice_client):
        response = alice_client.post("/settings/api-tokens/", {"name": "  "})
        assert response.status_code == 400
        assert b"Give the token a name" in response.content
        assert not ApiToken.objects.exists()

    def test_the_list_shows_prefixes_not_keys(self, alice_client, acme):
        token = make_token(acme)
        page = alice_client.get("/settings/api-tokens/").content.decode()
        assert token.prefix in page
        assert token.key_hash not in page

    def test_revoke_asks_first_then_the_key_stops_working(self, alice_client, alice, acme):
        token, key = ApiToken.issue(user=alice, account=acme, name="old")
        url = f"/settings/api-tokens/{token.pk}/revoke/"
        assert b"Revoke" in alice_client.get(url).content
        alice_client.post(url)
        assert not ApiToken.objects.filter(pk=token.pk).exists()
        assert Client().get("/api/v1/account/", HTTP_AUTHORIZATION=f"Token {key}").status_code == 401

    def test_a_viewer_cannot_create_or_revoke(self, bob_client, acme):
        token = make_token(acme)
        assert bob_client.get("/settings/api-tokens/").status_code == 200
        assert bob_client.post("/settings/api-tokens/", {"name": "mine"}).status_code == 403
        assert bob_client.post(f"/settings/api-tokens/{token.pk}/revoke/").status_code == 403
        assert list(ApiToken.objects.all()) == [token]


class TestAccountSwitcher:
    @pytest.fixture
    def alice_in_two(self, alice, globex):
        Membership.objects.create(user=alice, account=globex, role=Role.VIEWER)
        return alice

    def test_the_switcher_appears_only_with_several_accounts(self, alice_client, alice, globex):
        assert b"account-switcher" not in alice_client.get("/").content
        Membership.objects.create(user=alice, account=globex, role=Role.VIEWER)
        page = alice_client.get("/").content.decode()
        assert 'id="account-switcher"' in page
        assert "Globex" in page

    def test_switching_changes_the_current_account_and_role(self, alice_in_two, alice_client, globex):
        response = alice_client.post("/switch-account/", {"account": globex.pk, "next": "/settings/ip-whitelist/"})
        assert response["Location"] == "/settings/ip-whitelist/"
        assert alice_client.session[SESSION_KEY] == globex.pk
        assert alice_client.post("/settings/ip-whitelist/", {"cidr": "192.0.2.1"}).status_code == 403  # viewer there

    def test_it_refuses_an_account_the_user_does_not_belong_to(self, alice_client, globex):
        assert alice_client.post("/switch-account/", {"account": globex.pk}).status_code == 404
        assert SESSION_KEY not in alice_client.session

    def test_it_refuses_get_and_foreign_next_urls(self, alice_in_two, alice_client, globex):
        assert alice_client.get("/switch-account/").status_code == 405
        response = alice_client.post("/switch-account/", {"account": globex.pk, "next": "https://evil.example/"})
        assert response["Location"] == "/"
        for odd in ("on", "-1", "//evil.example/x", "0000-00-00"):  # not a path here (a view's name, a host)
            response = alice_client.post("/switch-account/", {"account": globex.pk, "next": odd})
            assert (response.status_code, response["Location"]) == (302, "/"), odd

    def test_an_account_id_beyond_any_key_is_a_404(self, alice_client):
        assert alice_client.post("/switch-account/", {"account": "9" * 40}).status_code == 404
