"""`make bench` starts on a machine with no production environment (it once stopped at SECRET_KEY)."""

import os
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def test_benchmark_process_sets_django_up_without_production_variables(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path}/bench.sqlite3"
    # --inside with no module: settings, migrations, nothing timed.
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--inside"], cwd=PROJECT_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
