"""How hard the run may press on the web, and when to stop pressing a host.

httpx limits connections but has no per-host cap, and a run over newsroom
articles often holds hundreds of links to one site, so each host gets its own
limiter and an optional minimum gap between the starts of two requests. A
host that says "slow down" (429, 503) is slowed for all its URLs, not just the
one that was told; a host that keeps failing to connect stops being tried.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio

from archiver.models import FailureKind, FetchFailure

# Failures that say the host itself is unreachable, whatever the URL. (A name
# that does not resolve is cached by the resolver and fails at once anyway.)
HOST_LEVEL_FAILURES = frozenset(
    {FailureKind.REFUSED, FailureKind.CONNECT, FailureKind.CONNECT_TIMEOUT}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Politeness:
    """How hard a run presses: requests in flight, overall and per host."""

    concurrency: int = 64  # requests in flight at once, across all hosts
    per_host: int = 4  # requests in flight at once to any one host
    delay: float = 0.0  # minimum seconds between two request starts to one host


class HostGate:
    """Admits requests so that neither the global nor a host's cap is exceeded."""

    @classmethod
    def of(cls, politeness: Politeness) -> HostGate:
        return cls(
            concurrency=politeness.concurrency,
            per_host=politeness.per_host,
            delay=politeness.delay,
        )

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
            now = trio.current_time()
            start = max(now, self._next_start.get(host, now))
            if self._delay > 0:
                self._next_start[host] = start + self._delay
            if start > now:
                await trio.sleep(start - now)
            async with self._global:
                yield

    def slow_down(self, host: str, seconds: float) -> None:
        """No request to ``host`` starts in the next ``seconds``."""
        until = trio.current_time() + seconds
        self._next_start[host] = max(self._next_start.get(host, until), until)


@dataclass(frozen=True, slots=True)
class HostDown:
    """A host given up on for this run, and the failure that made us give up."""

    failures: int
    last: FetchFailure


class HostHealth:
    """Counts whole-URL failures per host; after ``limit`` in a row, the host is down.

    Each failure counted here has already been retried, so ``limit`` URLs in a
    row means many connection attempts; trying the host's other URLs would
    only make the run slower and the host's operators crosser.
    """

    def __init__(self, limit: int = 3) -> None:
        self._limit = limit
        self._streak: dict[str, int] = {}
        self._last: dict[str, FetchFailure] = {}

    def record(self, host: str, failure: FetchFailure | None) -> None:
        if failure is None or failure.kind not in HOST_LEVEL_FAILURES:
            self._streak[host] = 0
            return
        self._streak[host] = self._streak.get(host, 0) + 1
        self._last[host] = failure

    def down(self, host: str) -> HostDown | None:
        if self._limit <= 0 or self._streak.get(host, 0) < self._limit:
            return None
        return HostDown(failures=self._streak[host], last=self._last[host])
