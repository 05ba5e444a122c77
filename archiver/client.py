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
import httpx

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


def build_client(
    *,
    timeout: float,
    concurrency: int,
    user_agent: str,
    proxy: str | None = None,
    ca_bundle: Path | None = None,
) -> httpx.AsyncClient:
    """The shared client; the caller closes it (``async with``)."""
    if proxy is not None and not proxy.startswith(("http://", "https://")):
        raise UsageError(f"--proxy {proxy}: must be an http:// or https:// URL")
    try:
        return httpx.AsyncClient(
            verify=ssl_context(ca_bundle),
            proxy=proxy,
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(
                max_connections=concurrency, max_keepalive_connections=concurrency
            ),
            follow_redirects=False,
            trust_env=False,
            http2=False,
            headers={"User-Agent": user_agent, "Accept": ACCEPT},
        )
    except ValueError as exc:
        raise UsageError(f"--proxy {proxy}: {exc}") from exc
