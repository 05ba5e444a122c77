"""The recording task: the one writer of WARC records, and what it passes on.

Fetches run concurrently; their results meet here, in arrival order. Each is
classified, its records written from one worker thread (warcio blocks), and
its status passed to the reporter and the history. Network-level failures
are held back until some host has answered, because until then they may be
this machine's outage rather than the links' fault (:mod:`archiver.run.offline`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, TextIO

import trio

from archiver.models import FetchResult, LinkStatus, Outcome, RecordRef
from archiver.run import browsing, classify, manifest
from archiver.run.offline import NETWORK_REASONS, looks_offline
from archiver.warc.writer import WarcSink

Item = FetchResult | browsing.Proxied | browsing.Rendered
"""What reaches the recording task: a plain capture, a browser's request, a page."""


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

    async def run(self) -> None: ...
    def send(self, status: LinkStatus) -> None: ...
    def close(self) -> None: ...


@dataclass(slots=True)
class Tally:
    """What the recording task has done so far; owned by that one task.

    Until some host answers, a network-level failure may mean that this
    machine is offline rather than that the link is dead, so those statuses
    are held back from the reporter (and the log) until the verdict is known.
    """

    statuses: list[LinkStatus] = field(default_factory=list)
    bytes: int = 0
    online: bool = False  # some host answered: network failures are the web's
    held: list[LinkStatus] = field(default_factory=list)
    offline: bool = False  # no host and no canary answered: nothing is known


class Recorder:
    """The one task that writes WARC records and hands statuses on.

    It classifies results as they arrive, writes their records from one
    worker thread, and holds back network-level failures (from the log and
    the history) until some host has answered, because until then they may
    be this machine's outage rather than the links' fault.
    """

    def __init__(
        self,
        sink: WarcSink,
        tally: Tally,
        reporter: Reporter,
        history: History | None,
        is_online: Callable[[], Awaitable[bool]],
        journal: TextIO | None = None,
    ) -> None:
        self.sink = sink
        self.tally = tally
        self.reporter = reporter
        self.history = history
        self.is_online = is_online  # asks the canaries
        self.journal = journal  # manifest lines as URLs finish, for a killed run

    async def run(self, receive: trio.MemoryReceiveChannel[Item]) -> None:
        one_thread = trio.CapacityLimiter(1)
        tally = self.tally
        try:
            async with receive:
                async for item in receive:
                    if isinstance(item, browsing.Proxied):
                        await self._proxied(item, one_thread)
                        continue
                    rendered = item if isinstance(item, browsing.Rendered) else None
                    result = (
                        item.result if isinstance(item, browsing.Rendered) else item
                    )
                    try:
                        refs = await trio.to_thread.run_sync(
                            self._write, result, rendered, limiter=one_thread
                        )
                    finally:
                        for hop in result.bodies:
                            hop.body.path.unlink(missing_ok=True)
                    tally.bytes += sum(hop.body.length for hop in result.bodies)
                    status = classify.classify(result, refs[-1] if refs else None)
                    if rendered is not None:
                        status = browsing.judged(status, rendered)
                    tally.statuses.append(status)
                    if tally.online or status.outcome is Outcome.REFUSED_PRIVATE:
                        self._pass_on(status)
                    elif status.reason in NETWORK_REASONS:
                        tally.held.append(status)
                    else:
                        tally.online = True
                        for held in (*tally.held, status):
                            self._pass_on(held)
                        tally.held.clear()
            if tally.held:
                tally.offline = looks_offline(tally.statuses) and not (
                    await self.is_online()
                )
                if not tally.offline:
                    for held in tally.held:
                        self._pass_on(held)
        finally:
            if self.history is not None:
                self.history.close()

    async def _proxied(
        self, item: browsing.Proxied, thread: trio.CapacityLimiter
    ) -> None:
        """A request a page made in the browser: its records, like any hop's."""
        hop = item.exchange.response
        if hop is None:
            return  # refused or failed: the page's metadata record lists it
        try:
            await trio.to_thread.run_sync(self.sink.write_hop, hop, limiter=thread)
        finally:
            hop.body.path.unlink(missing_ok=True)
        self.tally.bytes += hop.body.length

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
        if refs and self.history is not None:
            self.sink.sync()  # on disk before the history may say so
        return refs

    def _pass_on(self, status: LinkStatus) -> None:
        if self.journal is not None:
            self.journal.write(manifest.line(status))
            self.journal.flush()
        self.reporter.done(status)
        if self.history is not None:
            self.history.send(status)
