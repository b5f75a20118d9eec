"""Delivery operations (SPEC §16): the log and its CSV, bulk replay, the disable clock with its
emails, re-enabling by a check, and signing-secret rotation with overlap."""

import csv
import io
import itertools
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook as StandardWebhook

from accounts.models import Membership, Role
from flows.deliveries import enqueue_flow_end_delivery, replay_deliveries, send_due_delivery
from flows.models import Delivery, DeliveryStatus
from flows.tests.factories import finished_execution
from phonon.lib.testing.http_server import Reply
from webhooks.models import Webhook

pytestmark = pytest.mark.django_db


def make_deliveries(account, statuses, *, cli="+911234", days_ago=0):
    webhook = Webhook.objects.for_account(account).get(is_default=True)
    made = []
    for status in statuses:
        execution = finished_execution(account)
        execution.call = {**execution.call, "cli": cli}
        execution.save()
        delivery = Delivery.objects.create(
            account=account, execution=execution, webhook=webhook, payload="{}", status=status
        )
        Delivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        made.append(delivery)
    return made


def send_all(worker_id="w-test"):
    sent = 0
    while send_due_delivery(worker_id):
        sent += 1
    return sent


def disable(webhook):
    """As the disable clock leaves a webhook after failing for six days."""
    Webhook.objects.filter(pk=webhook.pk).update(
        deliveries_disabled_at=timezone.now(), deliveries_failing_since=timezone.now() - timedelta(days=6)
    )


# --- The log -------------------------------------------------------------------------------------


def test_the_log_filters_by_status_cli_and_webhook_id(acme, alice_api, default_webhook):
    failed = make_deliveries(acme, ["failed", "failed"], cli="+4412345")
    make_deliveries(acme, ["delivered"], cli="+4499999")

    answer = alice_api.get("/api/v1/deliveries/", {"status": "failed"}).json()
    assert answer["count"] == 2
    assert {row["id"] for row in answer["results"]} == {delivery.pk for delivery in failed}

    assert alice_api.get("/api/v1/deliveries/", {"cli": "99999"}).json()["count"] == 1
    by_id = alice_api.get("/api/v1/deliveries/", {"webhook_id": failed[0].message_id}).json()
    assert [row["id"] for row in by_id["results"]] == [failed[0].pk]
    row = by_id["results"][0]
    assert row["webhook_id"] == failed[0].message_id
    assert row["execution"] == str(failed[0].execution_id)
    assert row["cli"] == "+4412345"
    assert row["webhook_name"] == "CRM"


def test_the_log_filters_by_date_range(acme, alice_api, default_webhook):
    make_deliveries(acme, ["failed"], days_ago=10)
    recent = make_deliveries(acme, ["failed"])
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    answer = alice_api.get("/api/v1/deliveries/", {"since": since}).json()
    assert [row["id"] for row in answer["results"]] == [recent[0].pk]


