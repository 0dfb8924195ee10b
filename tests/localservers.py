"""Real HTTP(S) servers on 127.0.0.1 for the network diagnostics tests (``casework http``, ``healthcheck``).

Each :func:`serve` call starts a :class:`http.server.ThreadingHTTPServer` on an ephemeral port in a daemon
thread and stops it on exit. With ``tls=True`` the connection is wrapped with a server certificate for
``127.0.0.1`` and ``localhost`` signed by a session-wide test CA (trustme); ``ServerInfo.ca_file`` is that
CA's PEM file, for clients that verify.

The ready handlers model what the tested commands must recognise: a healthy page, a page that rejects HEAD
(the seed case F41GF828), a redirect to a login page, a stall past any client timeout, 404 and 500.
"""

from __future__ import annotations

import atexit
import http.server
import os
import socket
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import trustme

# How long StallingHandler waits before answering; far past any timeout the tests use. Shutdown wakes it.
STALL_SECONDS = 60.0


@dataclass(frozen=True)
class ServerInfo:
    host: str
    port: int
    base_url: str  # "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT"
    ca_file: str | None  # PEM of the test CA when tls=True


@cache
def test_ca() -> trustme.CA:
    """The session-wide test CA (one per process: every TLS server's certificate chains to it)."""
    return trustme.CA()


# Not a test, even when a test module imports it by name (pytest collects every ``test_*`` in a test module).
test_ca.__test__ = False  # type: ignore[attr-defined]


@cache
def _server_cert() -> trustme.LeafCert:
    return test_ca().issue_cert("127.0.0.1", "localhost")


@cache
def _ca_file() -> str:
    fd, path = tempfile.mkstemp(prefix="casework-test-ca-", suffix=".pem")
    with os.fdopen(fd, "wb") as fh:
        fh.write(test_ca().cert_pem.bytes())
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
    return path


def _server_context() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _server_cert().configure_cert(ctx)
    # Offer HTTP/1.1 only: http.server does not speak HTTP/2, and a client must not pick h2 by ALPN.
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler], ssl_context: ssl.SSLContext | None):
        self.ssl_context = ssl_context
        self.stopping = threading.Event()
        super().__init__(("127.0.0.1", 0), handler)

    def finish_request(self, request, client_address):  # type: ignore[no-untyped-def]
        # Headers and body leave in separate writes: without TCP_NODELAY, Nagle plus the client's delayed ACK
        # add ~40 ms to answers, which would distort every timing measured against these servers.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The TLS handshake runs here, in the per-connection thread, so a client that never completes it
        # (a plain-HTTP probe of an HTTPS port, a port scan) cannot block the accept loop.
        if self.ssl_context is None:
            return super().finish_request(request, client_address)
        request.settimeout(10)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return None
        try:
            tls.settimeout(None)
            return super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):  # type: ignore[no-untyped-def]
        # Clients that hang up mid-answer (timeouts are the point of some tests) are not server errors.
        pass


class BaseHandler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 with Content-Length; quiet; subclasses override :meth:`answer`."""

    protocol_version = "HTTP/1.1"
    server_version = "casework-test/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def respond(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if not any(k.lower() == "content-type" for k in (headers or {})):
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def answer(self) -> None:
        self.respond(200, b"ok\n")

    def do_GET(self) -> None:
        self.answer()

    def do_HEAD(self) -> None:
        self.answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.answer()


class OkHandler(BaseHandler):
    """200 to every method and path."""


class HeadRejectingHandler(BaseHandler):
    """405 to HEAD, 200 to GET: an application that routes GET only (the seed's health check page)."""

    def answer(self) -> None:
        if self.command == "HEAD":
            self.respond(405, b"method not allowed\n", {"Allow": "GET"})
        else:
            self.respond(200, b"ok\n")


class RedirectHandler(BaseHandler):
    """302 to /login for every path except /login itself (200): a page behind a login."""

    def answer(self) -> None:
        if self.path.split("?", 1)[0] == "/login":
            self.respond(200, b"<form>login</form>\n", {"Content-Type": "text/html"})
        else:
            self.respond(302, b"", {"Location": "/login"})


class StallingHandler(BaseHandler):
    """Answers only after STALL_SECONDS; the server's shutdown wakes it so a test never waits."""

    def answer(self) -> None:
        self.server.stopping.wait(STALL_SECONDS)  # type: ignore[attr-defined]
        try:
            self.respond(200, b"late\n")
        except OSError:
            pass


class NotFoundHandler(BaseHandler):
    def answer(self) -> None:
        self.respond(404, b"not found\n")


class ServerErrorHandler(BaseHandler):
    def answer(self) -> None:
        self.respond(500, b"internal error\n")


@contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler], *, tls: bool = False) -> Iterator[ServerInfo]:
    """Serve ``handler`` on 127.0.0.1:<ephemeral> for the duration of the ``with`` block."""
    server = _Server(handler, _server_context() if tls else None)
    host, port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield ServerInfo(host=str(host), port=int(port), base_url=f"{scheme}://{host}:{port}",
                         ca_file=_ca_file() if tls else None)
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port() -> int:
    """A 127.0.0.1 port where nothing listens (bound and released: the kernel does not hand it out again soon)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
