"""Faults a run must survive: a full disk leaves valid WARC files and one line.

The disk is a real tmpfs of a few hundred kilobytes where this process may
mount one (root, as in CI); elsewhere the same fault comes from a file-size
limit (RLIMIT_FSIZE), which makes writes fail the same way.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.clirun import write_article

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Callable[[], None] | None]:
    """Mount a tmpfs of ``size`` on ``folder``; yield a function that grows it.

    Yields None when no filesystem can be mounted here.
    """
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        yield None
        return

    def grow() -> None:
        subprocess.run(["mount", "-o", "remount,size=20m", str(folder)], check=True)

    try:
        yield grow
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def limit_file_size() -> None:
    """In the child: writes past 200 kB fail with EFBIG, as on a full disk."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def preserve(
    article: Path, out: Path, *, limited: bool
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver", "preserve", str(article), "--out", str(out),
         "--allow-private", "--no-probe"],
        capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=limit_file_size if limited else None,
    )  # fmt: skip


def assert_every_warc_is_whole(out: Path) -> list[str]:
    """gzip -t and a full record walk of every WARC; no .open file left."""
    assert not list(out.glob("*.open"))
    uris = []
    for path in sorted(out.glob("*.warc.gz")):
        gzip.decompress(path.read_bytes())  # raises on a torn member
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                record.content_stream().read()
                uris.append(record.rec_headers.get_header("WARC-Target-URI"))
    return uris


@pytest.mark.parametrize("fault", ["tmpfs", "file-size-limit"])
def test_a_full_disk_stops_the_run_in_one_line_and_leaves_whole_files(
    fakeweb, tmp_path, fault
):
    # Bodies that do not compress, so the WARC needs their room. Under the
    # file-size limit each spooled body fits and the WARC file does not.
    sizes = [250_000] if fault == "tmpfs" else [150_000, 150_001]
    bigs = [fakeweb.url(f"/noise/{size}") for size in sizes]
    small = fakeweb.url("/page/before-the-disk-filled")
    article = write_article(
        tmp_path / "a.txt", small, "".join(f'<a href="{b}">big</a>' for b in bigs)
    )
    with small_disk(tmp_path / "disk", "400k") as grow:
        if fault == "tmpfs" and grow is None:
            pytest.skip("no tmpfs can be mounted here (needs root)")
        out = tmp_path / ("disk" if fault == "tmpfs" else "plain") / "out"
        done = preserve(article, out, limited=fault != "tmpfs")
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        (error,) = [line for line in done.stderr.splitlines() if "error" in line]
        assert error.startswith("archiver: error: ")
        assert ".warc.gz" in error
        assert "cut back to its last whole record" in error
        uris = assert_every_warc_is_whole(out)
        # What was written before the disk filled is kept: the article's copy.
        digest = hashlib.sha256(article.read_bytes()).hexdigest()
        assert f"urn:archiver:article:sha256:{digest}" in uris
        missing = [big for big in bigs if big not in uris]
        assert missing
        journal = out / "manifest.jsonl.partial"
        kept = [json.loads(line)["url"] for line in journal.read_text().splitlines()]
        assert not set(missing) & set(kept)  # the journal says only what was kept
        # room again: the next run archives everything, and indexes only whole files
        if grow is not None and fault == "tmpfs":
            grow()
        again = preserve(article, out, limited=False)
        assert again.returncode == 0, again.stderr
        assert set(bigs) <= set(assert_every_warc_is_whole(out))
        names = {p.name for p in out.glob("*.warc.gz")}
        index = (out / "index.cdxj").read_text().splitlines()
        assert index
        assert {
            json.loads(line.split(" ", 2)[2])["filename"] for line in index
        } <= names


def test_no_room_to_spool_a_body_is_one_line_naming_the_spool(fakeweb, tmp_path):
    big = fakeweb.url("/noise/250001")
    # The article's own page answers late: the disk fills while the big body
    # is spooled, not while the page's line is journaled.
    article = write_article(
        tmp_path / "a.txt", fakeweb.url("/slow/3/spool"), f'<a href="{big}">big</a>'
    )
    with small_disk(tmp_path / "disk", "120k") as grow:
        if grow is None:
            pytest.skip("no tmpfs can be mounted here (needs root)")
        out = tmp_path / "disk" / "out"
        done = preserve(article, out, limited=False)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        (error,) = [line for line in done.stderr.splitlines() if "error" in line]
        assert "cannot spool a response body" in error
        assert f"{out}/.spool-" in error
        assert big not in assert_every_warc_is_whole(out)
        assert not list(out.glob(".spool-*"))  # the run's spool is removed
