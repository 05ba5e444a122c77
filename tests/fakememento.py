"""A fake web archive on 127.0.0.1 that speaks Memento (RFC 7089) as the Wayback does.

``/web/<URI-R>`` is a TimeGate: it reads ``Accept-Datetime``, answers 302
to the capture nearest it, with a ``Link`` header naming the original, the
TimeMap and that memento (pattern 2.2 of the RFC, the Internet Archive's).
``/web/<14 digits>/<URI-R>`` is a memento, answering with the status the
page had when captured, ``Memento-Datetime`` and its own ``Link`` header.
``/web/timemap/link/<URI-R>`` is the TimeMap in application/link-format,
oldest capture first. Modes make it misbehave: ``malformed`` sends a Link
header that is not link-format, ``bad-timemap`` a TimeMap with one entry
that is not; ``direct`` answers at the TimeGate itself with the memento
(200 and ``Memento-Datetime``, RFC 7089 pattern 2.1); ``huge`` sends a
TimeMap of ``HUGE`` captures (megabytes); ``busy-once`` answers a
TimeGate's first request for each URL with a 503 and ``Retry-After: 1``.
``requests`` (with ``times``, monotonic) and ``peak`` let tests see how it
was asked.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HUGE = 60_000  # captures in a huge TimeMap: about 8 MB of link-format
_MEMENTO = re.compile(r"/web/(\d{14})/(.+)")


def http_date(when: datetime) -> str:
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


class FakeArchive:
    """One archive: its captures of each URL, its mode, what it was asked."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.captures: dict[str, list[tuple[datetime, int]]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.times: list[float] = []
        self.peak = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        archive = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                archive._arrive(self.path, dict(self.headers.items()))
                try:
                    archive._answer(self)
                finally:
                    archive._leave()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/web/"

    def memento_url(self, url: str, when: datetime) -> str:
        return f"{self.base}{stamp(when)}/{url}"

    def add(self, url: str, captures: list[tuple[datetime, int]]) -> None:
        self.captures[url] = sorted(captures)

    def start(self) -> FakeArchive:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def asked(self, fragment: str) -> int:
        with self._lock:
            return sum(1 for path, _ in self.requests if fragment in path)

    def _arrive(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append((path, headers))
            self.times.append(time.monotonic())
            self._in_flight += 1
            self.peak = max(self.peak, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _links(self, url: str, memento: datetime | None) -> str:
        parts = [
            f'<{url}>; rel="original"',
            f'<{self.base}timemap/link/{url}>; rel="timemap"; '
            'type="application/link-format"',
        ]
        if memento is not None:
            parts.append(
                f'<{self.memento_url(url, memento)}>; rel="memento"; '
                f'datetime="{http_date(memento)}"'
            )
        return ", ".join(parts)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        if path.startswith("/web/timemap/link/"):
            self._timemap(handler, path.removeprefix("/web/timemap/link/"))
            return
        match = _MEMENTO.fullmatch(path)
        if match:
            self._memento(handler, match.group(2), match.group(1))
            return
        self._timegate(handler, path.removeprefix("/web/"))

    def _timegate(self, handler: BaseHTTPRequestHandler, url: str) -> None:
        if self.mode == "busy-once" and self.asked(url) == 1:
            _send(handler, 503, [("Retry-After", "1")], b"busy")
            return
        captures = self.captures.get(url)
        if not captures:
            _send(handler, 404, [], b"not archived")
            return
        asked = handler.headers.get("Accept-Datetime")
        wanted = email.utils.parsedate_to_datetime(asked) if asked else captures[-1][0]
        nearest = min(captures, key=lambda c: abs(c[0] - wanted))[0]
        link = self._links(url, nearest)
        if self.mode == "direct":
            # RFC 7089 pattern 1.1/2.1: the TimeGate answers with the memento.
            headers = [
                ("Memento-Datetime", http_date(nearest)),
                ("Content-Location", self.memento_url(url, nearest)),
                ("Vary", "accept-datetime"),
                ("Link", link),
            ]
            _send(handler, 200, headers, b"<p>the capture</p>")
            return
        if self.mode == "malformed":
            link = (
                f'<{url}; rel="original", {self.memento_url(url, nearest)}> rel=memento'
            )
        headers = [
            ("Location", self.memento_url(url, nearest)),
            ("Vary", "accept-datetime"),
            ("Link", link),
        ]
        _send(handler, 302, headers, b"")

    def _memento(self, handler: BaseHTTPRequestHandler, url: str, when: str) -> None:
        for captured, status in self.captures.get(url, []):
            if stamp(captured) == when:
                headers = [
                    ("Memento-Datetime", http_date(captured)),
                    ("Link", self._links(url, captured)),
                    ("Content-Type", "text/html"),
                ]
                _send(handler, status, headers, f"<p>capture of {url}</p>".encode())
                return
        _send(handler, 404, [], b"no such capture")

    def _timemap(self, handler: BaseHTTPRequestHandler, url: str) -> None:
        captures = self.captures.get(url, [])
        if not captures:
            _send(handler, 404, [], b"")
            return
        head = (
            f'<{url}>; rel="original",\n'
            f'<{self.base}timemap/link/{url}>; rel="self"; '
            'type="application/link-format",\n'
            f'<{self.base}{url}>; rel="timegate"'
        )
        if self.mode == "huge":
            first = captures[0][0]
            entries = [
                f'<{self.memento_url(url, first)}{n}>; rel="memento"; '
                f'datetime="{http_date(first)}"'
                for n in range(HUGE)
            ]
        else:
            entries = [
                f'<{self.memento_url(url, when)}>; rel="memento"; '
                f'datetime="{http_date(when)}"'
                for when, _ in captures
            ]
        if self.mode == "bad-timemap":
            entries.insert(1, f"<{url}> rel=memento")  # no ";" before the param
        body = ",\n".join([head, *entries]).encode() + b"\n"
        _send(handler, 200, [("Content-Type", "application/link-format")], body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hangs up early is part of the tests


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    try:
        handler.send_response(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for start in range(0, len(body), 65536):
            handler.wfile.write(body[start : start + 65536])
    except (BrokenPipeError, ConnectionResetError):
        pass  # the client read what it wanted and went
