"""The one outbound HTTP function: every request the product sends goes through ``send_request``.

What it guarantees (SPEC §5, §6):

* the URL policy (``check_url``) judges the URL and every redirect hop before any connection;
* the connection goes to the address that was checked: a requests ``HTTPAdapter`` pins it in
  the urllib3 pool key, while the Host header, TLS SNI and certificate check use the real name
  (the approach of requests-hardened, whose own filter cannot take ``allowed_networks``);
* ``timeout`` is a total deadline for checks, connects, redirects and reading: socket timeouts
  restart with every byte, so a timer shuts down the socket in use when the deadline passes;
* the body is streamed and abandoned past ``max_bytes``;
* network trouble never raises: it comes back as an ``OutboundResult`` with an error reason;
* the result's text (headers, final URL, error detail) is ``storable``: a NUL or lone surrogate
  the server sent (in a Location, say) is U+FFFD; the body stays bytes, for the caller to decode.

Tests patch ``send_request`` at this one point; end-to-end tests use ``phonon.lib.testing.http_server``.
"""

from __future__ import annotations

import contextlib
import heapq
import http
import http.client
import itertools
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote, quote_plus, unquote, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.ssl_match_hostname import CertificateError

from phonon.lib import url_policy
from phonon.lib.numbers import whole_number
from phonon.lib.storable import first_line, storable
from phonon.lib.url_policy import (
    DEFAULT_PORTS,
    ENCODED_DOT_SEGMENTS,
    CheckedURL,
    IPNetwork,
    Resolver,
    UrlPolicyError,
    check_url,
)

logger = logging.getLogger(__name__)

# Why there is no answer (or none worth reading); a flow's $flow.key.error_reason takes these
# values too (flows.variables.ErrorReason reads them here).
TIMEOUT = "TIMEOUT"
CONNECTION_ERROR = "CONNECTION_ERROR"
BLOCKED_DESTINATION = "BLOCKED_DESTINATION"
RESPONSE_TOO_LARGE = "RESPONSE_TOO_LARGE"
REDIRECTION = "REDIRECTION"

USER_AGENT = "Phonon-Webhooks/1.0"  # every outbound request's, flow-end deliveries' too
REACHABLE = "The URL is reachable."
_READ_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_BODY_HEADERS = ("Content-Type", "Content-Length", "Transfer-Encoding")
_TIMEOUT_ERRORS = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


