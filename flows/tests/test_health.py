"""/healthz and /readyz (SPEC §11): public, no account data, answered whatever the Host header."""

from datetime import timedelta

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from flows.models import WorkerHeartbeat


def heartbeat(seconds_ago: float) -> WorkerHeartbeat:
    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerHeartbeat.objects.create(
        worker_id=f"host:1:{seconds_ago}", host="host", pid=1, started_at=seen, last_seen=seen, concurrency=8
    )


def test_healthz_answers_without_touching_the_database(client):
    """No django_db mark: any query would fail the test."""
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_unavailable_until_a_worker_reports(client):
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "problems": ["No worker has reported in the last 30 s; start manage.py runworker."],
    }


@pytest.mark.django_db
def test_readyz_is_ok_with_a_worker_seen_lately(client):
    heartbeat(seconds_ago=3)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_a_worker_silent_for_more_than_30_seconds_does_not_count(client):
    heartbeat(seconds_ago=31)

    assert client.get("/readyz").status_code == 503


@pytest.mark.django_db
def test_readyz_names_migrations_that_are_not_applied(client):
    heartbeat(seconds_ago=1)
    MigrationRecorder.Migration.objects.filter(app="flows").order_by("-name").first().delete()

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["problems"] == ["1 database migrations are not applied; run manage.py migrate."]


@pytest.mark.django_db
def test_probes_answer_any_host_name_and_plain_http(client, settings):
    """Load balancers ask by address; the site's https redirect and host check do not apply."""
    settings.SECURE_SSL_REDIRECT = True
    heartbeat(seconds_ago=1)

    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    assert client.get("/login/", HTTP_HOST="10.1.2.3:8000").status_code == 400  # the site itself still checks


def test_probes_answer_get_only(client):
    response = client.post("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
