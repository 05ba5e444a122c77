"""The recorder in-process: the one writer, and the order it promises.

Real fetches from the local server go through a real WARC sink; a history
that looks at the file on disk whenever it is told of a check shows that a
check never reaches the store before its record is in the WARC file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio
from warcio.archiveiterator import ArchiveIterator

from archiver.crawl.client import ClientSettings, build_client
from archiver.crawl.fetch import Fetcher, FetchSettings
from archiver.crawl.netguard import GuardedBackend, Resolver
from archiver.crawl.politeness import HostGate
from archiver.crawl.retry import RetryPolicy
from archiver.models import Citation, LinkKind, LinkStatus, NormalizedURL, Target
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

    async def online() -> bool:
        return True

    recorder = Recorder(sink, Tally(), Notes(), history, online)
    send, receive = trio.open_memory_channel[Finished](0)
    resolver = Resolver()
    settings = FetchSettings(
        timeout=5, allow_private=True, retry=RetryPolicy(attempts=1, base=0.01)
    )
    async with build_client(
        ClientSettings(user_agent="archiver-test"),
        timeout=5,
        concurrency=4,
        guard=GuardedBackend(resolver, allow_private=True),
    ) as client:
        fetcher = Fetcher(client, HostGate(concurrency=4, per_host=2), settings, spool)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(recorder.run, receive)
            async with send:
                for url in urls:
                    await send.send(Finished(await fetcher.fetch(target(url))))
    sink.close()
    assert history.seen == urls
    assert not list(spool.iterdir())  # every spooled body removed once written
    assert [s.url for s in recorder.tally.statuses] == urls
