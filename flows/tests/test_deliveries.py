"""Flow end webhook deliveries against a real local receiver (SPEC §8)."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from standardwebhooks.webhooks import Webhook as StandardWebhook

from flows import deliveries as deliveries_module
from flows.deliveries import (
    build_payload,
    claim_due_delivery,
    claim_statement_for_deliveries,
    describe_delivery,
    enqueue_flow_end_delivery,
    next_status,
    send_due_delivery,
)
from flows.models import Delivery, DeliveryStatus, Execution
from flows.tests.factories import end, finished_execution, make_flow
from phonon.lib.outbound import OutboundResult
from phonon.lib.testing.http_server import Reply
from webhooks.models import AuthType, Webhook


def deliver_all(worker_id: str = "w-test") -> int:
    sent = 0
    while send_due_delivery(worker_id):
        sent += 1
    return sent


def test_it_posts_the_predefined_format_once_per_execution(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=200))
    execution = finished_execution(acme)
    enqueue_flow_end_delivery(execution)

    assert deliver_all() == 1
    [request] = receiver.requests_to("/hook")
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {
        "callDetails": [
            {
                "calleeNumber": "+915555",
                "connectTime": "2026-11-28T10:00:03Z",
                "didNumber": "+918000",
                "duration": "57",
                "endTime": "2026-11-28T10:01:00Z",
                "hangupCause": "NORMAL_CLEARING",
                "incoming": True,
                "startTime": "2026-11-28T10:00:00Z",
            }
        ],
        "keys": [
            {"name": "$flow.key.order_status", "value": "shipped"},
            {"name": "$flow.key.response_raw", "value": None},
        ],
        "phonon-uuid": str(execution.id),
        "recordingUrls": [
            {"recordedFileName": "rec-1.mp3", "recordedFilePublicPath": "https://files.example.com/rec-1.mp3"}
        ],
    }
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert deliver_all() == 0


def test_its_signature_verifies_with_the_webhooks_secret(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=204))
    enqueue_flow_end_delivery(finished_execution(acme))
    deliver_all()

    [request] = receiver.requests
    verified = StandardWebhook(default_webhook.signing_secret).verify(request.body, dict(request.headers))
    assert verified["phonon-uuid"]
    with pytest.raises(Exception, match="signature"):
        StandardWebhook("whsec_" + "QUJD" * 8).verify(request.body, dict(request.headers))


def test_it_uses_the_webhooks_method_and_basic_auth(acme, receiver, default_webhook):
    default_webhook.method = "PUT"
    default_webhook.auth_type = AuthType.BASIC
    default_webhook.username = "crm"
    default_webhook.password = "s3cret"
    default_webhook.save()
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))
    deliver_all()

    [request] = receiver.requests
    assert request.method == "PUT"
    assert request.headers["Authorization"] == "Basic Y3JtOnMzY3JldA=="


def test_it_retries_5xx_with_one_webhook_id_until_delivered(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=500), Reply(status=503), Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 3
    ids = {request.headers["webhook-id"] for request in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [(a.status_code, a.error_reason) for a in delivery.attempts.all()] == [
        (500, "SERVER_ERROR"),
        (503, "SERVER_ERROR"),
        (200, ""),
    ]


def test_it_waits_on_the_retry_schedule(acme, receiver, default_webhook, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [300, 1800]
    receiver.reply("/hook", Reply(status=502))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert timedelta(seconds=290) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=300)


def test_it_honours_retry_after_on_429(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=429, headers={"Retry-After": "120"}))
    enqueue_flow_end_delivery(finished_execution(acme))
    deliver_all()

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert timedelta(seconds=110) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=120)


@pytest.mark.parametrize(
    ("retry_after", "wait"),
    [
        ("Thu, 01 Jan 2026 12:02:00 GMT", timedelta(minutes=2)),  # an HTTP date
        ("Thu, 01 Jan 2026 12:02:00 -0000", timedelta(minutes=2)),  # a date without a known zone
        ("Thu, 01 Jan 2026 11:00:00 GMT", timedelta(0)),  # a date already past: at once
        ("9999999", timedelta(days=1)),  # capped at a day
        ("soon", timedelta(seconds=1)),  # unreadable: the schedule's step
    ],
)
def test_a_retry_after_date_or_number_sets_the_next_attempt(settings, retry_after, wait):
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 2]
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    answer = OutboundResult(status_code=503, headers={"retry-after": retry_after})

    assert next_status(answer, 1, now) == (DeliveryStatus.PENDING, now + wait)


def test_it_gives_up_after_the_schedule(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=500))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 4  # the first attempt and three retries of the [0, 0, 0] schedule
    assert Delivery.objects.get().status == DeliveryStatus.FAILED


def test_a_400_fails_after_one_attempt(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=400, body="bad payload"))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    [attempt] = delivery.attempts.all()
    assert (attempt.status_code, attempt.error_reason, attempt.response_excerpt) == (400, "CLIENT_ERROR", "bad payload")


def test_an_answer_in_a_charset_that_is_no_text_encoding_is_recorded(acme, receiver, default_webhook):
    """Its excerpt is read as UTF-8: the attempt is kept and the delivery ends, not left claimed."""
    receiver.reply(
        "/hook", Reply(status=400, body="bad payload", headers={"Content-Type": "text/plain; charset=rot13"})
    )
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts.get().response_excerpt) == (DeliveryStatus.FAILED, "bad payload")


def deliver_while_recording_raises(acme, receiver, monkeypatch, error: Exception) -> Delivery:
    """One delivery answered 200, whose attempt's bookkeeping raises `error` (passed on to the worker)."""
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))

    def raising(*args, **kwargs):
        raise error

    monkeypatch.setattr(deliveries_module, "note_attempt", raising)
    with pytest.raises(type(error)):
        deliver_all()
    return Delivery.objects.get()


