"""The recording proxy: every request the browser makes goes through here.

Chromium is pointed at a listener on 127.0.0.1 that this module serves for
one page at a time. Plain http arrives in absolute form; https arrives as
``CONNECT host:port``, and the proxy answers the TLS handshake itself with a
certificate from the run's CA (:mod:`archiver.browser.ca`), so it sees the
requests inside. Each request is handed to ``forward`` (the run wires it to
the crawler: SSRF guard, politeness, raw bytes spooled to disk), the
response relayed to the browser, and the exchange handed to ``record``,
which sends it to the one task that writes WARC records.

The proxy never fetches by itself and never writes a record: it only
speaks HTTP/1.1 to the browser. A body is relayed once it is whole on disk
(what the record holds is exactly what the browser was given). A refused
request (a non-public address) gets a 403 and is recorded as refused.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import trio

from archiver.models import FailureKind, FetchFailure, Hop, RawHeaders

if TYPE_CHECKING:  # cryptography loads only when a page is rendered
    from archiver.browser.ca import RunCA

MAX_HEAD: Final = 64 * 1024  # a request head longer than this is refused
MAX_REQUEST_BODY: Final = 16 * 1024 * 1024
# Not passed on: they describe one connection, not the message (RFC 9110 7.6.1).
_HOP_BY_HOP: Final = frozenset(
    {
        b"connection",
        b"proxy-connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# What replay tools can decode when they rewrite a page (pywb cannot always
# read brotli or zstd), so the browser is not offered more.
ACCEPT_ENCODING: Final = b"gzip, deflate"
_BLOCK: Final = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class ProxyRequest:
    """One request as the browser made it, hop-by-hop headers removed."""

    method: str
    url: str
    headers: RawHeaders
    body: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """A request and what became of it: a response (spooled) or a failure."""

    request: ProxyRequest
    response: Hop | None
    failure: FetchFailure | None


Forward = Callable[[ProxyRequest], Awaitable[Hop | FetchFailure]]
Record = Callable[[Exchange], Awaitable[None]]


@dataclass(slots=True)
class ProxyStats:
    """What one page's traffic came to; the page's metadata record lists it."""

    requests: int = 0  # requests the browser made
    forwarded: int = 0  # ... that were sent on
    over_limit: int = 0  # ... answered 429 because the page passed its limit
    refused: list[tuple[str, str]] = field(default_factory=list)  # (url, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, why)


class ProxyProtocolError(Exception):
    """The browser sent something this proxy does not speak; the connection ends."""


class RecordingProxy:
    """Serve one page's browser traffic, forwarding and recording each request.

    Args:
        forward: sends a request upstream; never raises.
        record: takes a finished exchange (and the spooled body with it).
        ca: signs the certificates the browser is shown for https hosts.
        max_requests: requests after this many are answered 429, not sent,
            so a page that keeps fetching cannot run up without bound.
        concurrency: requests of this page sent upstream at once.
    """

    def __init__(
        self,
        forward: Forward,
        record: Record,
        ca: RunCA,
        *,
        max_requests: int = 1000,
        concurrency: int = 6,
    ) -> None:
        self._forward = forward
        self._record = record
        self._ca = ca
        self._max_requests = max_requests
        self._limiter = trio.CapacityLimiter(concurrency)
        self.stats = ProxyStats()

    async def serve(
        self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Listen on a free port of 127.0.0.1 until cancelled; start with the port."""
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = int(listeners[0].socket.getsockname()[1])
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._connection, listeners)
            task_status.started(port)

    async def _connection(self, stream: trio.SocketStream) -> None:
        # The browser closing a connection, or sending nonsense, ends that
        # connection only: never the page, never the run.
        with contextlib.suppress(
            trio.BrokenResourceError,
            trio.ClosedResourceError,
            ssl.SSLError,
            ProxyProtocolError,
        ):
            async with stream:
                await self._serve(stream)

    async def _serve(self, stream: trio.SocketStream) -> None:
        reader = _Reader(stream)
        head = await reader.head()
        if head is None:
            return
        method, target, headers = _parse_head(head)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            if not host or not port.isdigit():
                raise ProxyProtocolError(f"CONNECT to {target!r}")
            await stream.send_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            tls = trio.SSLStream(
                _Replay(stream, reader.take_buffer()),
                self._ca.context_for(host.strip("[]")),
                server_side=True,
            )
            await tls.do_handshake()
            origin = f"https://{host}" + ("" if port == "443" else f":{port}")
            inner = _Reader(tls)
            async with tls:
                while True:
                    head = await inner.head()
                    if head is None:
                        return
                    method, target, headers = _parse_head(head)
                    if not await self._one(
                        tls, inner, method, origin + target, headers
                    ):
                        return
        while True:
            if not target.startswith("http://"):
                raise ProxyProtocolError(f"not a proxy request: {target!r}")
            if not await self._one(stream, reader, method, target, headers):
                return
            head = await reader.head()
            if head is None:
                return
            method, target, headers = _parse_head(head)

    async def _one(
        self,
        stream: trio.abc.Stream,
        reader: _Reader,
        method: str,
        url: str,
        headers: RawHeaders,
    ) -> bool:
        """Answer one request; whether the connection may carry another."""
        length = _content_length(headers)
        if length is None or length > MAX_REQUEST_BODY:
            raise ProxyProtocolError("request body without a usable Content-Length")
        body = await reader.exactly(length)
        request = ProxyRequest(
            method=method, url=url, headers=_forwarded(headers), body=body
        )
        stats = self.stats
        stats.requests += 1
        if stats.requests > self._max_requests:
            stats.over_limit += 1
            await stream.send_all(
                _plain(429, "Too Many Requests", b"archiver: page request limit")
            )
            return True
        result: Hop | FetchFailure = FetchFailure(
            kind=FailureKind.OTHER, message="the page ended first"
        )
        try:
            async with self._limiter:
                stats.forwarded += 1
                result = await self._forward(request)
            if isinstance(result, Hop):
                await _relay(stream, method, result)
            else:
                if result.kind is FailureKind.PRIVATE_ADDRESS:
                    stats.refused.append((url, result.message))
                    status, phrase = 403, "Forbidden"
                else:
                    stats.failed.append((url, result.message))
                    status, phrase = 502, "Bad Gateway"
                await stream.send_all(
                    _plain(status, phrase, result.message.encode("utf-8", "replace"))
                )
        finally:
            # Recorded whatever happened to the relay (the browser may have
            # gone, the page's time may be up): the response came, so it is
            # evidence, and the recorder owns its spooled body from here.
            exchange = Exchange(
                request=request,
                response=result if isinstance(result, Hop) else None,
                failure=result if isinstance(result, FetchFailure) else None,
            )
            with trio.CancelScope(shield=True):
                await self._record(exchange)
        return not _wants_close(headers)