@dataclass
class OutboundResult:
    """The outcome of one ``send_request``: the final answer, or why there is none.

    ``error_reason`` is None or one of TIMEOUT, CONNECTION_ERROR, BLOCKED_DESTINATION,
    RESPONSE_TOO_LARGE, REDIRECTION; an HTTP error status alone is not an error here (the caller
    decides what a 4xx means). ``final_url`` is the last URL requested, without credentials.
    """

    status_code: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    duration: float = 0.0
    error_reason: str | None = None
    error_detail: str = ""
    final_url: str = ""

    @property
    def ok(self) -> bool:
        return self.error_reason is None and self.status_code is not None and 200 <= self.status_code < 300

    def header(self, name: str) -> str | None:
        return header_value(self.headers, name)


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value by its name in any case; None when the answer has none."""
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


# Headers that carry credentials: they stay on the origin asked (a redirect elsewhere drops them).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def send_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    private_headers: Collection[str] = (),
    secrets: Sequence[str] = (),
    params: Sequence[tuple[str, str]] | None = None,
    data: bytes | str | None = None,
    auth: tuple[str, str] | None = None,
    timeout: float,
    allow_http: bool,
    allowed_networks: Sequence[IPNetwork] = (),
    max_bytes: int,
    max_redirects: int = 5,
    resolve: Resolver | None = None,
) -> OutboundResult:
    """Send one request (following redirects) within ``timeout`` seconds in total; never raises for network trouble.

    With ``max_redirects=0`` a redirect is the answer: REDIRECTION, its Location in the detail.

    ``headers`` are sent as given (the caller has escaped them) over a few defaults; ``params``
    are appended to the URL's own query; a ``str`` body is sent as UTF-8; ``auth`` is HTTP Basic.
    ``private_headers`` names more headers that, like CREDENTIAL_HEADERS, are not sent to another
    origin a redirect leads to; ``secrets`` are values (a key in the query) kept out of error details.
    """
    started = time.monotonic()
    url = _with_params(url.strip(), params)
    auth = auth or _auth_from_url(url)
    request_headers = CaseInsensitiveDict(
        {"User-Agent": USER_AGENT, "Accept": "*/*", "Accept-Encoding": "gzip, deflate"}
    )
    request_headers.update(headers or {})
    hop = _Hop(
        method=method.upper(),
        url=url,
        headers=request_headers,
        body=data.encode() if isinstance(data, str) else data,
        auth=auth,
        private=CREDENTIAL_HEADERS | {name.lower() for name in private_headers},
    )
    policy = _Policy(allow_http=allow_http, allowed_networks=tuple(allowed_networks), resolve=resolve)
    with _Deadline(timeout) as deadline:
        try:
            result = _follow(hop, policy, deadline, max_bytes=max_bytes, max_redirects=max_redirects)
        except Exception as error:  # what a server sent that nothing foresaw: an outcome, never a crash
            logger.exception("outbound %s %s: the answer could not be read", hop.method, _without_userinfo(url))
            detail = f"The answer could not be read: {first_line(error)}."
            result = OutboundResult(
                None, error_reason=CONNECTION_ERROR, error_detail=detail, final_url=_without_userinfo(url)
            )
    result.duration = time.monotonic() - started
    secrets = (auth[1] if auth else "", _password_in(url), *secrets)
    result.error_detail = storable(_redact(result.error_detail, secrets=secrets))
    result.final_url = storable(result.final_url)
    result.headers = {name: storable(value) for name, value in result.headers.items()}
    return result


class Probe(NamedTuple):
    """What the check button says: reachable or not, why, the answer's status code, and a warning
    when the answer was an error (4xx/5xx: the URL is reachable, but probably not right)."""

    ok: bool
    reason: str
    status_code: int | None = None
    warning: str = ""


def status_warning(status_code: int | None) -> str:
    """ "The URL answered 404 Not Found, a client error: …" for a 4xx/5xx answer, else ""."""
    if status_code is None or status_code < 400:
        return ""
    try:
        phrase = " " + http.HTTPStatus(status_code).phrase
    except ValueError:
        phrase = ""
    if status_code < 500:
        return f"The URL answered {status_code}{phrase}, a client error: check the path and the authentication."
    return f"The URL answered {status_code}{phrase}, a server error: the endpoint is reachable but failing."


def probe_url(
    url: str,
    *,
    allow_http: bool,
    allowed_networks: Sequence[IPNetwork] = (),
    timeout: float = 10,
    resolve: Resolver | None = None,
) -> Probe:
    """The check button: policy, then a HEAD request where any HTTP answer means reachable.

    Returns ``Probe(True, "The URL is reachable.", 200)`` (with a warning for 4xx/5xx answers)
    or ``Probe(False, <what failed, precisely>, code or None)``.
    """
    result = send_request(
        "HEAD",
        url,
        timeout=timeout,
        allow_http=allow_http,
        allowed_networks=allowed_networks,
        max_bytes=_READ_CHUNK,
        resolve=resolve,
    )
    if result.status_code is not None and result.error_reason in (None, REDIRECTION, RESPONSE_TOO_LARGE):
        return Probe(True, REACHABLE, result.status_code, status_warning(result.status_code))
    return Probe(False, result.error_detail, result.status_code)


# One request in a redirect chain.


@dataclass(frozen=True)
class _Hop:
    method: str
    url: str
    headers: CaseInsensitiveDict[str]
    body: bytes | None
    auth: tuple[str, str] | None
    private: frozenset[str]  # lower-case names of the headers that stay on the origin

    def redirected(self, status: int, location: str) -> _Hop:
        """The next hop, as browsers do it: 303 (and 301/302 after POST) becomes GET; credentials stay on the origin."""
        url = urljoin(self.url, location)
        method, body, headers, auth = self.method, self.body, CaseInsensitiveDict(self.headers), self.auth
        if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
            method, body = "GET", None
            for name in _BODY_HEADERS:
                headers.pop(name, None)
        if not _keeps_credentials(self.url, url):
            for name in [name for name in headers if name.lower() in self.private]:
                del headers[name]
            auth = None
        return _Hop(method=method, url=url, headers=headers, body=body, auth=auth, private=self.private)


@dataclass(frozen=True)
class _Policy:
    allow_http: bool
    allowed_networks: tuple[IPNetwork, ...]
    resolve: Resolver | None

    def check(self, url: str, deadline: _Deadline) -> CheckedURL:
        """The URL policy's check, its DNS lookup inside the deadline (a slow resolver: _LookupTimedOut)."""
        resolve = _within(deadline, self.resolve or url_policy.resolve_host)  # looked up now: tests patch it
        return check_url(url, allow_http=self.allow_http, allowed_networks=self.allowed_networks, resolve=resolve)


