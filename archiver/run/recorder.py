"""The recording task: the one writer of WARC records, and what it passes on.

Fetches run concurrently; their results meet here, in arrival order. Each is
classified, its records written from one worker thread (warcio blocks; the
results waiting go in one trip), and
its status passed to the reporter and the history when the offline verdict
allows (:class:`archiver.run.offline.OutageWatch` decides; this module only
does what it says).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import trio

from archiver import bodies
from archiver.errors import ArchiveWriteError
from archiver.models import FetchResult, Hop, LinkStatus, RecordRef
from archiver.run import browsing, classify, manifest
from archiver.run.offline import OutageWatch
from archiver.run.requisites import Book, Wanted, from_status
from archiver.run.statuses import StatusFile
from archiver.warc.writer import WarcSink


class Reporter(Protocol):
    """Receives the run's events; ``archiver.cli.progress`` has the implementations."""

    def article_error(self, message: str) -> None: ...
    def note(self, message: str) -> None: ...
    def planned(self, total: int) -> None: ...
    def done(self, status: LinkStatus) -> None: ...


class History(Protocol):
    """Where a run's checks go once their records are on disk (the store).

    ``send`` is called only after the WARC records of a status are synced,
    and never for a status that says nothing about the link (an offline
    machine, the deadline): so a crash or an outage cannot make a link look
    dead, and a resumed run fetches again whatever was not committed.
    """

    def writing(self) -> AbstractAsyncContextManager[object]:
        """While inside, sends are written; leaving writes what is queued."""
        ...

    def send(self, status: LinkStatus) -> None: ...


@dataclass(slots=True)
class Tally:
    """What the recording task has done so far; owned by that one task.

    ``statuses`` holds what was passed on, so a status the offline verdict
    still holds back is not in it until the verdict is known. A run keeps
    them on disk (:class:`archiver.run.statuses.StatusFile`); a list will do
    for a short one.
    """

    statuses: list[LinkStatus] | StatusFile = field(default_factory=list)
    bytes: int = 0
    outage: OutageWatch = field(default_factory=OutageWatch)
    offline: bool = False  # no host and no canary answered: nothing is known


@dataclass(frozen=True, slots=True)
class Finished:
    """A fetch on its way to be recorded; ``wanted`` is set for a page requisite.

    A requisite's records are written like any others, but its status goes
    to the book of requisites only: it is not a citation, so it is never in
    the manifest, the history or the log, and cannot make a link look dead.
    """

    result: FetchResult
    wanted: Wanted | None = None


Item = Finished | browsing.Proxied | browsing.Rendered
"""What reaches the recording task: a fetch, a browser's request, a rendered page."""

# At most this many items go to the worker thread at once.
_BATCH = 64


@dataclass(slots=True)
class _Written:
    """What one trip to the writing thread did: records per item, then any error."""

    refs: list[list[RecordRef]] = field(default_factory=list)
    error: Exception | None = None


def _hops(item: Item) -> Iterable[Hop]:
    """The hops whose bodies ``item`` holds (let go once written)."""
    if isinstance(item, browsing.Proxied):
        hop = item.exchange.response
        return () if hop is None else (hop,)
    return item.result.bodies


