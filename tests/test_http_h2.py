"""HTTP/2: a real hypercorn server offering h2 by ALPN over TLS with the test CA's certificate."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from casework.diagnostics.net.http import ProbeOptions, probe
from casework.diagnostics.net.httpreport import build_report
from localservers import test_ca


async def app(scope, receive, send):  # a minimal ASGI app that looks like a CDN edge
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"text/plain"), (b"x-cache", b"HIT"), (b"age", b"5"),
        (b"x-echo-version", scope["http_version"].encode())]})
    await send({"type": "http.response.body", "body": b"h2 ok\n"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def h2_server() -> Iterator[tuple[str, str]]:
    ca = test_ca()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    with tempfile.TemporaryDirectory() as tmp:
        certfile, keyfile, cafile = Path(tmp, "cert.pem"), Path(tmp, "key.pem"), Path(tmp, "ca.pem")
        cert.private_key_pem.write_to_path(str(keyfile))
        cert.cert_chain_pems[0].write_to_path(str(certfile))
        ca.cert_pem.write_to_path(str(cafile))
        port = _free_port()
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.certfile, config.keyfile = str(certfile), str(keyfile)
        config.alpn_protocols = ["h2", "http/1.1"]
        config.accesslog = config.errorlog = None
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)

            async def main() -> None:
                started.set()
                await hypercorn_serve(app, config, shutdown_trigger=stop.wait)

            loop.run_until_complete(main())

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        started.wait(5)
        for _ in range(100):  # until hypercorn listens
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                threading.Event().wait(0.05)
        try:
            yield f"https://127.0.0.1:{port}/", str(cafile)
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(timeout=5)


def test_http2_by_alpn_and_http11_when_asked():
    with h2_server() as (url, cafile):
        h2 = probe(url, ProbeOptions(ca_file=cafile))
        h11 = probe(url, ProbeOptions(ca_file=cafile, http_version="1.1"))
    assert h2.error is None and h2.http_version == "2"
    assert h2.headers.get("x-echo-version") == "2"
    assert h11.http_version == "1.1" and h11.headers.get("x-echo-version") == "1.1"
    report = build_report(h2).to_dict()
    assert report["http_version"] == "2" and report["status"] == 200
    assert report["cdn"]["status"] == "HIT" and report["cdn"]["age_s"] == 5
    assert all(report["timings_ms"][p] is not None for p in ("dns", "connect", "tls", "server", "transfer"))
