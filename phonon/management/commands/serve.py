"""`make serve`: the production start on one machine (SPEC §11, README "Production").

Prepares the database and the static files, then runs gunicorn (WEB_CONCURRENCY processes on
HOST:PORT) and, once the site answers, WORKER_PROCESSES `runworker` processes, in the
foreground. SIGTERM or Ctrl-C stops them all the graceful way (gunicorn finishes the requests
in hand, each worker the calls in hand) and exits 0; if one of them dies on its own, the others
are stopped and it exits 1.

The children run in process groups of their own, so a Ctrl-C in the terminal reaches only this
process, which sends each child SIGTERM (gunicorn takes SIGINT as "quit now").
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from phonon.lib.numbers import whole_number

WILDCARD_ADDRESSES = {"0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 - mapped to loopback, not bound


def positive_int_from_env(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    number = whole_number(raw)
    if number is None or number < 1:
        raise CommandError(f"{name} must be a whole number of 1 or more, got {raw!r}.")
    return number


class Command(BaseCommand):
    help = "Migrate, collect static files, then run gunicorn and the workers until SIGTERM or Ctrl-C."
    # The checks import the URLs and so prometheus-client, which must not happen before the
    # metrics directory exists (see handle()); `migrate` runs them right after.
    requires_system_checks = []

    def handle(self, *args, **options):
        web_processes = positive_int_from_env("WEB_CONCURRENCY", 2)
        worker_processes = positive_int_from_env("WORKER_PROCESSES", 1)
        host, port = os.environ.get("HOST", "127.0.0.1"), os.environ.get("PORT", "8000")
        self.stop_requested = threading.Event()
        self.something_happened = threading.Event()  # a stop request or a child's exit
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self.request_stop)

        # Before anything imports prometheus-client here: this process keeps no counters itself.
        metrics_directory = self.fresh_metrics_directory()
        self.environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(metrics_directory)}
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

        call_command("migrate", interactive=False, verbosity=1)
        call_command("createcachetable")
        call_command("collectstatic", interactive=False, verbosity=0)
        self.children: dict[str, subprocess.Popen] = {}

        self.start("web", "-m", "gunicorn", "-c", "python:phonon.gunicorn_conf")
        # Workers start once the site answers: a flow may call this very site (the demo API).
        if self.wait_until_answering(host, port):
            for n in range(1, worker_processes + 1):
                self.start(f"worker {n}", "manage.py", "runworker")
            self.stdout.write(
                f"Serving http://{host}:{port}/ with {web_processes} web processes and {worker_processes} "
                "worker process(es); SIGTERM or Ctrl-C stops them."
            )
            self.stdout.flush()
            while not self.something_happened.wait(0.5):
                pass
        if self.stop_all():
            sys.exit(1)

    def request_stop(self, signum, frame) -> None:
        self.stop_requested.set()
        self.something_happened.set()

    def fresh_metrics_directory(self) -> Path:
        """PROMETHEUS_MULTIPROC_DIR (default var/prometheus), emptied: old processes' counters must not count."""
        directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.BASE_DIR / "var" / "prometheus")
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return directory

    def start(self, name: str, *arguments: str) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and commands
            [sys.executable, *arguments], cwd=settings.BASE_DIR, env=self.environment, process_group=0
        )
        self.children[name] = process
        threading.Thread(target=lambda: (process.wait(), self.something_happened.set()), daemon=True).start()

    def wait_until_answering(self, host: str, port: str) -> bool:
        """Poll /healthz until gunicorn answers; False if something happened first (a stop, its exit)."""
        probe = WILDCARD_ADDRESSES.get(host.strip("[]"), host.strip("[]"))
        url = f"http://{f'[{probe}]' if ':' in probe else probe}:{port}/healthz"
        while not self.something_happened.is_set():
            try:
                with urllib.request.urlopen(url, timeout=1):
                    return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop_all(self) -> bool:
        """SIGTERM to every child still running, wait for all; True when that was a failure.

        A failure: a child exited without being asked (the others are stopped because of it),
        or one exited with an error while stopping.
        """
        unasked = (
            [] if self.stop_requested.is_set() else [name for name, p in self.children.items() if p.poll() is not None]
        )
        for process in self.children.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.children.values():
            process.wait()
        for name in unasked:
            self.stderr.write(
                f"The {name} process exited with code {self.children[name].returncode}; stopped the others."
            )
        failed = [name for name, process in self.children.items() if process.returncode != 0 and name not in unasked]
        for name in failed:
            self.stderr.write(f"The {name} process exited with code {self.children[name].returncode} while stopping.")
        return bool(unasked or failed)
