"""How hard the run may press on the web: a global cap and a cap per host.

httpx limits connections but has no per-host cap, and a run over newsroom
articles often holds hundreds of links to one site, so each host gets its own
limiter and an optional minimum gap between the starts of two requests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio


class HostGate:
    """Admits requests so that neither the global nor a host's cap is exceeded."""

    def __init__(self, *, concurrency: int, per_host: int, delay: float = 0.0) -> None:
        self._global = trio.CapacityLimiter(concurrency)
        self._per_host = per_host
        self._delay = delay
        self._hosts: dict[str, trio.CapacityLimiter] = {}
        self._next_start: dict[str, float] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold a place for one request to ``host`` for the duration of the block.

        The host's place is taken before the global one, so a task waiting on
        a busy host never holds a global place another host could use.
        """
        limiter = self._hosts.setdefault(host, trio.CapacityLimiter(self._per_host))
        async with limiter:
            if self._delay > 0:
                now = trio.current_time()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self._delay
                await trio.sleep(start - now)
            async with self._global:
                yield
