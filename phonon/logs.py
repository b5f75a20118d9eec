"""Log lines that say which account, execution, flow, widget or delivery they are about.

`log_context(execution=…, …)` binds ids for the code it wraps (a context variable, so each
worker thread and each request has its own); `bind_log_context()` adds ids for the rest of the
enclosing block. `LogContextFilter` copies them onto every record (a call's `extra={…}` wins).
With LOG_FORMAT=json, `JsonFormatter` writes one object a line: time, level, logger, message,
the ids that are known, and the traceback as `exception`. The plain format (the default) stays as it was.
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

CONTEXT_FIELDS = ("account", "execution", "flow", "widget", "delivery")

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("log_context", default=None)


@contextmanager
def log_context(**ids) -> Iterator[None]:
    """Bind ids (None values are skipped) to the log records written inside the block."""
    token = _context.set(_context.get() or {})
    bind_log_context(**ids)
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**ids) -> None:
    """Add ids for the rest of the enclosing log_context() block (e.g. the account an API token names)."""
    _context.set({**(_context.get() or {}), **{name: str(value) for name, value in ids.items() if value is not None}})


class LogContextFilter(logging.Filter):
    """Puts the bound ids on each record, unless the call's `extra` already set them."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_context.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class AccountLogContextMiddleware:
    """After CurrentAccountMiddleware: a request's log lines name its account (site or API token)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        account = getattr(request, "account", None)
        with log_context(account=account.pk if account else None):
            return self.get_response(request)
