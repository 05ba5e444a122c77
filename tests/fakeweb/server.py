"""A real HTTP and HTTPS server on 127.0.0.1 that misbehaves on request.

Each path prefix is one behaviour of the web (see ``FakeWeb.ROUTES``); the
rest of the path is free, so every test can use its own token and read back
what the server saw (``ledger``) and exactly what it sent (``sent``).
Responses are written as raw bytes, so header case and order are the test's
to choose and the WARC can be compared with them byte for byte.
"""

from __future__ import annotations

import contextlib
import gzip
import http
import socket
import socketserver
import ssl
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import trustme

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a3a1d0b30000000049454e44ae426082"
)


@dataclass
class Reply:
    """One response: raw header lines (case and order kept) and body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None  # send with Transfer-Encoding: chunked
    delay: float = 0.0  # seconds before anything is sent
    content_length: bool = True


class Ledger:
    """What the server received: hits and arrival times per path, in-flight peak."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = defaultdict(list)
        self._headers: dict[str, dict[str, str]] = {}
        self._in_flight = 0
        self.peak = 0

    def arrive(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._times[path].append(time.monotonic())
            self._headers[path] = headers
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def hits(self, path: str) -> int:
        with self._lock:
            return len(self._times.get(path, ()))

    def headers(self, path: str) -> dict[str, str]:
        """The request headers of the last request for ``path``."""
        with self._lock:
            return dict(self._headers.get(path, {}))

    def times(self, path: str) -> list[float]:
        with self._lock:
            return list(self._times.get(path, ()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        web = self.server.web
        web.ledger.arrive(self.path, dict(self.headers.items()))
        try:
            reply = web.answer(self.path)
            self._send(reply)
        finally:
            web.ledger.leave()

    def _send(self, reply: Reply) -> None:
        web = self.server.web
        try:
            phrase = http.HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [f"HTTP/1.1 {reply.status} {phrase}"]
        head += [f"{name}: {value}" for name, value in reply.headers]
        if reply.chunks is not None:
            head.append("Transfer-Encoding: chunked")
            body = b"".join(reply.chunks)
            wire_body = b"".join(
                b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in reply.chunks
            )
            wire_body += b"0\r\n\r\n"
        else:
            body = wire_body = reply.body
            if reply.content_length:
                head.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + wire_body
        web.record_sent(self.path, data, body)
        if reply.delay:
            time.sleep(reply.delay)
        self.wfile.write(data)
        self.wfile.flush()

    def handle(self) -> None:
        # The client going away is what several scenarios are about.
        with contextlib.suppress(OSError, ssl.SSLError):
            super().handle()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, web: FakeWeb, tls: ssl.SSLContext | None) -> None:
        self.web = web
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class FakeWeb:
    """The HTTP and HTTPS servers, their certificate authority and ledger."""

    def __init__(self, folder: Path) -> None:
        self.ledger = Ledger()
        self._lock = threading.Lock()
        self._sent: dict[str, tuple[bytes, bytes]] = {}
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_pem = folder / "fakeweb-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._http = _Server(self, None)
        self._https = _Server(self, context)
        self.port = int(self._http.server_address[1])
        self.https_port = int(self._https.server_address[1])
        self._threads = [
            threading.Thread(target=server.serve_forever, daemon=True)
            for server in (self._http, self._https)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for server in (self._http, self._https):
            server.shutdown()
            server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def https_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.https_port}{path}"

    def record_sent(self, path: str, data: bytes, body: bytes) -> None:
        with self._lock:
            self._sent[path] = (data, body)

    def sent(self, path: str) -> bytes | None:
        """The last response sent for ``path``, byte for byte."""
        with self._lock:
            found = self._sent.get(path)
        return found[0] if found else None

    def sent_body(self, path: str) -> bytes | None:
        """The body of that response without chunk framing (still encoded)."""
        with self._lock:
            found = self._sent.get(path)
        return found[1] if found else None

    def answer(self, path: str) -> Reply:
        parts = path.split("?", 1)[0].strip("/").split("/")
        route = self.ROUTES.get(parts[0], FakeWeb._not_found)
        return route(self, path, parts[1:])

    # --- one method per behaviour --------------------------------------

    def _page(self, path: str, args: list[str]) -> Reply:
        body = f"<!doctype html><title>{path}</title><p>Page {path}</p>".encode()
        return Reply(200, [("Content-Type", "text/html; charset=utf-8")], body)

    def _image(self, path: str, args: list[str]) -> Reply:
        return Reply(200, [("Content-Type", "image/png")], PNG)

    def _gzip(self, path: str, args: list[str]) -> Reply:
        text = f"<!doctype html><p>compressed {path}</p>".encode() * 20
        return Reply(
            200,
            [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            gzip.compress(text, mtime=0),
        )

    def _chunked(self, path: str, args: list[str]) -> Reply:
        chunks = [f"<p>part {i} of {path}</p>".encode() for i in range(5)]
        return Reply(200, [("Content-Type", "text/html")], chunks=chunks)

    def _redirect(self, path: str, args: list[str]) -> Reply:
        code, left, rest = int(args[0]), int(args[1]), "/".join(args[2:])
        if left <= 0:
            return self._page(path, args)
        location = f"/redirect/{code}/{left - 1}/{rest}"
        return Reply(code, [("Location", location)], b"moved")

    def _status(self, path: str, args: list[str]) -> Reply:
        code = int(args[0])
        return Reply(code, [("Content-Type", "text/plain")], f"status {code}".encode())

    def _flaky(self, path: str, args: list[str]) -> Reply:
        if self.ledger.hits(path) < int(args[0]):
            return Reply(503, [("Content-Type", "text/plain")], b"try again")
        return self._page(path, args)

    def _retry_after(self, path: str, args: list[str]) -> Reply:
        seconds, succeed_on = args[0], int(args[1])
        if self.ledger.hits(path) < succeed_on:
            return Reply(429, [("Retry-After", seconds)], b"slow down")
        return self._page(path, args)

    def _huge(self, path: str, args: list[str]) -> Reply:
        size = int(args[0])
        return Reply(200, [("Content-Type", "application/octet-stream")], b"x" * size)

    def _headers_case(self, path: str, args: list[str]) -> Reply:
        headers = [
            ("X-Mixed-CASE", "Kept As Sent"),
            ("content-type", "text/plain; charset=utf-8"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("X-empty", ""),
        ]
        return Reply(200, headers, b"headers as sent")

    def _slow(self, path: str, args: list[str]) -> Reply:
        return Reply(
            200, [("Content-Type", "text/plain")], b"late", delay=float(args[0])
        )

    def _loop(self, path: str, args: list[str]) -> Reply:
        return Reply(302, [("Location", path)], b"")

    def _not_found(self, path: str, args: list[str]) -> Reply:
        return Reply(404, [("Content-Type", "text/plain")], b"no such scenario")

    ROUTES: ClassVar[dict[str, Callable[[FakeWeb, str, list[str]], Reply]]] = {
        "page": _page,
        "image": _image,
        "gzip": _gzip,
        "chunked": _chunked,
        "redirect": _redirect,
        "status": _status,
        "flaky": _flaky,
        "retry-after": _retry_after,
        "huge": _huge,
        "headers-case": _headers_case,
        "slow": _slow,
        "loop": _loop,
    }
