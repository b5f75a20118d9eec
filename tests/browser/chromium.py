"""Which Chromium the browser tests drive, and the note printed when it is missing."""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))  # Debian's package
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def missing_chromium_note() -> str | None:
    """None when the browser tests can run; else why they are deselected."""
    if CHROMIUM.exists():
        return None
    return f"browser tests deselected: {CHROMIUM} is missing (apt-get install chromium; CI installs it)."
