"""The test suite's settings: production settings (DEBUG off) with the two values production must give.

Set in the environment, so the `manage.py` subprocesses that tests start read them too.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-insecure-secret-key")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1,[::1]")

from phonon.settings import *  # noqa: F403
