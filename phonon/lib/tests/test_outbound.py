"""The one outbound HTTP function, end to end against real local servers (and `responses` for request building)."""

import base64
import contextlib
import gzip
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import responses

from phonon.lib import outbound
from phonon.lib.outbound import (
    BLOCKED_DESTINATION,
    CONNECTION_ERROR,
    REDIRECTION,
    RESPONSE_TOO_LARGE,
    TIMEOUT,
    OutboundResult,
    probe_url,
    send_request,
)
from phonon.lib.testing.http_server import LocalHTTPServer, Reply, local_http_server, make_test_certificates
from phonon.lib.url_policy import parse_allowed_networks

LOCAL = parse_allowed_networks("127.0.0.0/8")
MiB = 1024 * 1024
# A deadline is met when the call returns within this much of it (timer wake-up, socket teardown).
MARGIN = 0.5


@pytest.fixture
def server():
    with local_http_server() as server:
        yield server


def send(url: str, method: str = "GET", **kwargs) -> OutboundResult:
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("allow_http", True)
    kwargs.setdefault("allowed_networks", LOCAL)
    kwargs.setdefault("max_bytes", MiB)
    return send_request(method, url, **kwargs)


def resolver(mapping: dict[str, list[str]]):
    """A DNS stand-in: ``mapping`` from name to addresses, counting the questions."""

    def resolve(host: str, port: int) -> list[str]:
        resolve.calls.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return mapping[host]

    resolve.calls = []
    return resolve


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Answers.


def test_it_returns_the_status_headers_and_body(server: LocalHTTPServer):
    server.reply("/hook", Reply(status=201, body='{"ok": true}', headers={"X-Request-Id": "abc"}))

    result = send(server.url("/hook"))

    assert result.status_code == 201
    assert result.body == b'{"ok": true}'
    assert result.headers["X-Request-Id"] == "abc"
    assert result.error_reason is None
    assert result.error_detail == ""
    assert result.final_url == server.url("/hook")
    assert result.ok


def test_an_error_status_is_an_answer_not_a_transport_error(server: LocalHTTPServer):
    server.reply("/hook", Reply(status=503, body="down"))

    result = send(server.url("/hook"))

    assert (result.status_code, result.body, result.error_reason) == (503, b"down", None)
    assert not result.ok


def test_it_measures_the_whole_request(server: LocalHTTPServer):
    server.reply("/slow", Reply(delay=0.2))

    result = send(server.url("/slow"))

    assert 0.2 <= result.duration < 0.2 + MARGIN


def test_it_sends_the_method_headers_and_body_as_given(server: LocalHTTPServer):
    result = send(
        server.url("/hook"),
        "PUT",
        headers={"Content-Type": "application/json", "X-Token": "a b/c?d", "User-Agent": "custom"},
        data='{"name": "Zoë"}',
    )

    request = server.requests[0]
    assert result.status_code == 404
    assert request.method == "PUT"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Token"] == "a b/c?d"
    assert request.headers["User-Agent"] == "custom"
    assert request.body == '{"name": "Zoë"}'.encode()


def test_it_appends_params_to_the_existing_query(server: LocalHTTPServer):
    send(server.url("/hook?a=1"), params=[("b", "x y&z"), ("b", "2"), ("c", "é")])

    assert server.requests[0].query == [("a", "1"), ("b", "x y&z"), ("b", "2"), ("c", "é")]


def test_it_sends_basic_auth_in_utf8(server: LocalHTTPServer):
    send(server.url("/hook"), auth=("agent", "pässword"))

    expected = base64.b64encode("agent:pässword".encode()).decode()
    assert server.requests[0].headers["Authorization"] == f"Basic {expected}"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"])
def test_it_sends_every_webhook_method(server: LocalHTTPServer, method: str):
    server.reply("/hook", Reply(body="answer"))

    result = send(server.url("/hook"), method)

    assert server.requests[0].method == method
    assert result.status_code == 200
    assert result.body == (b"" if method == "HEAD" else b"answer")


def test_it_reuses_connections(server: LocalHTTPServer):
    send(server.url("/one"))
    send(server.url("/two"))

    first, second = server.requests
    assert first.client_port == second.client_port


