"""`Idempotency-Key` on `POST /api/v1/executions/` (SPEC §7): a retry starts no second call."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import api_client
from flows import idempotency
from flows.models import Execution, IdempotencyKey
from flows.tests.factories import make_flow

EXECUTIONS = "/api/v1/executions/"


def body(flow, cli="+15550100"):
    return {"flow": flow.pk, "call": {"cli": cli}}


def post(client, data, key="order-1001-attempt"):
    return client.post(EXECUTIONS, data, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_with_the_same_key_and_body_answers_the_first_execution(alice_api, acme):
    flow = make_flow(acme)

    first = post(alice_api, body(flow))
    retry = post(alice_api, {"call": {"cli": "+15550100"}, "flow": flow.pk})  # same body, other key order

    assert (first.status_code, retry.status_code) == (202, 200)
    assert retry.json() == first.json()
    assert retry["Location"] == first["Location"]
    assert Execution.objects.count() == 1


def test_the_answer_to_a_retry_shows_the_executions_status_now(alice_api, acme):
    first = post(alice_api, body(make_flow(acme)))
    Execution.objects.filter(pk=first.json()["id"]).update(status="completed")

    assert post(alice_api, body(Execution.objects.get().flow)).json()["status"] == "completed"


def test_the_same_key_with_another_body_is_a_409_and_starts_nothing(alice_api, acme):
    flow = make_flow(acme)
    post(alice_api, body(flow))

    response = post(alice_api, body(flow, cli="+15550111"))

    assert response.status_code == 409
    assert "another body" in response.json()["detail"]
    assert Execution.objects.count() == 1


def test_requests_without_a_key_or_with_other_keys_each_start_a_call(alice_api, acme):
    flow = make_flow(acme)

    alice_api.post(EXECUTIONS, body(flow), format="json")
    alice_api.post(EXECUTIONS, body(flow), format="json")
    post(alice_api, body(flow), key="a")
    post(alice_api, body(flow), key="b")

    assert Execution.objects.count() == 4


def test_another_accounts_identical_key_is_independent(alice_api, charlie_api, acme, globex):
    mine = post(alice_api, body(make_flow(acme)))
    theirs = post(charlie_api, body(make_flow(globex)))

    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.json()["id"] != theirs.json()["id"]
    assert (
        IdempotencyKey.objects.for_account(globex).get().execution_id
        != IdempotencyKey.objects.for_account(acme).get().execution_id
    )


def test_a_key_older_than_24_hours_is_forgotten_and_removed(alice_api, acme):
    flow = make_flow(acme)
    first = post(alice_api, body(flow))
    stale = post(alice_api, body(flow), key="stale")
    IdempotencyKey.objects.update(created_at=timezone.now() - idempotency.KEPT_FOR - timedelta(seconds=1))

    again = post(alice_api, body(flow, cli="+15550111"))  # another body: no 409, the key expired

    assert again.status_code == 202 and again.json()["id"] != first.json()["id"]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["order-1001-attempt"]
    assert stale.json()["id"] not in {str(key.execution_id) for key in IdempotencyKey.objects.all()}


@pytest.mark.parametrize("key", ["", "has space", "ünïcode", "x" * 256])
def test_a_malformed_key_is_a_400_naming_the_header(alice_api, acme, key):
    response = post(alice_api, body(make_flow(acme)), key=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert Execution.objects.count() == 0


def test_an_invalid_body_does_not_use_up_the_key(alice_api, acme):
    flow = make_flow(acme)

    assert post(alice_api, {"flow": flow.pk, "call": {"cli": 5}}).status_code == 400
    assert post(alice_api, body(flow)).status_code == 202


def test_the_database_refuses_a_key_twice_in_one_account(acme):
    execution = Execution.queue(make_flow(acme))
    IdempotencyKey.objects.create(account=acme, key="k", request_hash="h", execution=execution)

    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyKey.objects.create(account=acme, key="k", request_hash="h", execution=execution)


def test_a_request_that_loses_the_race_answers_the_winners_execution(alice_api, acme, monkeypatch):
    """Both requests missed the lookup; the second's insert hits the constraint and rolls back its call."""
    flow = make_flow(acme)
    winner = post(alice_api, body(flow)).json()["id"]
    lookup = idempotency.execution_for_key
    calls = []

    def missed_once(*args):
        calls.append(args)
        return None if len(calls) == 1 else lookup(*args)

    monkeypatch.setattr(idempotency, "execution_for_key", missed_once)

    response = post(alice_api, body(flow))

    assert (response.status_code, response.json()["id"]) == (200, winner)
    assert Execution.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_start_one_call(alice, acme):
    flow = make_flow(acme)
    clients = [api_client(alice, acme) for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def send(client: APIClient) -> None:
        close_old_connections()
        try:
            barrier.wait()
            statuses.append(post(client, body(flow)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(statuses) == [200, 200, 200, 202]
    assert Execution.objects.count() == 1