def test_an_attempt_that_cannot_be_recorded_ends_the_delivery_failed_not_sent_again(
    acme, receiver, default_webhook, monkeypatch
):
    """A fault in recording (not the database's reach) would leave it claimed, sent again after each lease."""
    delivery = deliver_while_recording_raises(acme, receiver, monkeypatch, ValueError("a bug in the bookkeeping"))

    assert (delivery.status, delivery.claimed_by, delivery.next_attempt_at) == (DeliveryStatus.FAILED, "", None)
    [attempt] = delivery.attempts.all()
    assert attempt.error_reason == "ENGINE_ERROR"
    assert attempt.error_detail == "The attempt failed on our side (it may have been sent): a bug in the bookkeeping"
    Delivery.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert deliver_all() == 0 and len(receiver.requests_to("/hook")) == 1


def test_a_database_out_of_reach_while_recording_leaves_the_delivery_to_its_lease(
    acme, receiver, default_webhook, monkeypatch
):
    """Not a fault of ours: nothing is marked failed (another worker sends it after the lease)."""
    unreachable = OperationalError("the server closed the connection")
    delivery = deliver_while_recording_raises(acme, receiver, monkeypatch, unreachable)

    assert (delivery.status, delivery.claimed_by, delivery.attempts.count()) == (DeliveryStatus.PENDING, "w-test", 0)


def test_a_connection_error_is_retried(acme, receiver, default_webhook):
    default_webhook.url = "http://127.0.0.1:9/hook"  # the discard port: nothing listens
    default_webhook.save()
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert send_due_delivery("w-test")
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts.get().error_reason == "CONNECTION_ERROR"


def test_a_worker_that_died_between_attempts_loses_nothing(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=500), Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))
    assert send_due_delivery("worker-a")  # first attempt fails, then worker-a dies

    assert send_due_delivery("worker-b")
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1


def test_an_expired_claim_is_taken_over(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))
    assert claim_due_delivery("worker-a")  # worker-a claims, then is killed

    assert not send_due_delivery("worker-b")  # the lease still holds
    Delivery.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    assert send_due_delivery("worker-b")
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_there_is_no_delivery_when_the_flow_toggle_is_off(acme, default_webhook):
    assert enqueue_flow_end_delivery(finished_execution(acme, flow_end_webhook=False)) is None
    assert not Delivery.objects.exists()


def test_there_is_no_delivery_without_a_default_webhook(acme, default_webhook):
    Webhook.objects.update(is_default=False)
    assert enqueue_flow_end_delivery(finished_execution(acme)) is None
    assert not Delivery.objects.exists()


def test_another_accounts_default_webhook_is_never_used(acme, globex, default_webhook):
    assert enqueue_flow_end_delivery(finished_execution(globex)) is None