def test_the_csv_equals_the_json(acme, alice_api, default_webhook):
    make_deliveries(acme, ["failed", "delivered", "skipped"], cli="=cmd")
    records = alice_api.get("/api/v1/deliveries/").json()["results"]
    response = alice_api.get("/api/v1/deliveries/", {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == list(records[0].keys())
    expected = [["" if value is None else str(value) for value in record.values()] for record in records]
    for row in expected:
        row[rows[0].index("cli")] = "'=cmd"  # a formula is written as text
    assert rows[1:] == expected


def test_a_bad_filter_is_a_400_naming_it(alice_api, default_webhook):
    answer = alice_api.get("/api/v1/deliveries/", {"status": "lost", "since": "yesterday"})
    assert answer.status_code == 400
    assert set(answer.json()) == {"status", "since"}


def test_viewers_read_the_log_and_the_page(acme, bob, bob_api, client, default_webhook):
    make_deliveries(acme, ["failed"])
    assert bob_api.get("/api/v1/deliveries/").json()["count"] == 1
    client.force_login(bob)
    page = client.get(reverse("flows:delivery-list"))
    assert page.status_code == 200
    assert b"Replay 1 failed delivery" not in page.content  # viewers see no replay button


def test_no_account_sees_another_accounts_deliveries(acme, globex, charlie, alice_api, default_webhook):
    make_deliveries(acme, ["failed"])
    Webhook.objects.create(account=globex, name="Other", url="https://93.184.215.14/x", is_default=True)
    make_deliveries(globex, ["failed"])
    rows = alice_api.get("/api/v1/deliveries/").json()["results"]
    assert {row["webhook_name"] for row in rows} == {"CRM"}
    other = Delivery.objects.get(account=globex)
    assert alice_api.get("/api/v1/deliveries/", {"webhook_id": other.message_id}).json()["count"] == 0
    assert alice_api.post("/api/v1/deliveries/replay/", {"status": "failed"}, format="json").json() == {"queued": 1}
    assert Delivery.objects.get(pk=other.pk).status == DeliveryStatus.FAILED


def test_the_page_filters_and_offers_the_replay_of_the_filter(acme, alice, client, default_webhook):
    make_deliveries(acme, ["failed", "failed", "delivered"])
    client.force_login(alice)
    page = client.get(reverse("flows:delivery-list"), {"status": "failed"})
    assert page.status_code == 200
    assert page.content.count(b"<tr>") == 3  # the head and two rows
    assert b"Replay 2 failed deliveries" in page.content
    csv_page = client.get(reverse("flows:delivery-list"), {"status": "failed", "format": "csv"})
    assert len(b"".join(csv_page.streaming_content).decode().strip().splitlines()) == 3


# --- Bulk replay ---------------------------------------------------------------------------------


def test_bulk_replay_queues_the_window_at_the_replay_rate(acme, alice_api, default_webhook, settings):
    settings.DELIVERY_REPLAY_PER_SECOND = 4
    failed = make_deliveries(acme, ["failed"] * 5)
    make_deliveries(acme, ["delivered"])
    before = timezone.now()

    answer = alice_api.post("/api/v1/deliveries/replay/", {"status": "failed"}, format="json")

    assert answer.status_code == 202
    assert answer.json() == {"queued": 5}
    queued = list(Delivery.objects.filter(pk__in=[d.pk for d in failed]).order_by("next_attempt_at"))
    assert {d.status for d in queued} == {DeliveryStatus.PENDING}
    assert {d.message_id for d in queued} == {d.message_id for d in failed}  # each keeps its webhook-id
    gaps = [(b.next_attempt_at - a.next_attempt_at).total_seconds() for a, b in itertools.pairwise(queued)]
    assert gaps == [0.25] * 4
    assert queued[0].next_attempt_at >= before
    # A second replay queues behind the first instead of doubling the rate.
    more = make_deliveries(acme, ["skipped"])
    alice_api.post("/api/v1/deliveries/replay/", {"status": "skipped"}, format="json")
    assert Delivery.objects.get(pk=more[0].pk).next_attempt_at == queued[-1].next_attempt_at + timedelta(seconds=0.25)


def test_a_replayed_delivery_goes_out_with_its_webhook_id(acme, alice_api, receiver, default_webhook):
    [delivery] = make_deliveries(acme, ["failed"])
    receiver.reply("/hook", Reply(status=200))
    alice_api.post("/api/v1/deliveries/replay/", {}, format="json")
    assert send_all() == 1
    [request] = receiver.requests_to("/hook")
    assert request.headers["webhook-id"] == delivery.message_id
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"since": "2026-11-10T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "since must be before until"),
        ({"since": "2026-09-01T00:00:00Z", "until": "2026-11-01T00:00:00Z"}, "at most 31 days"),
        ({"status": "pending"}, "pending"),
    ],
)
def test_a_bad_replay_window_is_a_400_with_the_rule(alice_api, default_webhook, body, rule):
    answer = alice_api.post("/api/v1/deliveries/replay/", body, format="json")
    assert answer.status_code == 400
    assert rule in json.dumps(answer.json())


