"""archiver.preserve called as a library gets the folder lock and crash repair."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import archiver
from archiver.crawl.client import ClientSettings
from archiver.crawl.fetch import FetchSettings
from archiver.models import ArticleHead
from archiver.run.lock import LOCK_NAME, run_lock
from tests.reporting import Notes
from tests.warcfiles import records, write_open_file

HOLD_LOCK = (
    "import sys, time\nfrom pathlib import Path\n"
    "from archiver.run.lock import run_lock\n"
    "with run_lock(Path(sys.argv[1])):\n"
    "    print('held', flush=True); time.sleep(60)"
)


def settings(out: Path) -> archiver.PreserveSettings:
    return archiver.PreserveSettings(
        inputs=(),
        out=out,
        fetch=FetchSettings(allow_private=True),
        probe=False,
        client=ClientSettings(user_agent="test"),
    )


def test_a_library_run_repairs_what_a_killed_run_left_open(fakeweb, tmp_path):
    left, _ = write_open_file(tmp_path, [100])  # never closed: as kill -9 leaves it
    out = left.parent
    with left.open("ab") as handle:
        handle.write(b"\x1f\x8b torn")
    url = fakeweb.url("/page/library-run")
    gathered = archiver.gather([], urls=[url])
    reporter = Notes()
    summary = archiver.preserve(settings(out), gathered, reporter)
    assert not list(out.glob("*.open"))
    repaired = left.with_name(left.name.removesuffix(".open"))
    assert [r.rec_type for r, _ in records(repaired)] == [
        "warcinfo",
        "response",
        "request",
    ]
    assert any(n.startswith(f"repaired {repaired}") for n in reporter.notes), (
        reporter.notes
    )
    assert [s.url for s in summary.statuses] == [url]


def test_a_library_run_refuses_a_folder_another_run_holds(fakeweb, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        gathered = archiver.gather([], urls=[fakeweb.url("/page/locked")])
        with pytest.raises(archiver.RunLocked, match=f"pid {holder.pid}"):
            archiver.preserve(settings(out), gathered, Notes())
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert not list(out.glob("*.warc.gz"))


class _Refused(Exception):
    """What stops the run inside the lock, in the tests below."""


def _refused_in(folder: Path, *, writing: str | None = None) -> None:
    """A run that takes the folder's lock, maybe writes a file, then fails."""
    with run_lock(folder):
        assert (folder / LOCK_NAME).exists()
        if writing is not None:
            (folder / writing).write_bytes(b"")
        raise _Refused


def test_a_run_refused_inside_the_lock_removes_the_folders_it_made(tmp_path):
    """A night the store refuses must not leave an empty root holding a lock."""
    fresh = tmp_path / "new" / "root"
    with pytest.raises(_Refused):
        _refused_in(fresh)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(_Refused):
        _refused_in(fresh, writing="written.warc.gz")
    assert [p.name for p in fresh.iterdir()] == ["written.warc.gz"]  # kept
    with run_lock(fresh):
        pass
    assert (fresh / LOCK_NAME).exists()  # a run that went well keeps its lock file


def test_a_run_refused_by_the_lock_leaves_the_holder_s_lock_alone(tmp_path):
    out = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(archiver.RunLocked), run_lock(out):
            pass  # pragma: no cover - refused
        assert (out / LOCK_NAME).read_text().strip() == str(holder.pid)
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_gather_keeps_each_article_without_its_text(tmp_path):
    # A run holds what it gathered until the end: an article's text is read
    # for its links, then only which file it is and its header are kept.
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "<!--1729735621000-->\n[A title](https://example.org/story)\n------\n\n"
        + '<p><a href="https://example.org/cited">cited</a></p>\n' * 3
        + "words " * 2000,
        encoding="utf-8",
    )
    gathered = archiver.gather([folder])
    (head,) = gathered.articles.values()
    assert type(head) is ArticleHead
    assert (head.url, head.title) == ("https://example.org/story", "A title")
    assert not hasattr(head, "text")
    assert not hasattr(head, "body")
    assert [t.url for t in gathered.plan.targets] == [
        "https://example.org/story",
        "https://example.org/cited",
    ]