class _LookupTimedOut(Exception):
    def __init__(self, host: str) -> None:
        super().__init__(host)
        self.host = host


def _within(deadline: _Deadline, resolve: Resolver) -> Resolver:
    """`resolve`, waited for only until the deadline. getaddrinfo() cannot be interrupted, so each
    lookup has a daemon thread of its own: an abandoned one ends by itself, nothing queues behind
    it (a shared pool ran out at 200 calls in flight), and no pool outlives a fork."""

    def bounded(host: str, port: int) -> list[str]:
        answer: Future = Future()

        def look_up() -> None:
            try:
                answer.set_result(resolve(host, port))
            except BaseException as error:  # handed to the caller, who raises it
                answer.set_exception(error)

        threading.Thread(target=look_up, name=f"dns {host}", daemon=True).start()
        try:
            return answer.result(timeout=max(0.0, deadline.remaining()))
        except FutureTimeout:
            raise _LookupTimedOut(host) from None

    return bounded


def _follow(hop: _Hop, policy: _Policy, deadline: _Deadline, *, max_bytes: int, max_redirects: int) -> OutboundResult:
    for hop_number in range(max_redirects + 1):
        shown_url = _without_userinfo(hop.url)
        try:
            checked = policy.check(hop.url, deadline)
        except UrlPolicyError as refusal:
            return _refused(refusal, shown_url, redirected=hop_number > 0)
        except _LookupTimedOut as slow:
            detail = f"The DNS lookup of {slow.host} did not finish within the {deadline.seconds:.3g}-second deadline."
            return OutboundResult(None, error_reason=TIMEOUT, error_detail=detail, final_url=shown_url)
        try:
            response = _send_pinned(hop, checked, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError) as error:
            reason, detail = _describe_failure(error, checked.host, deadline)
            return OutboundResult(None, error_reason=reason, error_detail=detail, final_url=shown_url)
        with response:
            location = _redirect_location(response)
            if location is None:
                return _read(response, hop.method, checked.host, deadline, max_bytes, shown_url)
            try:
                next_hop = hop.redirected(response.status_code, location)
                next_url = _without_userinfo(next_hop.url)
            except ValueError:
                problem = f"{checked.host} redirected to an invalid URL."
            else:
                if hop_number < max_redirects:
                    hop = next_hop
                    continue
                if max_redirects:
                    problem = (
                        f"Stopped after {max_redirects} redirects; {checked.host} kept redirecting (to {next_url})."
                    )
                else:
                    status = response.status_code
                    problem = f"{checked.host} answered {status}, a redirect to {next_url}, which is not followed."
            return OutboundResult(
                response.status_code,
                headers=dict(response.headers),
                error_reason=REDIRECTION,
                error_detail=problem,
                final_url=shown_url,
            )
    raise AssertionError("unreachable: the loop returns on its last hop")


def _refused(refusal: UrlPolicyError, url: str, *, redirected: bool) -> OutboundResult:
    """Map a policy refusal: DNS failure is a connection error, a refused hop a redirection problem."""
    if refusal.code == "dns":
        reason = CONNECTION_ERROR
    elif refusal.code == "blocked" or not redirected:
        reason = BLOCKED_DESTINATION
    else:
        reason = REDIRECTION
    detail = f"The server redirected to {url}, which is refused: {refusal.reason}" if redirected else refusal.reason
    return OutboundResult(None, error_reason=reason, error_detail=detail, final_url=url)


