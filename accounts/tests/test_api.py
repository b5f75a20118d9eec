import pytest
from django.db import connection

from accounts.models import ApiToken, IpWhitelistEntry
from accounts.tests.factories import make_whitelist_entry


def test_account_endpoint_describes_the_tokens_account(alice_api):
    assert alice_api.get("/api/v1/account/").json() == {"slug": "acme", "name": "Acme", "http_support_enabled": False}


def test_requests_without_a_token_get_401_with_a_sentence(client, db):
    response = client.get("/api/v1/account/")
    assert response.status_code == 401
    assert "Authorization: Token KEY" in response.json()["detail"]


def test_a_revoked_token_stops_working(alice, acme, client):
    token, key = ApiToken.issue(user=alice, account=acme)
    token.delete()
    response = client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or revoked token."}


def test_the_token_is_stored_only_as_a_hash(alice, acme):
    token, key = ApiToken.issue(user=alice, account=acme)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    assert not any(isinstance(value, str) and key in value for value in row)
    assert not any(isinstance(value, str) and key[12:] in value for value in row)


def test_an_unknown_api_path_answers_json(alice_api):
    response = alice_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert "detail" in response.json()


class TestWhitelistCrud:
    def test_it_adds_lists_shows_and_deletes(self, alice_api):
        alice_api.post("/api/v1/ip-whitelist/", {"cidr": "127.0.0.1"}, format="json")  # the test client's address
        created = alice_api.post("/api/v1/ip-whitelist/", {"cidr": "203.0.113.0/24", "label": "office"}, format="json")
        assert created.status_code == 201
        entry = created.json()
        assert entry == {"id": entry["id"], "cidr": "203.0.113.0/24", "label": "office"}
        assert [e["cidr"] for e in alice_api.get("/api/v1/ip-whitelist/").json()["results"]] == [
            "127.0.0.1",
            "203.0.113.0/24",
        ]
        assert alice_api.get(f"/api/v1/ip-whitelist/{entry['id']}/").json()["label"] == "office"
        assert alice_api.delete(f"/api/v1/ip-whitelist/{entry['id']}/").status_code == 204
        assert not IpWhitelistEntry.objects.filter(pk=entry["id"]).exists()

    @pytest.mark.parametrize(
        ("typed", "stored"),
        [
            ("198.51.100.7", "198.51.100.7"),
            ("198.51.100.7/32", "198.51.100.7"),
            ("2001:DB8:0:0::/64", "2001:db8::/64"),
            ("2001:db8::1", "2001:db8::1"),
            ("::ffff:198.51.100.7", "198.51.100.7"),
            (" 10.0.0.0/8 ", "10.0.0.0/8"),
        ],
    )
    def test_it_normalises_addresses_and_networks(self, alice_api, typed, stored):
        response = alice_api.post("/api/v1/ip-whitelist/", {"cidr": typed}, format="json")
        assert response.status_code == 201
        assert response.json()["cidr"] == stored

    @pytest.mark.parametrize(
        ("typed", "hint"),
        [
            ("10.0.0.0/33", "use 0 to 32"),
            ("2001:db8::/129", "use 0 to 128"),
            ("garbage", "is not an IP address or network"),
            ("10.0.0.1/24", "use 10.0.0.0/24 for the whole network, or 10.0.0.1 for that one address"),
            ("", "This field may not be blank"),
        ],
    )
    def test_it_refuses_bad_entries_naming_the_field_and_the_fix(self, alice_api, typed, hint):
        response = alice_api.post("/api/v1/ip-whitelist/", {"cidr": typed}, format="json")
        assert response.status_code == 400
        assert list(response.json()) == ["cidr"]
        assert hint in response.json()["cidr"][0]
        assert not IpWhitelistEntry.objects.exists()

    def test_it_refuses_a_duplicate_in_any_spelling(self, alice_api, acme):
        make_whitelist_entry(acme, cidr="127.0.0.1")
        response = alice_api.post("/api/v1/ip-whitelist/", {"cidr": "127.0.0.1/32"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"cidr": ["127.0.0.1 is already on the whitelist."]}

    def test_the_same_network_may_be_on_two_accounts(self, alice_api, globex):
        make_whitelist_entry(globex, cidr="127.0.0.1")
        assert alice_api.post("/api/v1/ip-whitelist/", {"cidr": "127.0.0.1"}, format="json").status_code == 201

    def test_the_list_shows_only_the_tokens_account(self, alice_api, acme, globex):
        make_whitelist_entry(globex, cidr="192.0.2.1")
        assert alice_api.get("/api/v1/ip-whitelist/").json()["results"] == []

    def test_entries_cannot_be_edited(self, alice_api, acme):
        entry = make_whitelist_entry(acme, cidr="127.0.0.0/8")
        response = alice_api.put(f"/api/v1/ip-whitelist/{entry.pk}/", {"cidr": "0.0.0.0/0"}, format="json")
        assert response.status_code == 405


class TestViewers:
    def test_a_viewer_can_read(self, bob_api, acme):
        make_whitelist_entry(acme, cidr="127.0.0.1")
        assert bob_api.get("/api/v1/ip-whitelist/").status_code == 200
        assert bob_api.get("/api/v1/account/").status_code == 200

    def test_a_viewers_writes_are_403(self, bob_api, acme):
        entry = make_whitelist_entry(acme, cidr="127.0.0.1")
        created = bob_api.post("/api/v1/ip-whitelist/", {"cidr": "192.0.2.0/24"}, format="json")
        deleted = bob_api.delete(f"/api/v1/ip-whitelist/{entry.pk}/")
        assert (created.status_code, deleted.status_code) == (403, 403)
        assert "Viewers cannot change anything" in created.json()["detail"]
        assert IpWhitelistEntry.objects.count() == 1


def test_a_missing_or_foreign_id_reads_the_same(alice_api, globex):
    foreign = make_whitelist_entry(globex)
    missing = alice_api.get("/api/v1/ip-whitelist/999999/")
    other = alice_api.get(f"/api/v1/ip-whitelist/{foreign.pk}/")
    assert (missing.status_code, other.status_code) == (404, 404)
    assert missing.json() == other.json() == {"detail": "Not found: nothing with this id exists in your account."}


def test_an_unknown_format_is_a_404_saying_so_not_a_missing_id(alice_api):
    response = alice_api.get("/api/v1/account/", {"format": "xml"})
    assert response.status_code == 404
    assert response.json() == {"detail": "The format 'xml' is not supported here; use json."}


def test_using_a_token_records_when_it_was_last_used(alice, acme, client):
    token, key = ApiToken.issue(user=alice, account=acme)
    assert token.last_used_at is None
    client.get("/api/v1/account/", HTTP_AUTHORIZATION=f"Token {key}")
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("page", ["", "0", "last", "abc"])
def test_a_page_that_is_not_a_number_from_1_is_a_404(alice_api, page):
    response = alice_api.get(f"/api/v1/ip-whitelist/?page={page}")

    assert response.status_code == 404
    assert "pages are numbered from 1" in response.json()["detail"]


def test_options_describes_an_action_without_a_serializer(alice_api, alice, acme):
    response = alice_api.options("/api/v1/deliveries/1/replay/")

    assert response.status_code == 200
    assert "actions" not in response.json()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"cidr": "198.51.100.7", "note": "office"}, {"note": ["Unknown field. Send only: cidr, label."]}),
        ({"cidr": 3325256711}, {"cidr": ["Give text (a JSON string)."]}),
    ],
)
def test_a_whitelist_entry_with_an_unknown_field_or_type_is_refused_not_half_saved(alice_api, acme, data, errors):
    response = alice_api.post("/api/v1/ip-whitelist/", data, format="json")

    assert (response.status_code, response.json()) == (400, errors)
    assert not IpWhitelistEntry.objects.exists()


def test_a_body_that_is_not_json_is_a_415(alice_api):
    response = alice_api.post("/api/v1/ip-whitelist/", {"cidr": "198.51.100.7"}, format="multipart")

    assert response.status_code == 415
