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
from flows.models import WorkerHeartbeat
from flows.tests.workers import wait_until


@pytest.mark.django_db(transaction=True)
def test_a_worker_reports_itself_at_once_renews_the_report_and_removes_it_when_it_stops(monkeypatch):
    monkeypatch.setattr(heartbeat_module, "HEARTBEAT_SECONDS", 0.05)
    in_flight = [2]

    with Heartbeat("box:42:abc", concurrency=8, in_flight=lambda: in_flight[0]):
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
