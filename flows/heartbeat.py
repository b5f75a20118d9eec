"""A worker's heartbeat: its WorkerHeartbeat row, renewed every HEARTBEAT_SECONDS by a thread of its own.

`runworker` wraps the worker's loop in `Heartbeat(...)`: the first beat is written before any
work is claimed (so /readyz turns ready at once), a daemon thread renews `last_seen` and
`in_flight` while the loop runs (and brings the news the endpoints' busy limit and circuit
breaker need, webhooks.endpoints), and leaving the block (a clean stop) deletes the row. A worker
killed outright leaves its row behind; it turns stale after 30 s (flows.models.worker) and the
admin marks it so. Kept apart from the worker's loop so a rewrite of the loop keeps it.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

from django.db import DatabaseError, connection
from django.utils import timezone

from flows.leases import renew_leases
from flows.models import WorkerHeartbeat
from webhooks import endpoints

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5


class Heartbeat:
    def __init__(self, worker_id: str, *, concurrency: int, held: Callable[[], list]) -> None:
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.held = held
        self.started_at = timezone.now()
        self._stopped = threading.Event()
        self._first_beat = threading.Event()
        self._thread = threading.Thread(target=self._beat_until_stopped, name="heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        """Start beating; returns once the first beat is written (or failed), so the row is there."""
        self._thread.start()
        self._first_beat.wait()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stopped.set()
        self._thread.join()

    def beat(self) -> None:
        """Write last_seen and in_flight now (the row is created by the first beat); renew the
        leases of the jobs in hand; bring the news of the shared circuits and the other workers'
        requests in flight (webhooks.endpoints)."""
        held, now = self.held(), timezone.now()
        renew_leases(self.worker_id, held, now)
        fields = {
            "last_seen": now,
            "in_flight": len(held),
            "endpoints_in_flight": endpoints.guard.in_flight(),
        }
        if not WorkerHeartbeat.objects.filter(worker_id=self.worker_id).update(**fields):
            WorkerHeartbeat.objects.create(
                worker_id=self.worker_id,
                host=socket.gethostname(),
                pid=os.getpid(),
                started_at=self.started_at,
                concurrency=self.concurrency,
                **fields,
            )
        others = WorkerHeartbeat.objects.live().exclude(worker_id=self.worker_id)
        elsewhere = endpoints.count_elsewhere(list(others.values_list("endpoints_in_flight", flat=True)))
        endpoints.guard.refresh(endpoints.read_circuits(), elsewhere)

    def _beat_until_stopped(self) -> None:
        """All of the heartbeat's database work, on its own thread and connection.

        The worker's process then holds its lane's connections and this one, none in the main
        thread (SPEC §12: at most WORKER_DB_CONNECTIONS).
        """
        try:
            self._beat_or_log()
            self._first_beat.set()
            while not self._stopped.wait(HEARTBEAT_SECONDS):
                self._beat_or_log()
            try:
                WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
            except DatabaseError:
                logger.exception("worker %s: could not remove its heartbeat", self.worker_id)
        finally:
            self._first_beat.set()
            connection.close()

    def _beat_or_log(self) -> None:
        try:
            self.beat()
        except DatabaseError:  # the database is away: try again at the next beat
            logger.exception("worker %s: heartbeat failed", self.worker_id)
            connection.close()