class Recorder:
    """The one task that writes WARC records and hands statuses on.

    It classifies results as they arrive, writes their records from one
    worker thread, and passes statuses on as the tally's ``OutageWatch``
    admits them: network-level failures wait until some host has answered.
    """

    def __init__(
        self,
        sink: WarcSink,
        tally: Tally,
        reporter: Reporter,
        history: History | None,
        is_online: Callable[[], Awaitable[bool]],
        journal: TextIO | None = None,
        book: Book | None = None,
    ) -> None:
        self.sink = sink
        self.tally = tally
        self.reporter = reporter
        self.history = history
        self.is_online = is_online  # asks the canaries
        self.journal = journal  # manifest lines as URLs finish, for a killed run
        self.book = book  # where requisites' statuses go

    async def run(self, receive: trio.MemoryReceiveChannel[Item]) -> None:
        one_thread = trio.CapacityLimiter(1)
        async with receive:
            async for item in receive:
                batch = [item]
                # What else has arrived goes to the thread with it: a trip to
                # a worker thread and back cost more CPU than writing a short
                # page's records.
                while len(batch) < _BATCH:
                    try:
                        batch.append(receive.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                await self._record(batch, one_thread)
        verdict = await self.tally.outage.settle(self.is_online)
        self.tally.offline = verdict.offline
        for status in verdict.statuses:
            # Relabelled as network-unavailable, a status says nothing
            # about its link: the store must not count it as a check.
            self._pass_on(status, history=not verdict.offline)

    async def _record(self, batch: list[Item], thread: trio.CapacityLimiter) -> None:
        """Write the records of ``batch`` in one trip to the thread, then pass on.

        Items are written in order; if one fails, those before it are still
        passed on before the error goes up, as if each had had its own trip.
        """
        try:
            written = await trio.to_thread.run_sync(
                self._write_all, batch, limiter=thread
            )
        finally:
            for item in batch:
                for hop in _hops(item):
                    bodies.discard(hop.body)
        tally = self.tally
        for item, refs in zip(batch, written.refs, strict=False):
            if isinstance(item, browsing.Proxied):
                tally.bytes += sum(hop.body.length for hop in _hops(item))
                continue
            if isinstance(item, browsing.Rendered):
                result, wanted, rendered = item.result, None, item
            else:
                result, wanted, rendered = item.result, item.wanted, None
            spent = sum(hop.body.length for hop in result.bodies)
            tally.bytes += spent
            status = classify.classify(result, refs[-1] if refs else None)
            if wanted is not None:
                if self.book is not None:
                    check = from_status(status, wanted.kind)
                    self.book.checked(wanted, check, spent)
                continue
            if rendered is not None:
                status = browsing.judged(status, rendered)
            for ready in tally.outage.admit(result, status):
                self._pass_on(ready)
        if written.error is not None:
            raise written.error

    def _write_all(self, batch: list[Item]) -> _Written:
        """Every item's records, in order (in the worker thread); synced once.

        Stops at the first failure, which is returned, not raised: what was
        written before it is still passed on.
        """
        done = _Written()
        must_sync = False
        try:
            for item in batch:
                if isinstance(item, browsing.Proxied):
                    hop = item.exchange.response
                    if hop is not None:  # else refused or failed: the page lists it
                        self.sink.write_hop(hop)
                    done.refs.append([])
                    continue
                if isinstance(item, browsing.Rendered):
                    result, cited, rendered = item.result, True, item
                else:
                    result, cited, rendered = item.result, item.wanted is None, None
                refs = self._write(result, rendered)
                must_sync |= cited and bool(refs) and self.history is not None
                done.refs.append(refs)
            if must_sync:
                self.sink.sync()  # on disk before the history may say so
        except Exception as exc:  # noqa: BLE001 - raised again by the caller
            done.error = exc
            if must_sync:
                # The items before the failure are passed on: their records
                # must be on disk first, as ever.
                try:
                    self.sink.sync()
                except ArchiveWriteError:
                    done.refs.clear()
        return done

    def _write(
        self, result: FetchResult, rendered: browsing.Rendered | None = None
    ) -> list[RecordRef]:
        for hop in result.retried:
            self.sink.write_hop(hop)
        refs = [self.sink.write_hop(hop) for hop in result.hops]
        if rendered is not None:
            when = rendered.capture.started if rendered.capture else result.finished
            self.sink.write_resources(
                result.target.url, when, rendered.resources(), rendered.fields()
            )
        return refs

    def _pass_on(self, status: LinkStatus, *, history: bool = True) -> None:
        self.tally.statuses.append(status)
        if self.journal is not None:
            try:
                self.journal.write(manifest.line(status))
                self.journal.flush()
            except OSError as exc:  # the disk is full, or gone
                raise ArchiveWriteError(
                    f"{self.journal.name}: cannot write: {exc.strerror or exc}"
                ) from exc
        self.reporter.done(status)
        if history and self.history is not None:
            self.history.send(status)
