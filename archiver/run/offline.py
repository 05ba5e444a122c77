"""Is it the web, or is it us? Telling an outage of this machine from dead links.

When every fetched URL failed at the network level (no name resolved, no
connection made), the likeliest story is that this machine is offline, and
calling every link dead would be wrong. Before saying so, a few well-known
sites (canaries) are asked: if one answers, the failures are the links' own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import httpx
import trio

from archiver.crawl.client import build_client
from archiver.models import LinkStatus, Outcome

# Asked when every link failed at the network level: if one of them answers
# (any status), the machine is online and the links are dead.
DEFAULT_CANARIES = (
    "https://www.example.com/",
    "https://www.wikipedia.org/",
    "https://www.iana.org/",
)
CANARY_TIMEOUT = 10.0

# Failures that say nothing about the link if every host fails the same way.
NETWORK_REASONS = frozenset(
    {"dns-not-found", "connection-failed", "connection-refused"}
)


def looks_offline(fetched: Sequence[LinkStatus]) -> bool:
    """Every fetched URL failed at the network level: blame the machine, not the web."""
    tried = [s for s in fetched if s.outcome is not Outcome.REFUSED_PRIVATE]
    return bool(tried) and all(s.reason in NETWORK_REASONS for s in tried)


async def any_canary_answers(
    canaries: Sequence[str],
    *,
    request_timeout: float,
    user_agent: str,
    proxy: str | None = None,
    ca_bundle: Path | None = None,
) -> bool:
    """Whether this machine can reach the web at all: any answer from a canary."""
    async with build_client(
        timeout=min(request_timeout, CANARY_TIMEOUT),
        concurrency=len(canaries) or 1,
        user_agent=user_agent,
        proxy=proxy,
        ca_bundle=ca_bundle,
    ) as client:
        answered = False

        async def ask(url: str) -> None:
            nonlocal answered
            with contextlib.suppress(httpx.HTTPError):
                await client.get(url)
                answered = True

        with trio.move_on_after(CANARY_TIMEOUT * 2):
            async with trio.open_nursery() as nursery:
                for url in canaries:
                    nursery.start_soon(ask, url)
        return answered