def _send_pinned(hop: _Hop, checked: CheckedURL, deadline: _Deadline) -> requests.Response:
    remaining = deadline.remaining()
    if remaining <= 0:
        raise requests.Timeout("the deadline passed before connecting")
    request = _PinnedRequest(checked)
    auth = (hop.auth[0].encode(), hop.auth[1].encode()) if hop.auth else None  # RFC 7617: UTF-8
    request.prepare(method=hop.method, url=hop.url, headers=hop.headers, data=hop.body, auth=auth)
    request.headers["Host"] = checked.netloc
    return _adapter().send(request, stream=True, timeout=(remaining, remaining), verify=_ca_bundle(), proxies={})


def _read(
    response: requests.Response, method: str, host: str, deadline: _Deadline, max_bytes: int, url: str
) -> OutboundResult:
    """Stream the body until the end, the byte limit or the deadline, whichever comes first."""

    def outcome(body: bytes = b"", reason: str | None = None, detail: str = "") -> OutboundResult:
        return OutboundResult(
            response.status_code,
            headers=dict(response.headers),
            body=body,
            error_reason=reason,
            error_detail=detail,
            final_url=url,
        )

    too_large = f"The answer from {host} is larger than the limit of {max_bytes} bytes"
    declared = response.headers.get("Content-Length", "")
    announced = whole_number(declared)
    if method != "HEAD" and announced is not None and announced > max_bytes:
        return outcome(reason=RESPONSE_TOO_LARGE, detail=f"{too_large} (it announced {declared} bytes).")
    deadline.watch_response(response.raw)
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := response.raw.read1(_READ_CHUNK, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                return outcome(reason=RESPONSE_TOO_LARGE, detail=f"{too_large}; reading stopped there.")
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError) as error:
        reason, detail = _describe_failure(error, host, deadline, reading=True)
        return outcome(reason=reason, detail=detail)
    if deadline.expired:  # the cut socket looked like the end of a close-delimited body
        return outcome(reason=TIMEOUT, detail=_timeout_detail(host, deadline))
    return outcome(body=b"".join(chunks))


def _redirect_location(response: requests.Response) -> str | None:
    location = response.headers.get("Location")
    if response.status_code not in _REDIRECT_STATUSES or not location:
        return None
    try:
        return location.encode("latin-1").decode()  # http.client decoded the raw UTF-8 bytes as latin-1
    except UnicodeError:
        return location


def _keeps_credentials(old_url: str, new_url: str) -> bool:
    """Credentials follow a redirect on the same origin, or an http→https upgrade on default ports."""
    old, new = _origin(old_url), _origin(new_url)
    if old == new:
        return True
    return old[1] == new[1] and old == ("http", old[1], 80) and new == ("https", new[1], 443)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return scheme, parts.hostname or "", port


# Describing failures in sentences (never with credentials).