def test_it_refuses_a_default_webhook_that_now_resolves_to_a_private_address(acme, receiver, default_webhook, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = ()
    receiver.reply("/hook", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert send_due_delivery("w-test")
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts.get().error_reason == "BLOCKED_DESTINATION"
    assert receiver.requests == []


def test_http_is_refused_at_send_time_once_http_support_is_off(acme, receiver, default_webhook):
    enqueue_flow_end_delivery(finished_execution(acme))
    acme.http_support_enabled = False
    acme.save()

    send_due_delivery("w-test")
    assert Delivery.objects.get().attempts.get().error_reason == "BLOCKED_DESTINATION"
    assert receiver.requests == []


def test_replay_sends_it_again_as_a_new_attempt(acme, receiver, default_webhook, alice_api):
    receiver.reply("/hook", Reply(status=200))
    execution = finished_execution(acme)
    delivery = enqueue_flow_end_delivery(execution)
    deliver_all()

    response = alice_api.post(f"/api/v1/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 202
    assert deliver_all() == 1
    described = describe_delivery(execution)
    assert described["status"] == "delivered"
    assert [attempt["replay"] for attempt in described["attempts"]] == [False, True]
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1


def test_replay_is_404_for_another_accounts_delivery(acme, globex, default_webhook, charlie_api):
    delivery = enqueue_flow_end_delivery(finished_execution(acme))
    response = charlie_api.post(f"/api/v1/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 404
    assert Delivery.objects.get().replay_requested is False


def test_viewers_cannot_replay(acme, default_webhook, bob_api):
    delivery = enqueue_flow_end_delivery(finished_execution(acme))
    assert bob_api.post(f"/api/v1/deliveries/{delivery.pk}/replay/").status_code == 403


def test_a_deleted_webhook_fails_the_delivery_without_sending(acme, receiver, default_webhook):
    enqueue_flow_end_delivery(finished_execution(acme))
    default_webhook.delete()

    assert send_due_delivery("w-test")
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts.get().error_reason == "WEBHOOK_DELETED"
    assert receiver.requests == []


def test_the_claim_reads_pending_deliveries_from_the_due_index(db):
    """`pending` is a literal in the claim, so the planner can use the `delivery_due` partial index."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    statement = claim_statement_for_deliveries(connection.vendor)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")  # the test table is tiny; ask for any index
            cursor.execute(f"EXPLAIN {statement}", ["w", now, now, now, now, now])
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {statement}", ["w", now, now, now, now, now])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "delivery_due" in plan, plan


def test_the_execution_page_replays_a_delivery(acme, default_webhook, alice_client):
    execution = finished_execution(acme)
    delivery = enqueue_flow_end_delivery(execution)
    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    page = alice_client.get(f"/executions/{execution.pk}/").content.decode()
    assert f'action="/deliveries/{delivery.pk}/replay/"' in page

    response = alice_client.post(f"/deliveries/{delivery.pk}/replay/")
    assert response.status_code == 302 and response["Location"] == f"/executions/{execution.pk}/"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.replay_requested) == (DeliveryStatus.PENDING, True)


def test_viewers_see_no_replay_button_and_cannot_post_it(acme, default_webhook, bob_client):
    execution = finished_execution(acme)
    delivery = enqueue_flow_end_delivery(execution)
    assert "/replay/" not in bob_client.get(f"/executions/{execution.pk}/").content.decode()
    assert bob_client.post(f"/deliveries/{delivery.pk}/replay/").status_code == 403


def test_a_call_started_from_the_site_has_its_start_end_and_duration_in_the_payload(acme, alice_client):
    flow = make_flow(acme, end("w1"), name="Orders")  # published, as saving makes it
    alice_client.post(reverse("flows:start-call", args=[flow.pk]), {"cli": "+15550100", "did": "+15550199"})
    execution = Execution.objects.get()
    execution.finished_at = execution.created_at + timedelta(seconds=3.4)  # as the engine's finish() sets it

    details = build_payload(execution)["callDetails"][0]

    assert abs((parse_datetime(details["startTime"]) - execution.created_at).total_seconds()) < 2
    assert details["endTime"] == execution.finished_at.isoformat(timespec="seconds")
    expected = round((execution.finished_at - parse_datetime(details["startTime"])).total_seconds())
    assert details["duration"] == str(expected) and expected >= 3


def test_a_calls_own_end_time_and_duration_are_kept(acme):
    execution = finished_execution(acme)
    execution.finished_at = timezone.now()

    details = build_payload(execution)["callDetails"][0]

    assert (details["endTime"], details["duration"]) == ("2026-11-28T10:01:00Z", "57")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_a_failed_attempt_retried_on_the_schedule_never_followed(
    status, acme, receiver, default_webhook, settings, caplog
):
    settings.WEBHOOK_RETRY_SCHEDULE = [300, 1800]
    receiver.reply("/hook", Reply.redirect("/moved", status=status))
    receiver.reply("/moved", Reply(status=200))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 1

    assert receiver.requests_to("/moved") == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert timedelta(seconds=290) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=300)
    [attempt] = delivery.attempts.all()
    assert (attempt.status_code, attempt.error_reason) == (status, "REDIRECTION")
    assert attempt.error_detail == (
        f"127.0.0.1 answered {status}, a redirect to {receiver.url('/moved')}, which is not followed."
    )
    assert receiver.url("/moved") in caplog.text


def test_a_redirect_without_location_is_retried_too(acme, receiver, default_webhook):
    receiver.reply("/hook", Reply(status=300), Reply(status=204))
    enqueue_flow_end_delivery(finished_execution(acme))

    assert deliver_all() == 2
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert [(a.status_code, a.error_reason) for a in delivery.attempts.all()] == [(300, "REDIRECTION"), (204, "")]