class _Reader:
    """Reads request heads and bodies from a stream, keeping what is left over."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = bytearray()

    async def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > MAX_HEAD:
                raise ProxyProtocolError("request head too long")
            data = await self._stream.receive_some(_BLOCK)
            if not data:
                if self._buffer.strip():
                    raise ProxyProtocolError("connection closed mid-request")
                return None
            self._buffer += data
        end = self._buffer.index(b"\r\n\r\n") + 4
        head = bytes(self._buffer[:end])
        del self._buffer[:end]
        return head

    async def exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            data = await self._stream.receive_some(_BLOCK)
            if not data:
                raise ProxyProtocolError("connection closed mid-body")
            self._buffer += data
        body = bytes(self._buffer[:length])
        del self._buffer[:length]
        return body

    def take_buffer(self) -> bytes:
        data, self._buffer = bytes(self._buffer), bytearray()
        return data


class _Replay(trio.abc.Stream):
    """A stream that first gives back bytes already read (a TLS hello, say)."""

    def __init__(self, inner: trio.SocketStream, first: bytes) -> None:
        self._inner = inner
        self._first = first

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._first:
            data, self._first = self._first, b""
            return data
        return await self._inner.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self._inner.aclose()


def _parse_head(head: bytes) -> tuple[str, str, RawHeaders]:
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise ProxyProtocolError("bad request line") from None
    if not version.startswith("HTTP/1."):
        raise ProxyProtocolError(f"unsupported version {version!r}")
    headers: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise ProxyProtocolError("bad header line")
        headers.append((name.strip(), value.strip()))
    return method, target, tuple(headers)


def _content_length(headers: RawHeaders) -> int | None:
    for name, _ in headers:
        if name.lower() == b"transfer-encoding":
            return None  # a chunked request body: browsers do not send them here
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return 0


def _forwarded(headers: RawHeaders) -> RawHeaders:
    kept: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in _HOP_BY_HOP:
            continue
        kept.append((name, ACCEPT_ENCODING if lowered == b"accept-encoding" else value))
    return tuple(kept)


def _wants_close(headers: RawHeaders) -> bool:
    return any(
        name.lower() in (b"connection", b"proxy-connection")
        and value.lower() == b"close"
        for name, value in headers
    )


def _plain(status: int, phrase: str, body: bytes) -> bytes:
    return (
        f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nX-Archiver-Proxy: refused\r\n\r\n"
    ).encode("ascii") + body


async def _relay(stream: trio.abc.Stream, method: str, hop: Hop) -> None:
    """Give the browser the response as it came, body as spooled (still encoded)."""
    bodiless = method == "HEAD" or hop.status in (204, 304) or hop.status < 200
    lines = [f"HTTP/1.1 {hop.status} {hop.reason}".rstrip().encode("latin-1")]
    for name, value in hop.response_headers:
        lowered = name.lower()
        if lowered in _HOP_BY_HOP or (lowered == b"content-length" and not bodiless):
            continue  # (a HEAD answer keeps the length it announces)
        lines.append(name + b": " + value)
    if not bodiless:
        lines.append(b"Content-Length: %d" % hop.body.length)
    await stream.send_all(b"\r\n".join(lines) + b"\r\n\r\n")
    if bodiless:
        return
    if hop.body.path is None:
        await stream.send_all(hop.body.data)
        return
    async with await trio.open_file(hop.body.path, "rb") as body:
        while block := await body.read(_BLOCK):
            await stream.send_all(block)
