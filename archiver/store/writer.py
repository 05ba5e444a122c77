"""Store writes from a trio program: batched, one worker thread at a time.

Fetch tasks hand statuses to :meth:`StoreWriter.send`, which never blocks.
Inside ``async with writer.writing():`` one task takes whatever has queued up
and writes it as one transaction in a worker thread. While a batch is being written the
next one gathers, so batches grow with the load and nothing waits on a timer.
Every store call goes through one ``CapacityLimiter(1)``, so the connection
is never used by two threads at once.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar, TypeVarTuple

import trio

from archiver.models import LinkStatus
from archiver.store.base import Store

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class StoreWriter:
    """The trio side of a store: send statuses inside ``async with writing()``.

    Send a status only once its WARC record is flushed to disk: then a check
    in the store always has its record. Leaving the block writes what is
    queued, then returns. If the block fails (or the writing is cancelled),
    statuses still queued are not written, and a resumed run fetches those
    URLs again (see :meth:`Store.checked_in_run`).
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        *,
        batch_size: int = 500,
        record: Callable[[str, Sequence[LinkStatus]], int] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self._store = store
        self._run_id = run_id
        # How a batch is written: the store's record_checks, or a worker's
        # commit that settles its frontier rows in the same transaction.
        self._record = record or store.record_checks
        self._batch_size = batch_size
        self._limiter = trio.CapacityLimiter(1)
        # Unbounded: a status is small and a run has a bounded number of URLs,
        # while a bounded buffer would make fetchers wait for the disk.
        self._send, self._receive = trio.open_memory_channel[LinkStatus](math.inf)
        self.written = 0  # checks added to the store so far

    def send(self, status: LinkStatus) -> None:
        """Queue ``status`` for the store; never blocks. Not allowed after close."""
        self._send.send_nowait(status)

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[StoreWriter]:
        """Write what is sent while inside; on leaving, whatever is still queued.

        The one way to run the writer, so the code that starts it is the code
        that stops it (no task elsewhere has to remember to close a queue).
        Leaving by an error cancels the writing: a store error raised in it
        ends the block too, as an error of the block.
        """
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._run)
            try:
                yield self
            except BaseException:
                nursery.cancel_scope.cancel()
                raise
            finally:
                self._send.close()

    async def _run(self) -> None:
        """Write queued statuses in batches until closed; store errors propagate."""
        async with self._receive:
            async for first in self._receive:
                batch = [first]
                while len(batch) < self._batch_size:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                self.written += await self.call(self._record, self._run_id, batch)

    async def call(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Run any store method in a worker thread, in turn with the writes.

        Use it for reads from trio code (``checked_in_run``, ``due_urls``), so
        the event loop never waits on the disk or on the store's lock.
        """
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)