def test_a_replay_refuses_unknown_fields_and_wrong_types_by_name_and_queues_nothing(acme, alice_api, default_webhook):
    make_deliveries(acme, ["failed"])

    answer = alice_api.post("/api/v1/deliveries/replay/", {"status": "failed", "extra": 1, "flow": "1"}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {
        "extra": ["Unknown field. Send only: status, since, until, flow, webhook, cli, did, webhook_id."],
        "flow": ["Give a whole number."],
    }
    assert not Delivery.objects.filter(status=DeliveryStatus.PENDING).exists()


def test_a_replay_takes_every_filter_of_the_log(acme, alice_api, default_webhook):
    [delivery, _] = make_deliveries(acme, ["failed", "failed"])

    answer = alice_api.post("/api/v1/deliveries/replay/", {"webhook_id": delivery.message_id}, format="json")

    assert answer.json() == {"queued": 1}


def test_replaying_one_delivery_takes_no_fields(acme, alice_api, default_webhook):
    [delivery] = make_deliveries(acme, ["failed"])
    url = reverse("delivery-replay", kwargs={"pk": delivery.pk})

    answer = alice_api.post(url, {"force": True}, format="json")

    assert answer.status_code == 400
    assert answer.json() == {"force": ["Unknown field. This action takes no fields: send {} or no body."]}
    assert Delivery.objects.get(pk=delivery.pk).status == DeliveryStatus.FAILED
    assert alice_api.post(url).status_code == 202


def test_viewers_cannot_replay(bob_api, bob, client, default_webhook):
    assert bob_api.post("/api/v1/deliveries/replay/", {}, format="json").status_code == 403
    client.force_login(bob)
    assert client.post(reverse("flows:delivery-bulk-replay"), {}).status_code == 403


def test_the_pages_replay_button_queues_the_current_filter(acme, alice, client, default_webhook):
    failed = make_deliveries(acme, ["failed", "failed"], cli="+4411")
    make_deliveries(acme, ["failed"], cli="+3300")
    client.force_login(alice)
    response = client.post(reverse("flows:delivery-bulk-replay"), {"cli": "+4411"})
    assert response.status_code == 302
    assert "cli=%2B4411" in response["Location"]
    assert set(Delivery.objects.filter(status="pending").values_list("pk", flat=True)) == {d.pk for d in failed}


# --- Disable clock, emails, re-enable ----------------------------------------------------------


@pytest.fixture
def owner_email(acme, alice):
    alice.email = "alice@acme.example"
    alice.save()
    viewer = Membership.objects.filter(account=acme).exclude(role=Role.OWNER).first()
    assert viewer is None  # only the owner gets mail
    return alice.email


@pytest.fixture
def fail_once(receiver, acme, django_capture_on_commit_callbacks):
    """One failed delivery attempt, committed (the owners' mail goes after the commit)."""

    def fail() -> None:
        receiver.reply("/hook", Reply(status=500))
        enqueue_flow_end_delivery(finished_execution(acme))
        with django_capture_on_commit_callbacks(execute=True):
            send_all()

    return fail


def test_the_first_failure_emails_the_owners_and_five_days_of_failures_disable(
    acme, receiver, default_webhook, owner_email, settings, fail_once
):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    fail_once()
    webhook = Webhook.objects.get(pk=default_webhook.pk)
    assert webhook.deliveries_failing_since is not None
    assert webhook.deliveries_last_error.startswith("HTTP 500")
    [first] = mail.outbox
    assert first.to == [owner_email]
    assert "failing" in first.subject and "CRM" in first.subject
    assert f"/webhooks/{webhook.pk}/" in first.body and "HTTP 500" in first.body

    fail_once()  # another failure within the 5 days: no mail, not disabled
    assert len(mail.outbox) == 1
    assert Webhook.objects.get(pk=webhook.pk).deliveries_disabled_at is None

    Webhook.objects.filter(pk=webhook.pk).update(deliveries_failing_since=timezone.now() - timedelta(days=5, seconds=1))
    fail_once()
    webhook.refresh_from_db()
    assert webhook.deliveries_disabled
    assert len(mail.outbox) == 2 and "disabled" in mail.outbox[1].subject

    # While disabled, new deliveries are recorded as skipped and nothing is sent.
    requests_before = len(receiver.requests)
    delivery = enqueue_flow_end_delivery(finished_execution(acme))
    assert delivery.status == DeliveryStatus.SKIPPED
    assert send_all() == 0
    assert len(receiver.requests) == requests_before


def test_a_pending_owner_invitation_gets_no_mail_and_breaks_nothing(
    acme, receiver, default_webhook, owner_email, settings, fail_once
):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    Membership.objects.create(account=acme, email="new-owner@acme.example", role=Role.OWNER)  # invited, no user yet

    fail_once()

    assert Webhook.objects.get(pk=default_webhook.pk).deliveries_failing_since is not None
    [mail_sent] = mail.outbox
    assert mail_sent.to == [owner_email]


def test_a_success_stops_the_clock(acme, receiver, default_webhook, owner_email, settings, fail_once):
    settings.WEBHOOK_RETRY_SCHEDULE = []
    fail_once()
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))
    send_all()
    assert Webhook.objects.get(pk=default_webhook.pk).deliveries_failing_since is None


