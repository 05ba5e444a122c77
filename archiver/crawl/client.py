"""Build the one httpx client a run shares: TLS trust, proxy, timeouts, headers.

Redirects are never followed by httpx (the fetcher archives each hop itself),
HTTP/2 stays off (records hold HTTP/1.1 messages as received), and the
environment's proxy settings are ignored so that a run behaves the same from
cron as from a shell: ``--proxy`` is the one way to set a proxy.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import certifi
import httpcore
import httpx
import trio

from archiver.crawl import netguard, proxysignals
from archiver.crawl.content import ACCEPT_ENCODING
from archiver.crawl.netguard import SocketOption
from archiver.errors import UsageError

# Ask for what a browser would be shown: some sites serve bots a different page.
ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,"
    "image/avif,image/webp,image/apng,*/*;q=0.8"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    """Who the run says it is and which way its traffic goes."""

    user_agent: str = ""
    proxy: str | None = None  # every request through this HTTP proxy
    ca_bundle: Path | None = None  # extra CA certificates to trust (a proxy's)

    def __post_init__(self) -> None:
        """Refuse a proxy or CA bundle no client could use, before any run starts.

        The one place both are checked, for the command line (a usage error
        naming the option) and for library callers alike.
        """
        if self.proxy is not None:
            try:
                url = httpx.URL(self.proxy)
            except httpx.InvalidURL as exc:
                raise UsageError(f"--proxy {self.proxy}: {exc}") from exc
            if url.scheme not in ("http", "https") or not url.host:
                raise UsageError(
                    f"--proxy {self.proxy}: must be an http:// or https:// URL"
                )
        if self.ca_bundle is not None:
            ssl_context(self.ca_bundle)


def ssl_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The usual public roots, plus the certificates in ``ca_bundle`` if given."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"--ca-bundle {ca_bundle}: cannot load certificates: {exc}"
            ) from exc
    return context


# httpcore's failures as the httpx exceptions the fetcher classifies; the most
# specific class wins (a ReadTimeout before a TimeoutException), so subclasses
# come first.
_HTTPCORE_TO_HTTPX: Final[tuple[tuple[type[Exception], type[httpx.HTTPError]], ...]] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request) -> Iterator[None]:
    """Re-raise an httpcore failure as its httpx class, the original as cause."""
    try:
        yield
    except Exception as exc:
        for core, mapped in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, core):
                error = mapped(str(exc))
                error.request = request
                raise error from exc
        raise


class _GuardedBody(httpx.AsyncByteStream):
    """A response body read from the guarded pool, failures mapped as above."""

    def __init__(self, stream: AsyncIterable[bytes], request: httpx.Request) -> None:
        self._stream = stream
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors(self._request):
            async for chunk in self._stream:
                yield chunk

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()


Origin = tuple[bytes, bytes, int | None]  # scheme, host, port


class _ClosedWhenBroken(httpcore.AsyncConnectionInterface):
    """A proxy connection that is closed when a request on it fails half-set-up.

    httpcore 1.0 leaves a CONNECT tunnel's connection to the proxy open and
    busy when the TLS handshake inside the tunnel fails (encode/httpcore#1023):
    the pool never reuses nor drops it, so every bad certificate costs a slot
    for good, and a run through a proxy stalls once they are all gone. After
    any failure a sound connection is closed or idle; one that is neither is
    that leak, and is closed here.
    """

    def __init__(
        self,
        inner: httpcore.AsyncConnectionInterface,
        target: bytes,
        answers: dict[bytes, bytes],
    ) -> None:
        self._inner = inner
        self._target = target  # host:port, as a CONNECT names it
        self._answers = answers

    async def handle_async_request(
        self, request: httpcore.Request
    ) -> httpcore.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpcore.ProxyError as exc:
            # The proxy refused the tunnel: what its answer's fields say
            # about the destination (proxysignals) rides on the error.
            await self._close_if_leaked()
            head = self._answers.pop(self._target, b"")
            signal = proxysignals.read(proxysignals.head_fields(head))
            raise proxysignals.ProxyAnswered(str(exc), signal) from exc
        except BaseException:
            await self._close_if_leaked()
            raise

    async def _close_if_leaked(self) -> None:
        if not (self._inner.is_closed() or self._inner.is_idle()):
            with trio.CancelScope(shield=True):
                await self._inner.aclose()

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return self._inner.can_handle_request(origin)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def info(self) -> str:
        return self._inner.info()

    def is_available(self) -> bool:
        return self._inner.is_available()

    def has_expired(self) -> bool:
        return self._inner.has_expired()

    def is_idle(self) -> bool:
        return self._inner.is_idle()

    def is_closed(self) -> bool:
        return self._inner.is_closed()


class _ProxyPool(httpcore.AsyncHTTPProxy):
    """httpcore's proxy pool, its connections closed when broken (see above)."""

    def __init__(self, **options: Any) -> None:
        self._watch = _ConnectAnswers()
        super().__init__(network_backend=self._watch, **options)

    def create_connection(
        self, origin: httpcore.Origin
    ) -> httpcore.AsyncConnectionInterface:
        target = b"%b:%d" % (origin.host, origin.port)
        inner = super().create_connection(origin)
        return _ClosedWhenBroken(inner, target, self._watch.answers)


class _ConnectAnswers(httpcore.AsyncNetworkBackend):
    """Connections to the proxy that keep its refusals of a CONNECT.

    httpcore raises "502 Bad Gateway" and drops the answer's fields, which
    are where a proxy says the name did not resolve. Each refusal's head is
    kept under the CONNECT's target until the failed request takes it.
    """

    def __init__(self) -> None:
        self._inner = httpcore.TrioBackend()
        self.answers: dict[bytes, bytes] = {}

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkBackend
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout, local_address, socket_options
        )
        return _WatchedStream(stream, self.answers)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkBackend
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_CONNECT_HEAD_LIMIT: Final = 64 * 1024


