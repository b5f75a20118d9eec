"""The audit log (SPEC §17): every audited action writes one row, and no secret ever enters it."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.http_support import set_http_support
from accounts.models import ApiToken, AuditEntry, Membership
from accounts.tests.factories import make_token, make_whitelist_entry
from flows.tests.factories import end, make_flow, webhook
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook
from webhooks.tests.factories import make_webhook

AUDIT = "/api/v1/audit-log/"
SECRET = "s3cret-pw-never-logged"


def only_row(account) -> AuditEntry:
    rows = list(AuditEntry.objects.for_account(account))
    assert len(rows) == 1, [str(row) for row in rows]
    return rows[0]


def as_text(row: AuditEntry) -> str:
    return json.dumps({field.name: str(getattr(row, field.name)) for field in row._meta.concrete_fields})


def token_prefix(client) -> str:
    key = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    return key[:12]


class TestWebhooks:
    def test_creating_one_over_the_api_is_logged_with_the_token_and_address(
        self, alice_api, acme_with_http, server, loopback_network_allowed
    ):
        server.reply("/hook", Reply(status=200))
        body = {"name": "Orders", "url": server.url("/hook"), "auth_type": "basic", "username": "u", "password": SECRET}
        response = alice_api.post("/api/v1/webhooks/", body, format="json", REMOTE_ADDR="198.51.100.9")
        assert response.status_code == 201, response.json()
        row = only_row(acme_with_http)
        assert (row.action, row.object_type, row.object_id, row.object_repr) == (
            "created",
            "webhook",
            str(response.json()["id"]),
            "Orders",
        )
        assert row.actor == f"token:{token_prefix(alice_api)}" and row.address == "198.51.100.9"
        assert SECRET not in as_text(row) and response.json()["signing_secret"] not in as_text(row)

    def test_a_change_names_the_changed_fields_not_their_values(self, alice_api, acme):
        hook = make_webhook(acme)
        response = alice_api.patch(
            f"/api/v1/webhooks/{hook.pk}/",
            {"auth_type": "basic", "username": "ops", "password": SECRET},
            format="json",
        )
        assert response.status_code == 200, response.json()
        row = only_row(acme)
        assert (row.action, row.changed_fields) == ("changed", ["auth_type", "password", "username"])
        assert SECRET not in as_text(row) and "ops" not in row.changed_fields

    def test_an_update_that_changes_nothing_writes_nothing(self, alice_api, acme):
        hook = make_webhook(acme)
        assert alice_api.patch(f"/api/v1/webhooks/{hook.pk}/", {"name": hook.name}, format="json").status_code == 200
        assert not AuditEntry.objects.exists()

    def test_rotating_the_secret_and_deleting_are_logged(self, alice_api, alice_client, acme):
        hook = make_webhook(acme)
        rotated = alice_api.post(f"/api/v1/webhooks/{hook.pk}/rotate-secret/")
        row = only_row(acme)
        assert (row.action, row.changed_fields) == ("rotated", ["signing_secret"])
        assert rotated.json()["signing_secret"] not in as_text(row)
        AuditEntry.objects.all().delete()
        alice_client.post(reverse("webhooks:delete", args=[hook.pk]))
        row = only_row(acme)
        assert (row.action, row.object_type, row.object_repr, row.actor) == ("deleted", "webhook", hook.name, "alice")

    def test_the_site_form_and_the_default_button_are_logged(self, alice_client, acme):
        hook = make_webhook(acme)
        form = {"name": "Renamed", "url": hook.url, "method": "POST", "auth_type": "none", "body_type": "none"}
        response = alice_client.post(reverse("webhooks:edit", args=[hook.pk]), form)
        assert response.status_code == 302, response.content.decode()
        assert only_row(acme).changed_fields == ["name"]
        AuditEntry.objects.all().delete()
        alice_client.post(reverse("webhooks:set-default", args=[hook.pk]))
        assert (only_row(acme).action, only_row(acme).changed_fields) == ("changed", ["is_default"])

    def test_moving_the_default_logs_the_webhook_that_loses_it_too(self, alice_api, alice_client, acme):
        first, second, third = (make_webhook(acme, name=name) for name in ("First", "Second", "Third"))
        alice_client.post(reverse("webhooks:set-default", args=[first.pk]))
        AuditEntry.objects.all().delete()

        alice_client.post(reverse("webhooks:set-default", args=[second.pk]))  # the site's button
        alice_api.patch(f"/api/v1/webhooks/{third.pk}/", {"is_default": True}, format="json")  # the API

        rows = [(row.object_repr, row.changed_fields) for row in AuditEntry.objects.for_account(acme).order_by("pk")]
        assert rows == [
            ("First", ["is_default"]),
            ("Second", ["is_default"]),
            ("Second", ["is_default"]),
            ("Third", ["is_default"]),
        ]


class TestFlows:
    def test_api_create_change_and_delete_each_write_one_row(self, alice_api, acme):
        widget = webhook("w1", "https://api.example.com/o", auth={"type": "basic", "username": "u", "password": SECRET})
        body = {"name": "Greeting", "flow_end_webhook": False, "start": "w1", "widgets": [widget, end()]}
        created = alice_api.post("/api/v1/flows/", body, format="json")
        assert created.status_code == 201, created.json()
        flow_id = created.json()["id"]
        assert only_row(acme).action == "created"
        AuditEntry.objects.all().delete()
        alice_api.patch(f"/api/v1/flows/{flow_id}/", {"name": "Renamed"}, format="json")
        assert only_row(acme).changed_fields == ["name"]
        AuditEntry.objects.all().delete()
        alice_api.delete(f"/api/v1/flows/{flow_id}/")
        row = only_row(acme)
        assert (row.action, row.object_type, row.object_id, row.object_repr) == (
            "deleted",
            "flow",
            str(flow_id),
            "Renamed",
        )
        assert SECRET not in as_text(row)

    def test_saving_in_the_designer_is_logged(self, alice_client, acme):
        flow = make_flow(acme)
        body = {"name": "Designed", "flow_end_webhook": False, "start": flow.start, "widgets": flow.widgets}
        response = alice_client.post(reverse("flows:designer", args=[flow.pk]), body, content_type="application/json")
        assert response.status_code == 200, response.json()
        assert (only_row(acme).action, only_row(acme).changed_fields) == ("changed", ["name"])

    @pytest.mark.parametrize(
        ("route", "body", "actions"),
        [
            ("", {"name": "Again", "publish": True}, {"changed", "published"}),
            ("publish/", {}, {"published"}),
            ("restore/", {"revision": 1}, {"changed"}),
        ],
    )
    def test_publishing_and_restoring_over_the_api_are_logged_with_the_token_and_address(
        self, alice_api, acme, route, body, actions
    ):
        flow = make_flow(acme)
        alice_api.patch(f"/api/v1/flows/{flow.pk}/", {"name": "Renamed"}, format="json")  # a draft
        AuditEntry.objects.all().delete()
        url = f"/api/v1/flows/{flow.pk}/{route}"
        send = alice_api.patch if route == "" else alice_api.post

        assert send(url, body, format="json", REMOTE_ADDR="203.0.113.8").status_code in (200, 201)

        rows = list(AuditEntry.objects.for_account(acme))
        assert {row.action for row in rows} == actions
        assert {(row.actor, row.address) for row in rows} == {(f"token:{token_prefix(alice_api)}", "203.0.113.8")}


class TestAccountSettings:
    def test_tokens_created_and_revoked_on_the_site_never_log_the_key(self, alice_client, acme):
        alice_client.post(reverse("accounts:api-tokens"), {"name": "CRM"})
        key = alice_client.session.get("new_api_token_key")
        row = only_row(acme)
        assert (row.action, row.object_type) == ("created", "token") and key and key not in as_text(row)
        AuditEntry.objects.all().delete()
        token = ApiToken.objects.get(name="CRM")
        alice_client.post(reverse("accounts:api-token-revoke", args=[token.pk]))
        assert (only_row(acme).action, only_row(acme).object_id) == ("deleted", str(token.pk))

    def test_ip_whitelist_entries_added_and_removed_are_logged(self, alice_api, alice_client, acme):
        response = alice_api.post("/api/v1/ip-whitelist/", {"cidr": "127.0.0.0/8"}, format="json")
        assert (only_row(acme).action, only_row(acme).object_type) == ("created", "ip_whitelist")
        AuditEntry.objects.all().delete()
        alice_api.delete(f"/api/v1/ip-whitelist/{response.json()['id']}/")
        assert only_row(acme).action == "deleted"
        AuditEntry.objects.all().delete()
        alice_client.post(reverse("accounts:ip-whitelist"), {"cidr": "192.0.2.7", "label": ""})
        entry = make_whitelist_entry(acme)  # made directly: not logged
        alice_client.post(reverse("accounts:ip-whitelist-delete", args=[entry.pk]))
        assert list(AuditEntry.objects.values_list("action", flat=True)) == ["deleted", "created"]

    def test_http_support_changes_are_logged_beside_the_admin_history(self, acme, admin_user):
        change = set_http_support(acme, True, by=admin_user)
        row = only_row(acme)
        assert (row.actor, row.action, row.object_type, row.changed_fields) == (
            "admin",
            "changed",
            "http_support",
            ["http_support_enabled"],
        )
        assert row.object_repr == "HTTP support off → on" and change.new_value is True

    def test_member_changes_are_logged_with_who_did_them(self, alice_api, acme, bob):
        invited = alice_api.post("/api/v1/members/", {"email": "dora@example.com", "role": "viewer"}, format="json")
        key_url = mail.outbox[0].body.split("testserver", 1)[1].split()[0]
        row = only_row(acme)
        assert (row.action, row.object_type, row.object_repr) == ("created", "member", "dora@example.com")
        assert key_url.split("/")[2] not in as_text(row)
        membership = Membership.objects.get(user=bob)
        alice_api.patch(f"/api/v1/members/{membership.pk}/", {"role": "developer"}, format="json")
        alice_api.delete(f"/api/v1/members/{membership.pk}/")
        alice_api.delete(f"/api/v1/members/{invited.json()['id']}/")
        rows = list(AuditEntry.objects.values_list("action", "object_repr", "changed_fields"))
        assert rows[:3] == [("deleted", "dora@example.com", []), ("deleted", "bob", []), ("changed", "bob", ["role"])]

    def test_accepting_an_invitation_is_logged_as_the_new_member(self, alice_api, acme):
        alice_api.post("/api/v1/members/", {"email": "dora@example.com", "role": "viewer"}, format="json")
        link = mail.outbox[0].body.split("testserver", 1)[1].split()[0]
        password = "a fresh long passphrase"
        Client().post(link, {"username": "dora", "password1": password, "password2": password})
        row = AuditEntry.objects.for_account(acme).first()
        assert (row.actor, row.action, row.object_repr) == ("dora", "created", "dora")
        assert password not in as_text(row)


class TestReading:
    @pytest.fixture
    def entries(self, alice_api, alice_client, acme, globex):
        make_flow(globex)
        alice_client.post(reverse("accounts:api-tokens"), {"name": "CRM"})
        alice_api.post("/api/v1/ip-whitelist/", {"cidr": "127.0.0.0/8"}, format="json")  # the test client's
        AuditEntry.objects.filter(object_type="token").update(time=timezone.now() - timedelta(days=3))
        other = make_token(globex)
        AuditEntry.objects.create(
            account=globex, actor="charlie", action="deleted", object_type="token", object_id=other.pk, object_repr="x"
        )

    def test_the_api_lists_the_accounts_rows_newest_first(self, alice_api, entries, acme):
        rows = alice_api.get(AUDIT).json()["results"]
        assert [(r["action"], r["object_type"]) for r in rows] == [("created", "ip_whitelist"), ("created", "token")]
        assert set(rows[0]) == {
            "time",
            "actor",
            "action",
            "object_type",
            "object_id",
            "object_repr",
            "changed_fields",
            "address",
        }

    def test_it_filters_by_actor_object_type_and_date(self, alice_api, entries):
        prefix = f"token:{token_prefix(alice_api)}"
        assert [r["actor"] for r in alice_api.get(AUDIT, {"actor": prefix}).json()["results"]] == [prefix]
        assert [r["object_type"] for r in alice_api.get(AUDIT, {"object_type": "token"}).json()["results"]] == ["token"]
        today = timezone.now().date().isoformat()
        assert [r["object_type"] for r in alice_api.get(AUDIT, {"date": today}).json()["results"]] == ["ip_whitelist"]

    def test_bad_filters_are_a_400_naming_the_field(self, alice_api, entries):
        response = alice_api.get(AUDIT, {"date": "yesterday", "object_type": "bananas"})
        assert response.status_code == 400
        assert set(response.json()) == {"date", "object_type"}

    def test_only_owners_read_it(self, bob_api, bob_client):
        assert bob_api.get(AUDIT).status_code == 403
        assert bob_client.get(reverse("accounts:audit-log")).status_code == 403

    def test_the_page_shows_and_filters_the_rows(self, alice_client, entries):
        page = alice_client.get(reverse("accounts:audit-log")).content.decode()
        assert "127.0.0.0/8" in page and "CRM" in page
        filtered = alice_client.get(reverse("accounts:audit-log"), {"object_type": "token"}).content.decode()
        assert "CRM" in filtered and "127.0.0.0/8" not in filtered


def test_no_user_deleted_later_takes_the_rows_with_them(alice_client, acme):
    alice_client.post(reverse("accounts:api-tokens"), {"name": "CRM"})
    get_user_model().objects.filter(username="alice").delete()
    assert AuditEntry.objects.get().actor == "alice"


def test_webhooks_made_without_a_request_are_not_logged(acme):
    """Seeding and fixtures write rows directly; only requests (and staff commands) are audited."""
    Webhook.objects.create(account=acme, name="Direct", url="https://93.184.215.14/x")
    assert not AuditEntry.objects.exists()