def test_a_passing_check_re_enables_and_offers_the_skipped_deliveries(acme, alice, client, receiver, default_webhook):
    disable(default_webhook)
    skipped = [enqueue_flow_end_delivery(finished_execution(acme)) for _ in range(2)]
    assert {d.status for d in skipped} == {DeliveryStatus.SKIPPED}
    client.force_login(alice)
    edit = client.get(reverse("webhooks:edit", args=[default_webhook.pk]))
    assert b"are disabled" in edit.content and b"Check and re-enable" in edit.content

    receiver.reply("/hook", Reply(status=200))
    page = client.post(reverse("flows:webhook-enable-deliveries", args=[default_webhook.pk]))
    assert page.status_code == 200
    assert "“CRM” checks green: flow-end deliveries are sent to it again." in page.content.decode()
    assert b"Replay the 2 skipped deliveries" in page.content
    assert not Webhook.objects.get(pk=default_webhook.pk).deliveries_disabled

    client.post(reverse("flows:webhook-replay-skipped", args=[default_webhook.pk]))
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == 2
    Delivery.objects.update(next_attempt_at=timezone.now())  # the replay rate spreads them; skip the wait
    assert send_all() == 2
    assert {d.status for d in Delivery.objects.filter(pk__in=[d.pk for d in skipped])} == {DeliveryStatus.DELIVERED}


def test_a_failing_check_keeps_deliveries_disabled(acme, alice, client, default_webhook):
    Webhook.objects.filter(pk=default_webhook.pk).update(
        url="http://10.0.0.1/hook", deliveries_disabled_at=timezone.now(), deliveries_failing_since=timezone.now()
    )
    client.force_login(alice)
    response = client.post(reverse("flows:webhook-enable-deliveries", args=[default_webhook.pk]))
    assert response.status_code == 302
    assert Webhook.objects.get(pk=default_webhook.pk).deliveries_disabled


@pytest.mark.parametrize("status", [500, 503])
def test_a_receiver_still_answering_a_server_error_stays_disabled(
    acme, alice, client, receiver, default_webhook, status
):
    disable(default_webhook)
    receiver.reply("/hook", Reply(status=status))
    client.force_login(alice)

    page = client.post(reverse("flows:webhook-enable-deliveries", args=[default_webhook.pk]), follow=True)

    assert Webhook.objects.get(pk=default_webhook.pk).deliveries_disabled
    text = page.content.decode()
    assert "The check did not pass, so flow-end deliveries to “CRM” stay disabled" in text
    assert f"The URL answered {status}" in text and "a server error" in text
    assert "green" not in text