def test_it_decodes_compressed_answers(server: LocalHTTPServer):
    server.reply("/hook", Reply(body=gzip.compress(b"hello " * 100), headers={"Content-Encoding": "gzip"}))

    assert send(server.url("/hook")).body == b"hello " * 100


def test_it_reads_chunked_answers(server: LocalHTTPServer):
    chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    server.reply("/hook", Reply(body=chunked, headers={"Transfer-Encoding": "chunked"}, content_length=False))

    assert send(server.url("/hook")).body == b"hello world"
    assert send(server.url("/hook"), max_bytes=10).error_reason == RESPONSE_TOO_LARGE


def test_a_missing_ca_bundle_is_reported_not_raised(server: LocalHTTPServer, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")

    result = send(server.url("/hook").replace("http:", "https:"))

    assert result.error_reason == CONNECTION_ERROR
    assert "/nonexistent/ca.pem" in result.error_detail


def test_it_is_safe_to_call_from_many_threads(server: LocalHTTPServer):
    for number in range(8):
        server.reply(f"/t{number}", Reply(body=str(number)))
    results: dict[int, list[bytes]] = {}

    def work(number: int) -> None:
        results[number] = [send(server.url(f"/t{number}")).body for _ in range(5)]

    threads = [threading.Thread(target=work, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {number: [str(number).encode()] * 5 for number in range(8)}


# The URL policy in front of every request.


def test_it_refuses_a_blocked_destination_without_connecting(server: LocalHTTPServer):
    result = send(server.url("/hook"), allowed_networks=())

    assert result.status_code is None
    assert result.error_reason == BLOCKED_DESTINATION
    assert result.error_detail == "The host 127.0.0.1 is a loopback address; webhooks can only call public addresses."
    assert server.requests == []


def test_it_refuses_http_without_http_support(server: LocalHTTPServer):
    result = send(server.url("/hook"), allow_http=False)

    assert result.error_reason == BLOCKED_DESTINATION
    assert result.error_detail.startswith("Plain http:// is not allowed")
    assert server.requests == []


def test_a_name_that_does_not_resolve_is_a_connection_error():
    result = send("https://nowhere.test/hook", resolve=resolver({}))

    assert result.status_code is None
    assert result.error_reason == CONNECTION_ERROR
    assert "could not be found (DNS lookup failed)" in result.error_detail


def test_a_closed_port_is_a_connection_error():
    result = send(f"http://127.0.0.1:{free_port()}/hook")

    assert result.status_code is None
    assert result.error_reason == CONNECTION_ERROR
    assert result.error_detail == "Could not connect to 127.0.0.1: connection refused."


def test_it_connects_to_the_checked_address_when_the_dns_answer_changes(server: LocalHTTPServer):
    # First answer: the local server (allowed). Any later answer points somewhere nothing listens.
    answers = iter([["127.0.0.1"]])

    def rebinding(host: str, port: int) -> list[str]:
        rebinding.calls += 1
        return next(answers, ["127.0.0.2"])

    rebinding.calls = 0
    server.reply("/hook", Reply(body="from the checked address"))

    result = send(server.url("/hook", host="rebind.test"), resolve=rebinding)

    assert result.body == b"from the checked address"
    assert rebinding.calls == 1
    assert server.requests[0].headers["Host"] == f"rebind.test:{server.port}"


def test_it_never_asks_the_system_resolver_for_a_checked_name(server: LocalHTTPServer, monkeypatch):
    def no_system_dns(*args, **kwargs):
        raise AssertionError("the connection must use the checked address, not a new lookup")

    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *args, **kwargs: (
            no_system_dns() if host == "pinned.test" else real_getaddrinfo(host, *args, **kwargs)
        ),
    )

    result = send(server.url("/", host="pinned.test"), resolve=resolver({"pinned.test": ["127.0.0.1"]}))

    assert result.status_code == 404
    assert server.requests[0].headers["Host"] == f"pinned.test:{server.port}"


# Redirects.


def test_it_follows_redirects(server: LocalHTTPServer):
    server.reply("/old", Reply.redirect("/new"))
    server.reply("/new", Reply(body="moved here"))

    result = send(server.url("/old"))

    assert (result.status_code, result.body) == (200, b"moved here")
    assert result.final_url == server.url("/new")
    assert [request.path for request in server.requests] == ["/old", "/new"]


@pytest.mark.parametrize(
    ("status", "method", "then"),
    [
        (301, "POST", "GET"),
        (302, "POST", "GET"),
        (303, "POST", "GET"),
        (303, "PUT", "GET"),
        (303, "HEAD", "HEAD"),
        (307, "POST", "POST"),
        (308, "PUT", "PUT"),
        (301, "PUT", "PUT"),
        (302, "DELETE", "DELETE"),
    ],
)
def test_redirects_change_the_method_as_browsers_do(server: LocalHTTPServer, status: int, method: str, then: str):
    server.reply("/old", Reply.redirect("/new", status=status))

    send(server.url("/old"), method, data=b"payload", headers={"Content-Type": "text/plain"})

    followed = server.requests_to("/new")[0]
    assert followed.method == then
    if then == method:
        assert followed.body == b"payload"
    else:
        assert followed.body == b""
        assert "Content-Type" not in followed.headers


def test_it_stops_after_max_redirects(server: LocalHTTPServer):
    for hop in range(4):
        server.reply(f"/r{hop}", Reply.redirect(f"/r{hop + 1}"))

    result = send(server.url("/r0"), max_redirects=2)

    assert result.error_reason == REDIRECTION
    assert result.status_code == 302
    assert result.error_detail == f"Stopped after 2 redirects; 127.0.0.1 kept redirecting (to {server.url('/r3')})."
    assert [request.path for request in server.requests] == ["/r0", "/r1", "/r2"]


def test_with_no_redirects_allowed_a_redirect_is_the_answer(server: LocalHTTPServer):
    server.reply("/hook", Reply.redirect("/elsewhere", status=307))

    result = send(server.url("/hook"), "POST", data=b"{}", max_redirects=0)

    assert (result.status_code, result.error_reason) == (307, REDIRECTION)
    assert (
        result.error_detail
        == f"127.0.0.1 answered 307, a redirect to {server.url('/elsewhere')}, which is not followed."
    )
    assert [request.path for request in server.requests] == ["/hook"]


def test_it_follows_five_redirects_by_default(server: LocalHTTPServer):
    for hop in range(5):
        server.reply(f"/r{hop}", Reply.redirect(f"/r{hop + 1}"))
    server.reply("/r5", Reply(body="arrived"))

    assert send(server.url("/r0")).body == b"arrived"
    server.reply("/r5", Reply.redirect("/r6"))
    assert send(server.url("/r0")).error_reason == REDIRECTION


def test_a_3xx_without_location_is_the_answer(server: LocalHTTPServer):
    server.reply("/hook", Reply(status=304))

    result = send(server.url("/hook"))

    assert (result.status_code, result.error_reason) == (304, None)


def test_it_refuses_a_redirect_to_a_private_address(server: LocalHTTPServer):
    server.reply("/hook", Reply.redirect("http://169.254.169.254/latest/meta-data/"))

    result = send(server.url("/hook"), allowed_networks=parse_allowed_networks("127.0.0.1/32"))

    assert result.status_code is None
    assert result.error_reason == BLOCKED_DESTINATION
    assert result.error_detail == (
        "The server redirected to http://169.254.169.254/latest/meta-data/, which is refused: "
        "The host 169.254.169.254 is a link-local address; webhooks can only call public addresses."
    )
    assert result.final_url == "http://169.254.169.254/latest/meta-data/"


def test_it_refuses_a_redirect_to_a_name_whose_dns_answer_is_private(server: LocalHTTPServer):
    server.reply("/hook", Reply.redirect(f"http://internal.test:{server.port}/admin"))
    resolve = resolver({"allowed.test": ["127.0.0.1"], "internal.test": ["127.0.0.2"]})

    result = send(
        server.url("/hook", host="allowed.test"),
        allowed_networks=parse_allowed_networks("127.0.0.1/32"),
        resolve=resolve,
    )

    assert result.error_reason == BLOCKED_DESTINATION
    assert "The host internal.test resolves to 127.0.0.2, a loopback address" in result.error_detail
    assert resolve.calls == ["allowed.test", "internal.test"]
    assert [request.path for request in server.requests] == ["/hook"]


def test_it_keeps_credentials_on_the_same_host_only(server: LocalHTTPServer):
    server.reply("/same", Reply.redirect("/target"))
    server.reply("/cross", Reply.redirect(f"http://other.test:{server.port}/target"))
    resolve = resolver({"other.test": ["127.0.0.1"]})
    headers = {"Authorization": "Bearer t", "Cookie": "s=1", "X-Api-Key": "private", "X-Trace": "kept"}

    send(server.url("/same"), auth=("user", "pass"), resolve=resolve)
    send(server.url("/cross"), auth=("user", "pass"), resolve=resolve)
    send(server.url("/cross"), headers=headers, private_headers=["x-api-key"], resolve=resolve)
    send(server.url("/same"), headers=headers, private_headers=["x-api-key"], resolve=resolve)

    same, cross_auth, cross_header, same_header = server.requests_to("/target")
    assert same.headers["Authorization"].startswith("Basic ")
    assert "Authorization" not in cross_auth.headers
    assert [name for name in ("Authorization", "Cookie", "X-Api-Key") if name in cross_header.headers] == []
    assert cross_header.headers["X-Trace"] == "kept"
    assert cross_header.headers["Host"] == f"other.test:{server.port}"
    assert (same_header.headers["Cookie"], same_header.headers["X-Api-Key"]) == ("s=1", "private")


def test_a_redirect_to_an_unreachable_host_is_a_connection_error(server: LocalHTTPServer):
    server.reply("/hook", Reply.redirect(f"http://127.0.0.1:{free_port()}/"))

    result = send(server.url("/hook"))

    assert (result.status_code, result.error_reason) == (None, CONNECTION_ERROR)


# The total deadline.


def test_the_deadline_cuts_a_server_dripping_its_body(server: LocalHTTPServer):
    # One byte every 0.2 s never trips a per-read timeout; only a total deadline stops it.
    server.reply("/drip", Reply(body=b"x" * 100, drip=0.2))

    result = send(server.url("/drip"), timeout=1)

    assert result.error_reason == TIMEOUT
    assert result.error_detail == "The request to 127.0.0.1 did not finish within the 1-second deadline."
    assert result.status_code == 200
    assert result.body == b""
    assert 1 <= result.duration < 1 + MARGIN


def test_the_deadline_cuts_a_dripping_body_without_content_length(server: LocalHTTPServer):
    # The cut socket looks like the end of a close-delimited body: it must still be a timeout.
    server.reply("/drip", Reply(body=[b"x" * 100], drip=0.2))

    result = send(server.url("/drip"), timeout=1)

    assert result.error_reason == TIMEOUT
    assert result.duration < 1 + MARGIN


def test_the_deadline_cuts_a_server_dripping_its_headers(server: LocalHTTPServer):
    server.reply("/drip", Reply(body=b"x", drip=0.1, drip_headers=True))

    result = send(server.url("/drip"), timeout=1)

    assert (result.status_code, result.error_reason) == (None, TIMEOUT)
    assert result.duration < 1 + MARGIN


def test_the_deadline_cuts_a_server_that_never_answers(server: LocalHTTPServer):
    server.reply("/hook", Reply(delay=10))

    result = send(server.url("/hook"), timeout=0.5)

    assert (result.status_code, result.error_reason) == (None, TIMEOUT)
    assert result.duration < 0.5 + MARGIN


def test_the_deadline_covers_every_redirect_hop(server: LocalHTTPServer):
    # Each hop alone fits in the timeout; together they do not.
    for hop in range(3):
        server.reply(f"/r{hop}", Reply.redirect(f"/r{hop + 1}", status=307))
    server.reply("/r0", Reply(status=307, headers={"Location": "/r1"}, delay=0.3))
    server.reply("/r1", Reply(status=307, headers={"Location": "/r2"}, delay=0.3))
    server.reply("/r2", Reply(body="late", delay=0.3))

    result = send(server.url("/r0"), timeout=0.7)

    assert result.error_reason == TIMEOUT
    assert result.duration < 0.7 + MARGIN


def test_each_call_is_cut_at_its_own_deadline(server: LocalHTTPServer):
    # The later call has the earlier deadline: the shared watchdog must not wait for the first one.
    server.reply("/drip", Reply(body=b"x" * 100, drip=0.1))
    durations: dict[float, float] = {}

    def call(timeout: float) -> None:
        result = send(server.url("/drip"), timeout=timeout)
        assert result.error_reason == TIMEOUT
        durations[timeout] = result.duration

    threads = [threading.Thread(target=call, args=(timeout,)) for timeout in (1.0, 0.3, 0.6)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join()

    assert sorted(durations) == [0.3, 0.6, 1.0]
    for timeout, duration in durations.items():
        assert timeout <= duration < timeout + MARGIN


@contextlib.contextmanager
def one_connection(handle) -> Iterator[int]:
    """A port whose first connection `handle(connection)` serves in a thread: raw bytes, as no
    HTTP server would write them. The connection closes when `handle` returns."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def serve() -> None:
            connection, _ = listener.accept()
            with connection:
                handle(connection)

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            yield listener.getsockname()[1]
        finally:
            thread.join(timeout=5)


def test_the_deadline_cuts_a_server_dripping_its_tls_handshake():
    # A TLS record header announcing 16 KiB, then one byte every 0.1 s: OpenSSL waits for the whole record.
    stop = threading.Event()

    def drip_handshake(connection: socket.socket) -> None:
        connection.recv(65536)  # the ClientHello
        connection.sendall(b"\x16\x03\x03\x40\x00")
        with contextlib.suppress(OSError):
            while not stop.wait(0.1):
                connection.sendall(b"\x00")

    with one_connection(drip_handshake) as port:
        try:
            result = send(f"https://127.0.0.1:{port}/", timeout=0.6)
        finally:
            stop.set()

    assert (result.status_code, result.error_reason) == (None, TIMEOUT)
    assert result.duration < 0.6 + MARGIN


def test_a_slow_dns_lookup_is_cut_at_the_deadline(server: LocalHTTPServer):
    """getaddrinfo() cannot be interrupted; the call stops waiting for it when its time is up."""

    def slow_resolver(host: str, port: int) -> list[str]:
        time.sleep(2)
        return ["127.0.0.1"]

    result = send(server.url("/hook", host="slow.test"), timeout=0.5, resolve=slow_resolver)

    assert (result.status_code, result.error_reason) == (None, TIMEOUT)
    assert result.error_detail == "The DNS lookup of slow.test did not finish within the 0.5-second deadline."
    assert result.duration < 0.5 + MARGIN
    assert server.requests == []


def test_slow_lookups_of_many_calls_at_once_do_not_wait_for_one_another(server: LocalHTTPServer):
    server.reply("/hook", Reply(body="{}"))

    def slow_resolver(host: str, port: int) -> list[str]:
        time.sleep(0.5)
        return ["127.0.0.1"]

    url = server.url("/hook", host="slow.test")
    with ThreadPoolExecutor(max_workers=60) as calls:
        results = list(calls.map(lambda _: send(url, timeout=2, resolve=slow_resolver), range(60)))

    assert {result.error_reason for result in results} == {None}


def test_a_quick_answer_is_not_cut_later(server: LocalHTTPServer):
    server.reply("/hook", Reply(body="quick"))

    send(server.url("/hook"), timeout=5)  # warm: a loaded machine's first request can be slow
    first = send(server.url("/hook"), timeout=1)
    time.sleep(1.1)  # the first call's deadline passes while its connection rests in the pool
    second = send(server.url("/hook"), timeout=5)

    assert (first.body, second.body, second.error_reason) == (b"quick", b"quick", None)


# The size limit.


def test_an_announced_oversize_answer_fails_at_once(server: LocalHTTPServer):
    endless = itertools.repeat(b"x" * 65536)
    server.reply("/big", Reply(body=endless, headers={"Content-Length": str(100 * MiB)}))

    result = send(server.url("/big"), max_bytes=MiB)

    assert result.error_reason == RESPONSE_TOO_LARGE
    assert result.error_detail == (
        f"The answer from 127.0.0.1 is larger than the limit of {MiB} bytes (it announced {100 * MiB} bytes)."
    )
    assert result.status_code == 200
    assert result.body == b""


def test_it_stops_reading_an_endless_answer_at_the_limit(server: LocalHTTPServer):
    server.reply("/endless", Reply(body=itertools.repeat(b"x" * 65536)))  # no Content-Length, never ends

    result = send(server.url("/endless"), max_bytes=MiB, timeout=5)

    assert result.error_reason == RESPONSE_TOO_LARGE
    assert (
        result.error_detail
        == f"The answer from 127.0.0.1 is larger than the limit of {MiB} bytes; reading stopped there."
    )
    assert result.duration < 2


def test_an_answer_of_exactly_the_limit_is_fine(server: LocalHTTPServer):
    server.reply("/exact", Reply(body=b"x" * 1000))

    assert send(server.url("/exact"), max_bytes=1000).body == b"x" * 1000
    assert send(server.url("/exact"), max_bytes=999).error_reason == RESPONSE_TOO_LARGE


def test_the_limit_counts_decompressed_bytes(server: LocalHTTPServer):
    bomb = gzip.compress(b"\0" * (20 * MiB))  # about 20 KiB on the wire
    server.reply("/bomb", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))

    result = send(server.url("/bomb"), max_bytes=MiB)

    assert result.error_reason == RESPONSE_TOO_LARGE


def test_a_head_answer_announcing_a_large_body_is_fine(server: LocalHTTPServer):
    server.reply("/hook", Reply(headers={"Content-Length": str(100 * MiB)}))

    result = send(server.url("/hook"), "HEAD", max_bytes=MiB)

    assert (result.status_code, result.error_reason) == (200, None)


# Failing without raising, and without leaking secrets.


def test_a_header_that_cannot_be_sent_is_reported_not_raised(server: LocalHTTPServer):
    result = send(server.url("/hook"), headers={"X-Bad": "line\r\nInjected: yes"})

    assert result.error_reason == CONNECTION_ERROR
    assert result.error_detail.startswith("The request to 127.0.0.1 could not be built")
    assert server.requests == []


def test_malformed_urls_are_reported_not_raised(server: LocalHTTPServer):
    server.reply("/hook", Reply.redirect("http://[::1"))

    malformed = send("http://[::1", params=[("a", "b")])
    bad_location = send(server.url("/hook"))

    assert malformed.error_reason == BLOCKED_DESTINATION
    assert malformed.error_detail.startswith("The URL is not valid")
    assert (bad_location.status_code, bad_location.error_reason) == (302, REDIRECTION)
    assert bad_location.error_detail == "127.0.0.1 redirected to an invalid URL."


def test_a_content_length_of_a_digit_that_is_no_number_is_ignored():
    """The byte 0xB2 reads as "²": a digit to str.isdigit(), no number to int()."""

    def answer(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\nConnection: close\r\n\r\n{}")

    with one_connection(answer) as port:
        result = send(f"http://127.0.0.1:{port}/hook")

    assert (result.status_code, result.error_reason, result.body) == (200, None, b"{}")


def test_what_nothing_foresaw_in_an_answer_is_a_connection_error_never_a_crash(server: LocalHTTPServer, monkeypatch):
    server.reply("/hook", Reply(body="{}"))

    def unforeseen(*args, **kwargs):
        raise ValueError("a byte nobody expected")

    monkeypatch.setattr(outbound, "_read", unforeseen)
    result = send(server.url("/hook"))

    assert (result.status_code, result.error_reason) == (None, CONNECTION_ERROR)
    assert result.error_detail == "The answer could not be read: a byte nobody expected."


def test_a_server_hanging_up_is_a_connection_error():
    with one_connection(lambda connection: connection.recv(65536)) as port:
        result = send(f"http://127.0.0.1:{port}/hook")

    assert result.error_reason == CONNECTION_ERROR
    assert result.error_detail == "Could not connect to 127.0.0.1: the server closed the connection without answering."


def test_credentials_in_the_url_are_sent_but_never_shown(server: LocalHTTPServer):
    url = server.url("/hook").replace("://", "://agent:s3cret-pass@")

    sent = send(url)
    refused = send(url.replace("127.0.0.1", "10.0.0.1"))

    assert server.requests[0].headers["Authorization"] == "Basic " + base64.b64encode(b"agent:s3cret-pass").decode()
    assert sent.final_url == server.url("/hook")
    assert "s3cret" not in refused.error_detail + refused.final_url


# TLS.


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    return make_test_certificates(tmp_path_factory.mktemp("tls"), ["api.phonon.test"])


@pytest.fixture
def https_server(certificates):
    with local_http_server(tls=certificates) as server:
        yield server


@pytest.fixture
def no_ca_bundle(monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


TLS_NAMES = resolver({"api.phonon.test": ["127.0.0.1"], "other.phonon.test": ["127.0.0.1"]})


def test_tls_is_verified(https_server: LocalHTTPServer, no_ca_bundle):
    result = send(https_server.url("/hook", host="api.phonon.test"), resolve=TLS_NAMES, allow_http=False)

    assert result.status_code is None
    assert result.error_reason == CONNECTION_ERROR
    assert result.error_detail.startswith(
        "Could not connect to api.phonon.test: its TLS certificate could not be verified"
    )
    assert https_server.requests == []


def test_it_trusts_the_ca_bundle_named_by_requests_ca_bundle(https_server: LocalHTTPServer, certificates, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_path))
    https_server.reply("/hook", Reply(body="secure"))

    result = send(https_server.url("/hook", host="api.phonon.test"), resolve=TLS_NAMES, allow_http=False)

    assert (result.status_code, result.body) == (200, b"secure")
    assert https_server.requests[0].headers["Host"] == f"api.phonon.test:{https_server.port}"


def test_the_certificate_must_match_the_name_not_the_address(https_server: LocalHTTPServer, certificates, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_path))

    by_other_name = send(https_server.url("/hook", host="other.phonon.test"), resolve=TLS_NAMES, allow_http=False)
    by_address = send(https_server.url("/hook"), allow_http=False)

    assert by_other_name.error_reason == CONNECTION_ERROR
    assert by_other_name.error_detail == (
        "Could not connect to other.phonon.test: its TLS certificate could not be verified "
        "(hostname 'other.phonon.test' doesn't match 'api.phonon.test')."
    )
    assert by_address.error_reason == CONNECTION_ERROR
    assert https_server.requests == []


def test_a_redirect_from_https_to_http_needs_http_support(
    https_server: LocalHTTPServer, server: LocalHTTPServer, certificates, monkeypatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_path))
    https_server.reply("/hook", Reply.redirect(server.url("/plain")))
    server.reply("/plain", Reply(body="plain"))
    url = https_server.url("/hook", host="api.phonon.test")

    refused = send(url, resolve=TLS_NAMES, allow_http=False)
    followed = send(url, resolve=TLS_NAMES, allow_http=True)

    assert refused.error_reason == REDIRECTION
    assert refused.error_detail.startswith(f"The server redirected to {server.url('/plain')}, which is refused: Plain")
    assert followed.body == b"plain"
    assert len(server.requests) == 1


# The check button.


def test_probe_says_a_reachable_url_is_reachable(server: LocalHTTPServer):
    server.reply("/hook", Reply(status=200))
    assert probe_url(server.url("/hook"), allow_http=True, allowed_networks=LOCAL) == (
        True,
        "The URL is reachable.",
        200,
        "",
    )
    assert server.requests[0].method == "HEAD"


@pytest.mark.parametrize("status", [200, 301, 404, 405, 500])
def test_probe_counts_any_http_answer_as_reachable(server: LocalHTTPServer, status: int):
    server.reply("/hook", Reply(status=status, headers={"Location": "/hook"}))

    probe = probe_url(server.url("/hook"), allow_http=True, allowed_networks=LOCAL)

    assert (probe.ok, probe.reason, probe.status_code) == (True, "The URL is reachable.", status)


@pytest.mark.parametrize(
    "status, warning",
    [
        (200, ""),
        (404, "The URL answered 404 Not Found, a client error: check the path and the authentication."),
        (500, "The URL answered 500 Internal Server Error, a server error: the endpoint is reachable but failing."),
        (599, "The URL answered 599, a server error: the endpoint is reachable but failing."),
    ],
)
def test_probe_warns_of_an_error_answer_naming_its_code(server: LocalHTTPServer, status: int, warning: str):
    server.reply("/hook", Reply(status=status))

    assert probe_url(server.url("/hook"), allow_http=True, allowed_networks=LOCAL).warning == warning


def test_probe_gives_the_policy_reason():
    ok, reason, *_ = probe_url("https://10.0.0.1/hook", allow_http=False, allowed_networks=LOCAL)

    assert not ok
    assert reason == "The host 10.0.0.1 is a private address; webhooks can only call public addresses."


def test_probe_says_when_nothing_listens():
    ok, reason, *_ = probe_url(f"http://127.0.0.1:{free_port()}/", allow_http=True, allowed_networks=LOCAL)

    assert (ok, reason) == (False, "Could not connect to 127.0.0.1: connection refused.")


def test_probe_says_when_the_server_does_not_answer_in_time(server: LocalHTTPServer):
    server.reply("/hook", Reply(delay=5))

    ok, reason, *_ = probe_url(server.url("/hook"), allow_http=True, allowed_networks=LOCAL, timeout=0.3)

    assert (ok, reason) == (False, "The request to 127.0.0.1 did not finish within the 0.3-second deadline.")


def test_probe_refuses_a_url_redirecting_to_a_blocked_address(server: LocalHTTPServer):
    server.reply("/hook", Reply.redirect("http://192.168.1.1/"))

    ok, reason, *_ = probe_url(server.url("/hook"), allow_http=True, allowed_networks=LOCAL)

    assert not ok
    assert reason.endswith("The host 192.168.1.1 is a private address; webhooks can only call public addresses.")


# Request building, with `responses` (no socket; the policy still runs first).

PUBLIC_DNS = resolver({"api.example.com": ["93.184.215.14"]})


@responses.activate
def test_it_builds_the_request_url_headers_and_body():
    responses.post("https://api.example.com/hook", body="done")

    result = send(
        "https://api.example.com/hook?existing=1",
        "POST",
        params=[("q", "a&b=c"), ("empty", "")],
        headers={"Accept": "application/json"},
        data=b"\x00binary",
        resolve=PUBLIC_DNS,
        allow_http=False,
    )

    request = responses.calls[0].request
    assert result.body == b"done"
    assert request.url == "https://api.example.com/hook?existing=1&q=a%26b%3Dc&empty="
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Host"] == "api.example.com"
    assert request.headers["User-Agent"] == "Phonon-Webhooks/1.0"
    assert "Content-Type" not in request.headers
    assert request.body == b"\x00binary"


@responses.activate
def test_it_sends_no_body_when_there_is_none():
    responses.get("https://api.example.com/hook")

    send("https://api.example.com/hook", resolve=PUBLIC_DNS, allow_http=False)

    request = responses.calls[0].request
    assert request.body is None
    assert "Content-Length" not in request.headers


@responses.activate
def test_the_policy_runs_before_responses_would_answer():
    responses.get("https://internal.example.com/hook")

    result = send("https://internal.example.com/hook", resolve=resolver({"internal.example.com": ["10.0.0.7"]}))

    assert result.error_reason == BLOCKED_DESTINATION
    assert len(responses.calls) == 0


def test_ok_means_a_2xx_answer_without_error():
    assert OutboundResult(200).ok
    assert OutboundResult(299).ok
    assert not OutboundResult(302).ok
    assert not OutboundResult(404).ok
    assert not OutboundResult(None, error_reason=TIMEOUT).ok
    assert not OutboundResult(200, error_reason=RESPONSE_TOO_LARGE).ok


# The path as sent.


@pytest.mark.parametrize(
    "path",
    [
        "/customers/%2E%2E/orders",
        "/customers/%2E/orders",
        "/customers/%2e%2E/orders",
        "/customers/%2E%2E",
        "/customers/%2E%2E/%2E%2E/orders?x=..",
        "/a/%2F/b",
        "/a/%41b",
    ],
)
def test_an_encoded_path_arrives_as_sent(server: LocalHTTPServer, path: str):
    """requests re-quotes a URL and decodes %2E back to ".", which the receiver would then
    collapse: "/customers/%2E%2E/orders" must not arrive as "/customers/../orders"."""
    server.reply("*", Reply(status=204))

    send(server.url(path), params=[("n", "1")])

    arrived = server.requests[0].path
    expected = path.replace("%2e", "%2E").replace("%41", "A")  # other unreserved characters may be decoded
    assert arrived == expected + ("&" if "?" in path else "?") + "n=1"


def test_a_literal_dot_segment_in_a_url_is_still_resolved(server: LocalHTTPServer):
    server.reply("*", Reply(status=204))

    send(server.url("/customers/../orders/./1"))

    assert server.requests[0].path == "/orders/1"