def _describe_failure(
    error: BaseException, host: str, deadline: _Deadline, *, reading: bool = False
) -> tuple[str, str]:
    causes = list(_causes(error))
    if deadline.expired:
        return TIMEOUT, _timeout_detail(host, deadline)
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError | CertificateError):
            why = getattr(cause, "verify_message", None) or str(cause) or "verification failed"
            return CONNECTION_ERROR, f"Could not connect to {host}: its TLS certificate could not be verified ({why})."
        if isinstance(cause, ConnectionRefusedError):
            return CONNECTION_ERROR, f"Could not connect to {host}: connection refused."
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            return CONNECTION_ERROR, f"Could not connect to {host}: the TLS handshake failed ({cause.reason or cause})."
        # urllib3's NewConnectionError is a ConnectTimeoutError for history's sake; it is not a timeout.
        if isinstance(cause, _TIMEOUT_ERRORS) and not isinstance(cause, urllib3.exceptions.NewConnectionError):
            return TIMEOUT, _timeout_detail(host, deadline)
    if reading:
        return CONNECTION_ERROR, f"The connection to {host} broke while reading the answer."
    for cause in causes:
        if isinstance(cause, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError):
            return CONNECTION_ERROR, f"Could not connect to {host}: the server closed the connection without answering."
        if isinstance(cause, OSError) and cause.strerror:
            return CONNECTION_ERROR, f"Could not connect to {host}: {cause.strerror.lower()}."
        if type(cause) is OSError and cause.args:  # e.g. requests: "Could not find a suitable TLS CA ..."
            return CONNECTION_ERROR, f"Could not connect to {host}: {cause}."
    if isinstance(error, requests.exceptions.InvalidHeader | requests.exceptions.InvalidURL | ValueError):
        return CONNECTION_ERROR, f"The request to {host} could not be built: {error}."
    return CONNECTION_ERROR, f"Could not connect to {host} ({type(error).__name__})."


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (requests and urllib3 nest the real cause several levels deep)."""
    pending, seen = [error], set()
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        nested = [current.__cause__, current.__context__, getattr(current, "reason", None), *current.args]
        pending.extend(item for item in nested if isinstance(item, BaseException))


def _timeout_detail(host: str, deadline: _Deadline) -> str:
    return f"The request to {host} did not finish within the {deadline.seconds:.3g}-second deadline."


def _redact(text: str, *, secrets: Sequence[str]) -> str:
    """`text` with each secret, as written or URL-encoded (a redirect's URL), shown as "***"."""
    for secret in secrets:
        if len(secret) >= 4:  # shorter strings would garble the sentence more than they could reveal
            for spelling in {secret, quote(secret, safe=""), quote_plus(secret)}:
                text = text.replace(spelling, "***")
    return text


# URLs.


def _with_params(url: str, params: Sequence[tuple[str, str]] | None) -> str:
    if not params:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # the policy will say what is wrong with it
    extra = urlencode(list(params))
    return urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))


def _auth_from_url(url: str) -> tuple[str, str] | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def _password_in(url: str) -> str:
    auth = _auth_from_url(url)
    return auth[1] if auth else ""


