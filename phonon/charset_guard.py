"""A 400 for a request whose Content-Type declares a charset no decoder can read text in.

Django decodes the query string in the declared charset while it builds the request
(`WSGIRequest.__init__`), before any middleware: `charset=rot13` (bytes to bytes), `undefined`
or `idna` raised there, a 500 with a traceback for a client's typo. A charset Python does not
know at all is ignored by Django (it reads UTF-8), and so it is here.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable

from django.utils.http import parse_header_parameters


def unusable_charset(content_type: str) -> str | None:
    """The declared charset when Python knows it but cannot decode any bytes with it; else None."""
    charset = parse_header_parameters(content_type)[1].get("charset", "")
    if not charset:
        return None
    try:
        codecs.lookup(charset)
    except LookupError:
        return None
    try:
        b"a\xff".decode(charset, errors="replace")
    except (LookupError, UnicodeError):
        return charset
    return None


class CharsetGuard:
    """WSGI middleware in front of Django (phonon.wsgi)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        charset = unusable_charset(environ.get("CONTENT_TYPE", ""))
        if charset is None:
            return self.app(environ, start_response)
        body = f"Content-Type header: the charset {charset!r} is not a text encoding; send UTF-8.".encode()
        start_response(
            "400 Bad Request", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
        )
        return [body]
