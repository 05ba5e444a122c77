"""The run's work, queued by host, growing while the run goes on.

A page's requisites are only known once the page is fetched, so work is
added while workers run. Each host has a queue and at most ``per_host``
active workers; a worker leaves when its host's queue is empty, and adding
work to a host with room starts another. The run ends when the last worker
leaves, which is when no work is queued and none is being done (a worker
that is still fetching may yet add some).

A worker waiting out a backoff between two attempts (a 500, a reset) is
resting, not active: another worker takes the host's turn meanwhile, so a
host whose every URL fails once does not leave its slots idle for seconds.
The gate (:class:`archiver.crawl.politeness.HostGate`) still admits at most
``per_host`` requests at once; a worker that wakes to find the host's count
full finishes its URL, then leaves.

Work may also come from outside while the run goes on: a ``feed`` task
(a worker of a shared night claiming hosts from the store) runs beside the
host workers and adds what it is given; the run then ends when the feed has
returned and the queues are empty. :meth:`Frontier.busy` tells it which
hosts still have work queued or in hand.

At most ``handling`` URLs are handled at once over all hosts (when given):
a worker waits for its turn before it starts on a URL, not inside the
fetch, and a resting worker gives its turn back. A worker waiting at the
gate held its whole fetch (the retry machinery, the coroutines under it),
some 20 KB, and every host's workers started at once: 300 hosts' 1,200
workers were 20 MB before the first answer. The gate still admits
requests; this only keeps the waiting cheap.

Requisites go before the host's cited URLs still waiting, as a browser
loads a page's parts right after the page: the capture of a page and of
what it needs then lie close together in time, which is what replay tools
look for.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager

import trio

from archiver.models import Target
from archiver.run.recorder import Finished
from archiver.run.requisites import Wanted
from archiver.urls import authority

Work = Target | Wanted
Handle = Callable[[Work, "Frontier"], Awaitable[Finished | None]]
Feed = Callable[["Frontier"], Awaitable[None]]


class Frontier:
    """Host queues and their workers; ``run`` returns when all work is done."""

    def __init__(
        self, per_host: int, handle: Handle, *, handling: int | None = None
    ) -> None:
        self._per_host = per_host
        self._handle = handle
        self._turns = trio.CapacityLimiter(handling) if handling else None
        self._cited: dict[str, deque[Target]] = defaultdict(deque)
        self._requisites: dict[str, deque[Wanted]] = defaultdict(deque)
        self._active: dict[str, int] = defaultdict(int)  # workers not resting
        self._doing: dict[str, int] = defaultdict(int)  # items taken, not yet sent
        self._nursery: trio.Nursery | None = None
        self._send: trio.MemorySendChannel[Finished] | None = None

    async def run(
        self,
        work: Iterable[Work],
        send: trio.MemorySendChannel[Finished],
        feed: Feed | None = None,
    ) -> None:
        """Do ``work``, all it leads to and all ``feed`` adds, sending each fetch."""
        async with trio.open_nursery() as nursery:
            self._nursery, self._send = nursery, send
            for item in work:
                self.add(item)
            if feed is not None:
                nursery.start_soon(feed, self)
        self._nursery = self._send = None

    def drop(self, host: str) -> None:
        """Forget the work queued for ``host``; what is in hand still finishes."""
        self._requisites[host].clear()
        self._cited[host].clear()

    def busy(self, host: str) -> bool:
        """Whether ``host`` has work queued, or taken and not yet handed on."""
        return bool(self._requisites[host] or self._cited[host] or self._doing[host])

    def add(self, item: Work) -> None:
        """Queue ``item`` for its host; start a worker there if there is room."""
        host = authority(item.url if isinstance(item, Target) else item.target.url)
        if isinstance(item, Wanted):
            self._requisites[host].append(item)
        else:
            self._cited[host].append(item)
        self._start_if_room(host)

    @asynccontextmanager
    async def resting(self, host: str) -> AsyncIterator[None]:
        """While a worker of ``host`` waits (a backoff), another may work there."""
        self._active[host] -= 1
        self._start_if_room(host)
        if self._turns is not None:
            self._turns.release()
        try:
            yield
        finally:
            self._active[host] += 1
            if self._turns is not None:
                # Shielded: the turn the worker's ``async with`` gives back
                # must be held again, even while the run is being cancelled.
                with trio.CancelScope(shield=True):
                    await self._turns.acquire()

    def _start_if_room(self, host: str) -> None:
        if self._active[host] >= self._per_host:
            return
        if not (self._requisites[host] or self._cited[host]):
            return
        if self._nursery is None or self._send is None:
            raise RuntimeError("Frontier.add called outside Frontier.run")
        self._active[host] += 1
        self._nursery.start_soon(self._work, host, self._send.clone())

    async def _work(self, host: str, send: trio.MemorySendChannel[Finished]) -> None:
        requisites, cited = self._requisites[host], self._cited[host]
        with send:  # closed without a checkpoint, unlike ``async with``
            try:
                # More active workers than slots: one woke from a rest while
                # another had its turn. The surplus leaves; the rest carry on.
                while (requisites or cited) and self._active[host] <= self._per_host:
                    item: Work = requisites.popleft() if requisites else cited.popleft()
                    self._doing[host] += 1
                    try:
                        async with self._turns or contextlib.nullcontext():
                            finished = await self._handle(item, self)
                        if finished is not None:
                            await send.send(finished)
                    finally:
                        self._doing[host] -= 1
            finally:
                # No checkpoint since the queues were last seen empty, so work
                # added from now on finds the count lowered and starts a worker.
                self._active[host] -= 1
