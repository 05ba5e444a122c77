"""Build the one httpx client a run shares: TLS trust, proxy, timeouts, headers.

Redirects are never followed by httpx (the fetcher archives each hop itself),
HTTP/2 stays off (records hold HTTP/1.1 messages as received), and the
environment's proxy settings are ignored so that a run behaves the same from
cron as from a shell: ``--proxy`` is the one way to set a proxy.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import certifi
import httpcore
import httpx

from archiver.crawl import netguard
from archiver.errors import UsageError

# Ask for what a browser would be shown: some sites serve bots a different page.
ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,"
    "image/avif,image/webp,image/apng,*/*;q=0.8"
)


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


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, with its connection pool over :class:`GuardedBackend`.

    httpx has no option for a network backend, so the pool it builds is
    replaced by the same pool built with ours; ``test_netguard`` fails loudly
    if a new httpx stops using it.
    """

    def __init__(
        self,
        *,
        context: ssl.SSLContext,
        limits: httpx.Limits,
        backend: netguard.GuardedBackend,
    ) -> None:
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=backend,
        )


def build_client(
    *,
    timeout: float,
    concurrency: int,
    user_agent: str,
    proxy: str | None = None,
    ca_bundle: Path | None = None,
    guard: netguard.GuardedBackend | None = None,
) -> httpx.AsyncClient:
    """The shared client; the caller closes it (``async with``).

    With ``guard`` (and no proxy, which resolves names itself) every
    connection goes through it: resolved once, checked, connected by address.
    """
    if proxy is not None and not proxy.startswith(("http://", "https://")):
        raise UsageError(f"--proxy {proxy}: must be an http:// or https:// URL")
    context = ssl_context(ca_bundle)
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
            headers={"User-Agent": user_agent, "Accept": ACCEPT},
        )
    except ValueError as exc:
        raise UsageError(f"--proxy {proxy}: {exc}") from exc
