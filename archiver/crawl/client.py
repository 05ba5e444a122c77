"""Build the one httpx client a run shares: TLS trust, proxy, timeouts, headers.

Redirects are never followed by httpx (the fetcher archives each hop itself),
HTTP/2 stays off (records hold HTTP/1.1 messages as received), and the
environment's proxy settings are ignored so that a run behaves the same from
cron as from a shell: ``--proxy`` is the one way to set a proxy.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import certifi
import httpcore
import httpx

from archiver.crawl import netguard
from archiver.crawl.content import ACCEPT_ENCODING
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


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool whose network is ours.

    httpx's own transport takes no network backend, so this is httpx's
    documented extension point (a custom transport) around httpcore's pool
    built with :class:`~archiver.crawl.netguard.GuardedBackend`: every
    connection is resolved once, checked, and opened to the checked address.
    """

    def __init__(
        self,
        *,
        context: ssl.SSLContext,
        limits: httpx.Limits,
        backend: netguard.GuardedBackend,
    ) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the guarded pool."""
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors(request):
            response = await self._pool.handle_async_request(core)
        stream = response.stream
        if not isinstance(stream, AsyncIterable):  # pragma: no cover - httpcore's
            raise TypeError("httpcore returned a synchronous body stream")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_GuardedBody(stream, request),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close every pooled connection."""
        await self._pool.aclose()


def build_client(
    settings: ClientSettings,
    *,
    timeout: float,
    concurrency: int,
    guard: netguard.GuardedBackend | None = None,
) -> httpx.AsyncClient:
    """The shared client; the caller closes it (``async with``).

    With ``guard`` (and no proxy, which resolves names itself) every
    connection goes through it: resolved once, checked, connected by address.
    """
    proxy = settings.proxy
    context = ssl_context(settings.ca_bundle)
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency
    )
    transport = None
    if guard is not None and proxy is None:
        transport = GuardedTransport(context=context, limits=limits, backend=guard)
    try:
        return httpx.AsyncClient(
            verify=context,
            proxy=proxy,
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
