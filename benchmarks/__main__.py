"""Run every benchmark module on a fresh SQLite file and, when DATABASE_URL names a PostgreSQL
server, on a fresh `<name>_bench` database of that server (the named database is not touched).

Each backend runs in its own process (settings read DATABASE_URL once, at start-up):
`python -m benchmarks --inside` sets Django up, creates the tables and calls each module's run().
`python -m benchmarks flows` runs only the modules whose name starts with "flows".
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
# Production settings (DEBUG off, as measured figures should be) with the two values production
# must be given; the operator's environment wins. The cache is the process's own memory.
BENCH_ENVIRONMENT = {
    "SECRET_KEY": "benchmarks-only-insecure-secret-key",
    "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    "CACHE_URL": "locmemcache://",
}


def benchmark_modules(prefixes: list[str]) -> list[str]:
    names = sorted(m.name for m in pkgutil.iter_modules([str(PACKAGE_DIR)]) if m.name.endswith("_bench"))
    return [name for name in names if not prefixes or name.startswith(tuple(prefixes))]


def fresh_postgres_database(url: str) -> str:
    """Drop and create `<name>_bench` next to the database DATABASE_URL names; its URL."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") + "_bench"
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def run_inside(modules: list[str]) -> None:
    """In the benchmark process: Django on the given DATABASE_URL, tables created, modules run."""
    import django
    from django.core.management import call_command

    for name, value in {**BENCH_ENVIRONMENT, "DJANGO_SETTINGS_MODULE": "phonon.settings"}.items():
        os.environ.setdefault(name, value)
    django.setup()
    if not (PROJECT_DIR / "flows" / "migrations").exists():
        # Before the project has migrations: create every table from the models, as the tests'
        # --nomigrations does (a partial syncdb breaks PostgreSQL's foreign keys to auth_user).
        from django.apps import apps
        from django.conf import settings

        settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}
    call_command("migrate", run_syncdb=True, verbosity=0)
    for name in modules:
        importlib.import_module(f"benchmarks.{name}").run()
        print(flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--inside"]:
        run_inside(argv[1:])
        return 0
    modules = benchmark_modules(argv)
    if not modules:
        print(f"No benchmark module matches {argv}.")
        return 1
    began = time.perf_counter()
    failed = False
    with tempfile.TemporaryDirectory(prefix="phonon-bench-") as directory:
        backends = [("SQLite", f"sqlite:///{directory}/bench.sqlite3")]
        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith(("postgres://", "postgresql://")):
            backends.append(("PostgreSQL", fresh_postgres_database(database_url)))
        else:
            print("(Set DATABASE_URL=postgres://… to run on PostgreSQL too.)\n")
        for label, url in backends:
            print(f"=== {label} ===", flush=True)
            env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING", "BENCH_DATABASE_LABEL": label}
            result = subprocess.run(  # noqa: S603 - our own interpreter and module
                [sys.executable, "-m", "benchmarks", "--inside", *modules], cwd=PROJECT_DIR, env=env
            )
            failed |= result.returncode != 0
    print(f"All benchmarks: {time.perf_counter() - began:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
