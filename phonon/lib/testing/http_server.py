"""A real HTTP(S) server on 127.0.0.1 for end-to-end tests of anything that calls out.

Mocks cannot show that a deadline cuts a slow socket or that a connection went to the
address that was checked; this server can. Each path gets scripted replies (status, headers,
body, a delay, a body dripped byte by byte, a redirect), and every request received is
recorded for assertions. Use it as a context manager or wrap it in a fixture::

    @pytest.fixture
    def server():
        with local_http_server() as server:
            yield server

    def test_it_posts_the_body(server):
        server.reply("/hook", Reply(status=201, body='{"ok": true}'))
        send_request("POST", server.url("/hook"), data=b"hi", ...)
        assert server.requests[0].body == b"hi"

Several replies for one path are served in order and the last one repeats
(``server.reply("/", Reply(status=500), Reply(status=200))``); a callable receives the
``RecordedRequest`` and returns the ``Reply``. Unknown paths answer 404; ``"*"`` sets a default.
The server speaks HTTP/1.1 with keep-alive and sets TCP_NODELAY on every connection (without
it, Nagle's algorithm adds ~40 ms per request on loopback). ``make_test_certificates()`` makes
a throwaway CA and a certificate for HTTPS (``local_http_server(tls=certificates)``).
"""

from __future__ import annotations

import datetime
import http
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from requests.structures import CaseInsensitiveDict


@dataclass(frozen=True)
class Reply:
    """What the server answers on one path.

    ``body`` may be an iterable of byte chunks (even an endless one) to stream a large answer;
    it is then sent without Content-Length and the connection is closed after it, unless
    ``headers`` states a Content-Length. An iterator is used up by the first request that gets
    it: give a list, or a callable building a fresh ``Reply``, to stream to several requests.
    ``drip`` sends the body one byte every ``drip`` seconds; ``drip_headers`` drips the status
    line and headers too. ``delay`` waits before answering.
    """

    status: int = 200
    body: bytes | str | Iterable[bytes] = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    drip_headers: bool = False
    content_length: bool = True

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status=status, headers={"Location": location})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; ``path`` keeps the query string.

    ``client_port`` tells connections apart (two requests on one keep-alive connection share it).
    """

    method: str
    path: str
    headers: CaseInsensitiveDict[str]
    body: bytes
    client_port: int = 0

    @property
    def url_path(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.path).query, keep_blank_values=True)

    @property
    def text(self) -> str:
        return self.body.decode()


ReplySource = Reply | Callable[[RecordedRequest], Reply]


class LocalHTTPServer:
    """A threaded server on 127.0.0.1 with a random free port; see the module docstring."""

    host = "127.0.0.1"

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.scheme = "https" if ssl_context else "http"
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._replies: dict[str, list[ReplySource]] = {}
        self._served: dict[str, int] = {}
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self.stopping = threading.Event()
        self._server = _Server((self.host, 0), _Handler)
        self._server.owner = self
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/", *, host: str | None = None) -> str:
        """The URL of ``path``; ``host`` replaces 127.0.0.1 (for names a test resolver maps here)."""
        return f"{self.scheme}://{host or self.host}:{self.port}{path}"

    def reply(self, path: str, *replies: ReplySource) -> None:
        """Script the answers for ``path`` (exact path, query ignored; ``"*"`` for any other path)."""
        if not replies:
            raise ValueError("Give at least one Reply.")
        with self._lock:
            self._replies[path] = list(replies)
            self._served[path] = 0

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.url_path == path]

    def start(self) -> LocalHTTPServer:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut every open connection (dripping ones included) and free the port."""
        self.stopping.set()
        self._server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            _shutdown_quietly(connection)
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Called from handler threads.

    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            path = request.url_path if request.url_path in self._replies else "*"
            replies = self._replies.get(path)
            if replies is None:
                return Reply(status=404, body=b"not found")
            source = replies[min(self._served[path], len(replies) - 1)]
            self._served[path] += 1
        return source(request) if callable(source) else source

    def _track(self, connection: socket.socket, *, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 2048  # the capacity benchmark opens 2,000 connections at once (socketserver's 5 drops SYNs)
    block_on_close = False  # a client's idle keep-alive connection must not hold up stop()
    owner: LocalHTTPServer

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        context = self.owner._ssl_context
        if context is not None:
            # Handshake later, in the handler thread, so one slow client cannot block accept().
            connection = context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    server: _Server

    def setup(self) -> None:
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.request, open_=True)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(self.timeout)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.close_connection = True  # the client refused our certificate: nothing to serve
        super().setup()

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        self.server.owner._track(self.request, open_=False)

    def handle(self) -> None:
        with suppress(OSError):  # the client went away (or stop() cut it): nothing to report
            super().handle()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean

    def _serve(self) -> None:
        owner = self.server.owner
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers=CaseInsensitiveDict(self.headers.items()),
            body=self._read_body(),
            client_port=self.client_address[1],
        )
        reply = owner._record(request)
        if reply.delay and owner.stopping.wait(reply.delay):
            self.close_connection = True
            return
        self._write_reply(reply, head_only=self.command == "HEAD")

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0], 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _write_reply(self, reply: Reply, *, head_only: bool) -> None:
        headers = CaseInsensitiveDict(reply.headers)
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        if isinstance(body, bytes) and reply.content_length and "Content-Length" not in headers:
            headers["Content-Length"] = str(len(body))
        if "Content-Length" not in headers:
            headers["Connection"] = "close"
            self.close_connection = True
        try:
            phrase = http.HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = f"HTTP/1.1 {reply.status} {phrase}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
        chunks: Iterable[bytes] = () if head_only else ([body] if isinstance(body, bytes) else body)
        if reply.drip_headers:
            self._drip(head.encode(), reply.drip)
        else:
            self.wfile.write(head.encode())
        for chunk in chunks:
            if reply.drip:
                self._drip(chunk, reply.drip)
            else:
                self.wfile.write(chunk)
            if self.server.owner.stopping.is_set():
                break
        self.wfile.flush()

    def _drip(self, data: bytes, interval: float) -> None:
        for index in range(len(data)):
            self.wfile.write(data[index : index + 1])
            if self.server.owner.stopping.wait(interval):
                raise ConnectionAbortedError("server stopping")


