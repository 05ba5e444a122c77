"""The recorder in-process: the one writer, and the order it promises.

Real fetches from the local server go through a real WARC sink; a history
that looks at the file on disk whenever it is told of a check shows that a
check never reaches the store before its record is in the WARC file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest
import trio
from warcio.archiveiterator import ArchiveIterator

from archiver.crawl.client import ClientSettings, build_client
from archiver.crawl.fetch import Fetcher, FetchSettings
from archiver.crawl.netguard import GuardedBackend, Resolver
from archiver.crawl.politeness import HostGate
from archiver.crawl.retry import RetryPolicy
from archiver.errors import ArchiveWriteError
from archiver.models import Body, Citation, LinkKind, LinkStatus, NormalizedURL, Target
from archiver.run.recorder import Finished, Recorder, Tally
from archiver.warc.writer import WarcSink
from tests.reporting import Notes


def target(url: str) -> Target:
    citation = Citation(
        article="a.txt", kind=LinkKind.LINK, element="a", attribute="href"
    )
    return Target(url=NormalizedURL(url), citations=(citation,))


class DiskCheckingHistory:
    """Reads each check's record back from the WARC file when told of it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.seen: list[str] = []

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        yield

    def send(self, status: LinkStatus) -> None:
        assert status.record is not None, status
        name = status.record.warc_file
        path = self.folder / name
        if not path.exists():
            path = self.folder / (name + ".open")  # still being written: fine
        with path.open("rb") as stream:
            stream.seek(status.record.offset)
            record = next(iter(ArchiveIterator(stream)))
        assert record.rec_headers.get_header("WARC-Target-URI") == status.url
        self.seen.append(status.url)


async def online() -> bool:
    """The outage watch's question: here the web always answers."""
    return True


@asynccontextmanager
async def fetcher_for(
    spool: Path, settings: FetchSettings, *, concurrency: int, per_host: int
) -> AsyncIterator[Fetcher]:
    """A real fetcher of the local server, its bodies spooled into ``spool``."""
    async with build_client(
        ClientSettings(user_agent="archiver-test"),
        timeout=5,
        concurrency=concurrency,
        guard=GuardedBackend(Resolver(), allow_private=True),
    ) as client:
        gate = HostGate(concurrency=concurrency, per_host=per_host)
        yield Fetcher(client, gate, settings, spool)


async def test_a_check_reaches_the_history_only_once_its_record_is_on_disk(
    fakeweb, tmp_path
):
    token = uuid.uuid4().hex[:8]
    urls = [fakeweb.url(f"/page/rec-{n}-{token}") for n in range(5)]
    spool = tmp_path / "spool"
    spool.mkdir()
    out = tmp_path / "out"
    sink = WarcSink(out, info={"software": "test"})
    history = DiskCheckingHistory(out)
    recorder = Recorder(sink, Tally(), Notes(), history, online)
    send, receive = trio.open_memory_channel[Finished](0)
    settings = FetchSettings(
        timeout=5, allow_private=True, retry=RetryPolicy(attempts=1, base=0.01)
    )
    async with (
        fetcher_for(spool, settings, concurrency=4, per_host=2) as fetcher,
        trio.open_nursery() as nursery,
    ):
        nursery.start_soon(recorder.run, receive)
        async with send:
            for url in urls:
                await send.send(Finished(await fetcher.fetch(target(url))))
    sink.close()
    assert history.seen == urls
    assert not list(spool.iterdir())  # every spooled body removed once written
    assert [s.url for s in recorder.tally.statuses] == urls


async def test_a_journal_that_cannot_be_written_is_an_error_naming_it(
    fakeweb, tmp_path
):
    # /dev/full: every write is "no space left on device", as on a full disk.
    out = tmp_path / "out"
    sink = WarcSink(out, info={"software": "test"})
    spool = tmp_path / "spool"
    spool.mkdir()
    journal = open("/dev/full", "w", encoding="utf-8")  # noqa: ASYNC230, SIM115
    try:
        recorder = Recorder(sink, Tally(), Notes(), None, online, journal)
        send, receive = trio.open_memory_channel[Finished](1)
        settings = FetchSettings(timeout=5, allow_private=True)
        async with fetcher_for(spool, settings, concurrency=1, per_host=1) as fetcher:
            url = fakeweb.url(f"/page/journal-{uuid.uuid4().hex[:8]}")
            await send.send(Finished(await fetcher.fetch(target(url))))
        await send.aclose()
        with pytest.raises(
            ArchiveWriteError, match="/dev/full: cannot write: No space"
        ):
            await recorder.run(receive)
    finally:
        sink.close()
        with pytest.raises(OSError, match="No space"):  # what is still buffered
            journal.close()


async def test_results_waiting_are_written_in_one_trip_and_a_failure_keeps_those_before(
    fakeweb, tmp_path
):
    """Three results arrive at once; the second cannot be written.

    The first is passed on (its record is on disk, synced, in the history)
    before the error ends the run; the third is neither written nor passed.
    """
    token = uuid.uuid4().hex[:8]
    urls = [fakeweb.url(f"/page/batch-{n}-{token}") for n in range(3)]
    spool = tmp_path / "spool"
    spool.mkdir()
    out = tmp_path / "out"
    sink = WarcSink(out, info={"software": "test"})
    history = DiskCheckingHistory(out)
    recorder = Recorder(sink, Tally(), Notes(), history, online)
    send, receive = trio.open_memory_channel[Finished](3)
    settings = FetchSettings(timeout=5, allow_private=True)
    async with fetcher_for(spool, settings, concurrency=2, per_host=2) as fetcher:
        results = [await fetcher.fetch(target(url)) for url in urls]
    hop = results[1].hops[0]
    gone = Body(length=10, truncated=False, complete=True, path=tmp_path / "gone")
    results[1] = replace(results[1], hops=(replace(hop, body=gone),))
    async with send:
        for result in results:
            send.send_nowait(Finished(result))
    with pytest.raises(FileNotFoundError):
        await recorder.run(receive)
    sink.close()
    assert history.seen == urls[:1]
    assert [s.url for s in recorder.tally.statuses] == urls[:1]
    with sink.closed_files[0].open("rb") as stream:
        written = [
            r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(stream)
        ]
    assert urls[0] in written
    assert urls[2] not in written