@pytest.mark.parametrize(("status", "phrase"), [(405, "Method Not Allowed"), (400, "Bad Request")])
def test_a_receiver_refusing_the_probe_with_a_client_error_is_re_enabled_amber(
    acme, alice, client, receiver, default_webhook, status, phrase
):
    """A POST-only receiver answers the probe's HEAD 405, one checking its body answers 400: both are up."""
    disable(default_webhook)
    receiver.reply("/hook", Reply(status=status))
    client.force_login(alice)

    page = client.post(reverse("flows:webhook-enable-deliveries", args=[default_webhook.pk]))

    assert not Webhook.objects.get(pk=default_webhook.pk).deliveries_disabled
    text = page.content.decode()
    assert f"“CRM” is reachable, with a warning: The URL answered {status} {phrase}, a client error" in text
    assert "Flow-end deliveries are sent to it again; if every one fails for 5 days, it is disabled again." in text
    assert "green" not in text


def test_flow_pages_warn_when_the_default_webhook_is_disabled(acme, alice, client, default_webhook):
    Webhook.objects.filter(pk=default_webhook.pk).update(
        deliveries_disabled_at=timezone.now(), deliveries_failing_since=timezone.now()
    )
    execution = finished_execution(acme)
    client.force_login(alice)
    page = client.get(reverse("flows:detail", args=[execution.flow_id]))
    assert b"Flow-end deliveries to \xe2\x80\x9cCRM\xe2\x80\x9d are disabled" in page.content


# --- Secret rotation with overlap ----------------------------------------------------------------


def test_during_the_overlap_both_secrets_verify(acme, receiver, default_webhook, alice_api):
    old = default_webhook.signing_secret
    answer = alice_api.post(f"/api/v1/webhooks/{default_webhook.pk}/rotate-secret/").json()
    new = answer["signing_secret"]
    assert answer["previous_signing_secret"] == old
    assert answer["previous_secret_expires_at"]

    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))
    send_all()
    [request] = receiver.requests_to("/hook")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert StandardWebhook(secret).verify(request.body, dict(request.headers))


def test_after_the_overlap_only_the_new_secret_signs(acme, receiver, default_webhook, alice_api, settings):
    old = default_webhook.signing_secret
    alice_api.post(f"/api/v1/webhooks/{default_webhook.pk}/rotate-secret/")
    Webhook.objects.filter(pk=default_webhook.pk).update(previous_secret_expires_at=timezone.now())
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))
    send_all()
    [request] = receiver.requests_to("/hook")
    assert " " not in request.headers["webhook-signature"]
    with pytest.raises(Exception, match="signature"):
        StandardWebhook(old).verify(request.body, dict(request.headers))


def test_end_overlap_now(acme, alice, client, default_webhook):
    default_webhook.rotate_signing_secret()
    client.force_login(alice)
    edit = client.get(reverse("webhooks:edit", args=[default_webhook.pk]))
    assert default_webhook.previous_signing_secret.encode() in edit.content
    assert b"End overlap now" in edit.content
    client.post(reverse("webhooks:end-secret-overlap", args=[default_webhook.pk]))
    webhook = Webhook.objects.get(pk=default_webhook.pk)
    assert webhook.signing_secrets() == [webhook.signing_secret]
    assert b"End overlap now" not in client.get(reverse("webhooks:edit", args=[webhook.pk])).content


def test_viewers_never_see_the_previous_secret(bob_api, default_webhook):
    default_webhook.rotate_signing_secret()
    answer = bob_api.get(f"/api/v1/webhooks/{default_webhook.pk}/").json()
    assert answer["signing_secret"] is None and answer["previous_signing_secret"] is None


def test_replay_deliveries_leaves_pending_ones_alone(acme, default_webhook):
    [pending] = make_deliveries(acme, ["pending"])
    assert replay_deliveries(acme.pk, Delivery.objects.filter(pk=pending.pk)) == 0


@pytest.mark.parametrize("route", ["/api/v1/deliveries/", "/api/v1/executions/", "/api/v1/reports/udf/"])
def test_a_time_offset_python_reads_but_postgresql_refuses_is_compared_in_utc(alice_api, route):
    answer = alice_api.get(route, {"since": "2026-09-23T04:41:18-18:43"})
    assert answer.status_code == 200
