"""Helpers for the browser tests: is chromium there, WARC records, a reporter."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trio
from warcio.archiveiterator import ArchiveIterator

from archiver.browser.chromium import Chromium

CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium package (apt-get install chromium), which "
    ".ci/run installs; browser capture cannot be tested without it",
)

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
)  # fmt: skip


@dataclass(frozen=True)
class Run:
    out: Path
    manifest: dict[str, dict[str, Any]]
    records: list[tuple[Any, bytes]]
    urls: dict[str, str]
    tokens: dict[str, str]
    stderr: str


def read_records(out: Path) -> list[tuple[Any, bytes]]:
    found: list[tuple[Any, bytes]] = []
    for path in sorted(out.glob("*.warc.gz")):
        with path.open("rb") as stream:
            found.extend(
                (record, record.content_stream().read())
                for record in ArchiveIterator(stream)
            )
    return found


def by_uri(run: Run, kind: str, uri: str) -> list[tuple[Any, bytes]]:
    return [
        (r, body)
        for r, body in run.records
        if r.rec_type == kind and r.rec_headers.get_header("WARC-Target-URI") == uri
    ]


@contextlib.asynccontextmanager
async def devtools_tab(
    flags: tuple[str, ...], scratch: Path
) -> AsyncIterator[tuple[Chromium, str]]:
    """A headless Chromium with one blank tab: the browser and the tab's session.

    Driven over DevTools by the project's own client (the one browser
    capture uses), for tests that read a page's live DOM, frames and
    shadow roots included; the browser is closed on the way out.
    """
    assert CHROMIUM is not None
    async with trio.open_nursery() as nursery:
        browser = Chromium(CHROMIUM, flags, scratch)
        await browser.start(nursery)
        try:
            target = await browser.send("Target.createTarget", {"url": "about:blank"})
            attach = {"targetId": target["targetId"], "flatten": True}
            attached = await browser.send("Target.attachToTarget", attach)
            yield browser, str(attached["sessionId"])
        finally:
            await browser.aclose()
            nursery.cancel_scope.cancel()