class _WatchedStream(httpcore.AsyncNetworkStream):
    """A connection to the proxy; the answer to a CONNECT on it is read twice."""

    def __init__(
        self, inner: httpcore.AsyncNetworkStream, answers: dict[bytes, bytes]
    ) -> None:
        self._inner = inner
        self._answers = answers
        self._target: bytes | None = None  # a CONNECT sent, its answer not read
        self._head = bytearray()

    async def write(
        self,
        buffer: bytes,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkStream
    ) -> None:
        if buffer.startswith(b"CONNECT "):
            self._target = buffer.split(b" ", 2)[1]
            self._head.clear()
        await self._inner.write(buffer, timeout)

    async def read(
        self,
        max_bytes: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkStream
    ) -> bytes:
        data = await self._inner.read(max_bytes, timeout)
        if self._target is not None:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end >= 0 or len(self._head) > _CONNECT_HEAD_LIMIT:
                head = bytes(self._head[: end + 4 if end >= 0 else _CONNECT_HEAD_LIMIT])
                status = head.split(b" ", 2)[1:2]
                if not (status and status[0].startswith(b"2")):  # refused
                    self._answers[self._target] = head
                self._target = None
                self._head.clear()
        return data

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkStream
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.start_tls(ssl_context, server_hostname, timeout)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over httpcore pools whose network is ours.

    httpx's own transport takes no network backend, so this is httpx's
    documented extension point (a custom transport) around httpcore pools
    built with :class:`~archiver.crawl.netguard.GuardedBackend`: every
    connection is resolved once, checked, and opened to the checked address.
    Through a proxy (``proxy``), the pools are httpcore's proxy pools, with
    the tunnel leak of encode/httpcore#1023 mended (``_ClosedWhenBroken``).

    One pool per origin, not one for the run: httpcore's pool looks at each
    of its connections for every request it queues or finishes (quadratic in
    the pool's size, encode/httpcore#1035: a fifth of a crawl's CPU with one
    64-connection pool), and a shared pool closes one host's warm connection
    to open another's while every host is busy. A host's pool holds at most
    ``per_origin`` connections (the per-host limit lets no more be used);
    pools of hosts not asked for lately are closed once more than
    ``keep_origins`` are open and they are idle, so a run over ten thousand
    hosts keeps a bounded number of sockets open.
    """

    def __init__(
        self,
        *,
        context: ssl.SSLContext,
        limits: httpx.Limits,
        backend: netguard.GuardedBackend | None,
        per_origin: int,
        keep_origins: int,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        self._make: Callable[[], httpcore.AsyncConnectionPool]
        if proxy is None:
            self._make = functools.partial(
                httpcore.AsyncConnectionPool,
                ssl_context=context,
                max_connections=per_origin,
                max_keepalive_connections=per_origin,
                keepalive_expiry=limits.keepalive_expiry,
                http1=True,
                http2=False,
                network_backend=backend,
            )
        else:
            # The proxy resolves names itself: no guard can see the address.
            self._make = functools.partial(
                _ProxyPool,
                proxy_url=httpcore.URL(
                    scheme=proxy.url.raw_scheme,
                    host=proxy.url.raw_host,
                    port=proxy.url.port,
                    target=proxy.url.raw_path,
                ),
                proxy_auth=proxy.raw_auth,
                proxy_headers=proxy.headers.raw,
                ssl_context=context,
                max_connections=per_origin,
                max_keepalive_connections=per_origin,
                keepalive_expiry=limits.keepalive_expiry,
                http1=True,
                http2=False,
            )
        self._keep = keep_origins
        self._pools: OrderedDict[Origin, httpcore.AsyncConnectionPool] = OrderedDict()

    @property
    def origins(self) -> int:
        """How many origins have a pool open now."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through its origin's guarded pool."""
        url = request.url
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme,
                host=url.raw_host,
                port=url.port,
                target=url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        pool = await self._pool((url.raw_scheme, url.raw_host, url.port))
        with _as_httpx_errors(request):
            response = await pool.handle_async_request(core)
        stream = response.stream
        if not isinstance(stream, AsyncIterable):  # pragma: no cover - httpcore's
            raise TypeError("httpcore returned a synchronous body stream")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_GuardedBody(stream, request),
            extensions=response.extensions,
        )

    async def _pool(self, origin: Origin) -> httpcore.AsyncConnectionPool:
        pool = self._pools.get(origin)
        if pool is not None:
            self._pools.move_to_end(origin)
            return pool
        pool = self._pools[origin] = self._make()
        if len(self._pools) > self._keep:
            await self._close_idle(len(self._pools) - self._keep)
        return pool

    async def _close_idle(self, count: int) -> None:
        """Close up to ``count`` pools, least recently asked first, all idle.

        They leave the map before the first close waits on a socket, so a
        request for another new origin meanwhile never picks one of them.
        """
        idle = [
            origin
            for origin, pool in list(self._pools.items())[:-1]
            if all(connection.is_idle() for connection in pool.connections)
        ][:count]
        closing = [self._pools.pop(origin) for origin in idle]
        for pool in closing:
            await pool.aclose()

    async def aclose(self) -> None:
        """Close every pooled connection."""
        pools = list(self._pools.values())
        self._pools.clear()
        for pool in pools:
            await pool.aclose()