def _shutdown_quietly(connection: socket.socket) -> None:
    with suppress(OSError):
        socket.socket.shutdown(connection, socket.SHUT_RDWR)


@contextmanager
def local_http_server(*, tls: TestCertificates | None = None) -> Iterator[LocalHTTPServer]:
    """Run a ``LocalHTTPServer`` for the ``with`` block (HTTPS when ``tls`` is given)."""
    with LocalHTTPServer(ssl_context=tls.server_context() if tls else None) as server:
        yield server


@dataclass(frozen=True)
class TestCertificates:
    """A throwaway CA (``ca_path``, usable as ``REQUESTS_CA_BUNDLE``) and a server certificate it signed."""

    __test__ = False  # not a pytest test class

    ca_path: Path
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        return context


def make_test_certificates(directory: Path, hostnames: Sequence[str] = ("localhost",)) -> TestCertificates:
    """Write a CA and a server certificate for ``hostnames`` (DNS names or IPs) into ``directory``."""
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(hours=1), now + datetime.timedelta(days=1))

    def build(subject: str, public_key, issuer: x509.Name, signing_key, *, is_ca: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
        )
        if is_ca:
            builder = builder.add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
        else:
            names: list[x509.GeneralName] = []
            for hostname in hostnames:
                try:
                    names.append(x509.IPAddress(ipaddress.ip_address(hostname)))
                except ValueError:
                    names.append(x509.DNSName(hostname))
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Phonon test CA")])
    ca_cert = build("Phonon test CA", ca_key.public_key(), ca_name, ca_key, is_ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = build(hostnames[0], server_key.public_key(), ca_name, ca_key, is_ca=False)

    directory.mkdir(parents=True, exist_ok=True)
    certificates = TestCertificates(
        ca_path=directory / "ca.pem", cert_path=directory / "server.pem", key_path=directory / "server-key.pem"
    )
    certificates.ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    certificates.cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    certificates.key_path.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return certificates
