"""Worker heartbeats: a row while the worker runs, renewed, removed on a clean stop; the admin lists them."""

import os
import re
import socket
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from flows import heartbeat as heartbeat_module
from flows.heartbeat import Heartbeat
from flows.models import Execution, WorkerHeartbeat
from flows.tests.factories import make_flow, queue_execution
from flows.tests.workers import wait_until


def test_a_beat_renews_the_leases_of_the_jobs_in_hand_only(acme, settings):
    """A job slower than the lease is not taken over while its worker lives; one the worker no
    longer holds (its seat gave it up) is left to expire."""
    flow = make_flow(acme)
    soon = timezone.now() + timedelta(seconds=1)
    held, dropped, elsewhere = (queue_execution(flow) for _ in range(3))
    Execution.objects.filter(pk__in=[held.pk, dropped.pk]).update(claimed_by="w-1", locked_until=soon)
    Execution.objects.filter(pk=elsewhere.pk).update(claimed_by="w-2", locked_until=soon)

    Heartbeat("w-1", concurrency=8, held=lambda: [held, elsewhere]).beat()

    renewed = timezone.now() + timedelta(seconds=settings.WORKER_LEASE_SECONDS)
    leases = dict(Execution.objects.values_list("pk", "locked_until"))
    assert renewed - timedelta(seconds=5) < leases[held.pk] <= renewed
    assert leases[dropped.pk] == soon and leases[elsewhere.pk] == soon  # not held; another's claim


@pytest.mark.django_db(transaction=True)
def test_a_worker_reports_itself_at_once_renews_the_report_and_removes_it_when_it_stops(monkeypatch):
    monkeypatch.setattr(heartbeat_module, "HEARTBEAT_SECONDS", 0.05)
    in_flight = [2]

    with Heartbeat("box:42:abc", concurrency=8, held=lambda: [Execution()] * in_flight[0]):
        row = WorkerHeartbeat.objects.get()
        assert (row.worker_id, row.host, row.pid, row.concurrency, row.in_flight) == (
            "box:42:abc",
            socket.gethostname(),
            os.getpid(),
            8,
            2,
        )
        first_seen = row.last_seen
        in_flight[0] = 5
        wait_until(lambda: WorkerHeartbeat.objects.get().in_flight == 5, timeout=5, what="the next beat")
        assert WorkerHeartbeat.objects.get().last_seen > first_seen

    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_runworker_leaves_no_heartbeat_behind_when_it_stops(acme):
    call_command("runworker", "--once")

    assert not WorkerHeartbeat.objects.exists()


@pytest.mark.django_db
def test_the_admin_lists_workers_and_marks_the_stale_ones(client):
    staff = get_user_model().objects.create_superuser("staff", password="x" * 12)
    client.force_login(staff)
    now = timezone.now()
    for worker_id, seen in [("alive:1:a", now), ("dead:2:b", now - timedelta(minutes=2))]:
        WorkerHeartbeat.objects.create(
            worker_id=worker_id, host=worker_id.split(":")[0], pid=1, started_at=now, last_seen=seen, concurrency=4
        )

    page = client.get("/admin/flows/workerheartbeat/").content.decode()

    rows = {
        worker_id: row
        for row in re.findall(r"<tr.*?</tr>", page, re.S)
        for worker_id in ["alive:1:a", "dead:2:b"]
        if worker_id in row
    }
    assert 'alt="True"' in rows["alive:1:a"]
    assert 'alt="False"' in rows["dead:2:b"]