def build_client(
    settings: ClientSettings,
    *,
    timeout: float,
    concurrency: int,
    per_host: int | None = None,
    guard: netguard.GuardedBackend | None = None,
) -> httpx.AsyncClient:
    """The shared client; the caller closes it (``async with``).

    With ``guard`` (and no proxy, which resolves names itself) every
    connection goes through it: resolved once, checked, connected by address,
    pooled per origin with ``per_host`` connections each (default
    ``concurrency``).
    """
    proxy = settings.proxy
    context = ssl_context(settings.ca_bundle)
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    transport = None
    if guard is not None or proxy is not None:
        try:
            through = httpx.Proxy(proxy) if proxy is not None else None
        except (httpx.InvalidURL, ValueError) as exc:
            raise UsageError(f"--proxy {proxy}: {exc}") from exc
        transport = GuardedTransport(
            context=context,
            limits=limits,
            backend=guard if through is None else None,
            per_origin=per_host or concurrency,
            # The frontier lets twice --concurrency URLs (of as many hosts) be
            # under way at once: with pools for only --concurrency hosts, a
            # busy host's warm connections were closed for another's, and
            # reopened (3,232 connections for 10,000 URLs on 300 hosts, 1,688
            # with these; a TLS handshake is about 1.5 ms of CPU).
            keep_origins=max(2 * concurrency, 16),
            proxy=through,
        )
    try:
        return httpx.AsyncClient(
            verify=context,
            proxy=None if transport is not None else proxy,
            transport=transport,
            timeout=httpx.Timeout(timeout),
            limits=limits,
            follow_redirects=False,
            trust_env=False,
            http2=False,
            # Only codings crawl/content.py can undo: every check must be
            # able to read what it asked for.
            headers={
                "User-Agent": settings.user_agent,
                "Accept": ACCEPT,
                "Accept-Encoding": ACCEPT_ENCODING,
            },
        )
    except ValueError as exc:
        raise UsageError(f"--proxy {proxy}: {exc}") from exc