def _without_userinfo(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.rpartition("@")[2] if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _ca_bundle() -> str | bool:
    """Honour REQUESTS_CA_BUNDLE (and CURL_CA_BUNDLE) as requests does, without its proxy settings."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


# The total deadline.

_watching = threading.local()


def _current_deadline() -> _Deadline | None:
    return getattr(_watching, "deadline", None)


class _Deadline:
    """The total time budget of one ``send_request`` call.

    A socket timeout restarts with every byte received, so a server dripping one byte a second
    would never trip it. Instead the watchdog shuts down the sockets this call is using when the
    budget runs out; that wakes any blocked read at once (TLS handshake, headers or body).
    Connections register themselves (``_WatchedConnectionMixin``) through a thread-local, which
    is safe because each thread has its own pool (``_adapter()``).
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._finished = False
        self._connections: list[HTTPConnection] = []
        self._sockets: list[socket.socket] = []
        self._responses: list[urllib3.BaseHTTPResponse] = []

    def __enter__(self) -> _Deadline:
        _watching.deadline = self
        _watchdog.watch(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _watching.deadline = None
        with self._lock:
            self._finished = True
            self._connections.clear()  # the watchdog keeps this object until it is due
            self._sockets.clear()
            self._responses.clear()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def watch_connection(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connections.append(connection)
            if not self.expired:
                return
        _cut(connection)

    def watch_socket(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if not self.expired:
                return
        _shut_down(sock)

    def forget_socket(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` before closing it, so the watchdog never touches a closed handle."""
        with self._lock:
            self._sockets.remove(sock)

    def watch_response(self, response: urllib3.BaseHTTPResponse) -> None:
        """Also watch the response: after a ``Connection: close`` answer urllib3 hands the socket to it."""
        with self._lock:
            self._responses.append(response)

    def expire(self) -> None:
        """Called by the watchdog at the deadline; does nothing once the call has finished."""
        with self._lock:
            if self._finished:
                return
            self.expired = True
            for connection in self._connections:
                _cut(connection)
            for sock in self._sockets:
                _shut_down(sock)
            for response in self._responses:
                with contextlib.suppress(ValueError, OSError):  # already released or closed
                    response.shutdown()


class _Watchdog:
    """One thread that expires deadlines when they are due.

    A ``threading.Timer`` per request would cost a thread start (most of a millisecond), more than
    a whole request to a nearby server. Finished deadlines stay in the heap until due, then drop.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a forked worker needs its own thread

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: _Deadline) -> None:
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="outbound-deadlines", daemon=True)
                self._thread.start()
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._condition.notify()  # it is due before whatever the thread is waiting for

    def _run(self) -> None:
        condition, heap = self._condition, self._heap
        with condition:
            while True:
                if not heap:
                    condition.wait()
                    continue
                wait = heap[0][0] - time.monotonic()
                if wait > 0:
                    condition.wait(wait)
                    continue
                heapq.heappop(heap)[2].expire()


_watchdog = _Watchdog()


def _cut(connection: HTTPConnection) -> None:
    if connection.sock is not None:
        _shut_down(connection.sock)


def _shut_down(sock: socket.socket) -> None:
    # The plain socket method, also for TLS sockets: SSLSocket.shutdown would unwrap state that the
    # reading thread is still using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _WatchedConnectionMixin:
    """Registers the connection with the caller's deadline before it connects or sends.

    Both hooks are needed: urllib3 makes the TLS handshake of a new HTTPS connection before
    ``request()``, and a pooled connection is reused without ``connect()``.
    """

    def _watch(self) -> None:
        deadline = _current_deadline()
        if deadline is not None:
            deadline.watch_connection(self)  # type: ignore[arg-type]

    def connect(self) -> None:
        self._watch()
        super().connect()  # type: ignore[misc]

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._watch()
        super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTPConnection(_WatchedConnectionMixin, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnectionMixin, HTTPSConnection):
    """Also cut during the TLS handshake: wrapping detaches ``self.sock``, so a duplicate handle of
    the same connection is watched until ``connect()`` returns with the TLS socket in place."""

    _handshake_socket: socket.socket | None = None

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        deadline = _current_deadline()
        if deadline is not None:
            self._handshake_socket = sock.dup()
            deadline.watch_socket(self._handshake_socket)
        return sock

    def connect(self) -> None:
        try:
            super().connect()
        finally:
            handshake, self._handshake_socket = self._handshake_socket, None
            deadline = _current_deadline()
            if handshake is not None:
                if deadline is not None:
                    deadline.forget_socket(handshake)
                handshake.close()


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


# Connecting to the checked address.


class _PinnedRequest(requests.PreparedRequest):
    """A prepared request carrying the policy's verdict, so the adapter knows where to connect."""

    def __init__(self, checked: CheckedURL) -> None:
        super().__init__()
        self.checked = checked

    def prepare_url(self, url: str, params: Any) -> None:
        """requests' URL, with dot segments that were percent-encoded encoded again.

        requests re-quotes the URL and so decodes "%2E" to "."; a segment "%2E%2E" (a value
        "..", see phonon.lib.templating) would go out as "..", which the receiver resolves:
        "/customers/%2E%2E/orders" would reach "/orders". Literal dot segments are resolved
        before this point (RFC 3986), so any "." or ".." segment left was encoded.
        """
        super().prepare_url(url, params)
        parts = urlsplit(self.url)
        segments = parts.path.split("/")
        if "." in segments or ".." in segments:
            path = "/".join(ENCODED_DOT_SEGMENTS.get(segment, segment) for segment in segments)
            self.url = urlunsplit(parts._replace(path=path))


class _PinnedAdapter(HTTPAdapter):
    """Connects to the checked address, never a fresh DNS answer; Host, SNI and TLS checks use the real name."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if not isinstance(request, _PinnedRequest):
            raise ValueError("The outbound adapter only sends requests whose URL the policy checked.")
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        checked = request.checked
        address = checked.addresses[0]
        # Scheme and port from the policy's own parse too, so no parser difference can move the connection.
        host_params["scheme"], host_params["port"] = checked.scheme, checked.port
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        if checked.scheme == "https":
            # Both are part of urllib3's pool key, so two names on one address never share a connection.
            pool_kwargs["server_hostname"] = checked.host
            pool_kwargs["assert_hostname"] = checked.host
        return host_params, pool_kwargs


_local = threading.local()


def _adapter() -> _PinnedAdapter:
    """This thread's adapter (and connection pools); a forked process starts afresh."""
    pid = os.getpid()
    if getattr(_local, "pid", None) != pid:
        _local.adapter, _local.pid = _PinnedAdapter(), pid
    return _local.adapter
