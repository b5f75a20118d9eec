"""A charset Django cannot decode in is a 400 before Django builds the request (it raised there)."""

import io
from wsgiref.util import setup_testing_defaults

import pytest

from phonon.charset_guard import CharsetGuard
from phonon.wsgi import application


def call(app, content_type: str) -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/login/", "QUERY_STRING": "x=1", "CONTENT_TYPE": content_type}
    environ.update({"wsgi.input": io.BytesIO(b"a=1"), "CONTENT_LENGTH": "3"})
    setup_testing_defaults(environ)
    statuses: list[str] = []
    body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    return statuses[0], body


@pytest.mark.parametrize("charset", ["rot13", "base64", "undefined", "idna", "punycode"])
def test_a_charset_that_reads_no_text_is_a_400_naming_it(charset):
    status, body = call(application, f"application/x-www-form-urlencoded; charset={charset}")

    assert status == "400 Bad Request"
    assert body.decode() == f"Content-Type header: the charset {charset!r} is not a text encoding; send UTF-8."


@pytest.mark.parametrize("charset", ["utf-8", "latin-1", "utf-7", "no-such-charset"])
def test_other_charsets_reach_the_site(charset):
    """Readable ones, and one Python does not know (Django ignores it and reads UTF-8)."""

    def site(environ, start_response):
        start_response("200 OK", [])
        return [b"reached"]

    assert call(CharsetGuard(site), f"text/plain; charset={charset}") == ("200 OK", b"reached")
