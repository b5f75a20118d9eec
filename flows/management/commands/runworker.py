import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from flows.heartbeat import Heartbeat
from flows.worker import Worker


class Command(BaseCommand):
    help = "Run queued flow executions and flow-end deliveries (SIGTERM finishes the work in hand, then exits)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--concurrency", type=int, default=8, help="Jobs in flight at once (default 8); a slow endpoint holds one."
        )
        parser.add_argument(
            "--once",
            action="store_true",
            help="Drain what is due now, then exit (status 1 when a job ended in an engine error).",
        )

    def handle(self, *args, concurrency: int, once: bool, **options):
        if concurrency < 1:
            raise CommandError("--concurrency must be 1 or more.")
        # The heartbeat's thread keeps one connection of its own: the lane gets the rest, so the
        # process holds at most WORKER_DB_CONNECTIONS.
        worker = Worker(concurrency=concurrency, db_connections=max(1, settings.WORKER_DB_CONNECTIONS - 1))

        def stop(signum, frame):
            worker.stop()

        previous = {number: signal.signal(number, stop) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            with Heartbeat(worker.worker_id, concurrency=concurrency, held=worker.held):
                clean = worker.run(once=once)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        if once and not clean:
            raise CommandError(f"{worker.engine_errors} job(s) ended in an engine error; see the log above.")
