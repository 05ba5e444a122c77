"""``archiver fix`` keeps the web archives' answers in the store; asks again when due.

One real nightly run (a link is dead after one failure) makes a store; each
test works on its own copy of it, against the fake Memento archive, whose
request log says what it was asked. A second run must ask it nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.store.base import open_store
from tests.clirun import run_cli
from tests.fakememento import FakeArchive
from tests.fakeweb.server import FakeWeb, closed_port

NIGHT = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)
AFTER = NIGHT + timedelta(hours=6)
PUBLISHED = datetime(2015, 6, 1, tzinfo=UTC)
CAPTURES = [
    (datetime(2015, 5, 20, tzinfo=UTC), 200),
    (datetime(2019, 3, 2, tzinfo=UTC), 404),
]


@pytest.fixture(scope="module")
def archive() -> Iterator[FakeArchive]:
    fake = FakeArchive().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def built(
    fakeweb: FakeWeb, archive: FakeArchive, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("fixcache")
    token = uuid.uuid4().hex[:8]
    urls = {
        name: fakeweb.url(f"/status/404/{name}-{token}") for name in ("gone", "lost")
    }
    archive.add(urls["gone"], CAPTURES)
    (root / "articles").mkdir()
    millis = int(PUBLISHED.timestamp() * 1000)
    (root / "articles" / "a.txt").write_text(
        f"<!--{millis}-->\n[A]({fakeweb.url(f'/page/a-{token}')})\n------\n\n"
        f'<p><a href="{urls["gone"]}">gone</a> <a href="{urls["lost"]}">lost</a></p>\n'
    )
    done = run_cli(
        "nightly", str(root / "articles"), "--out", str(root / "warcs"),
        "--allow-private", "--dead-after-failures", "1", "--dead-after-days", "0",
        "--retries", "1", "--no-probe", "--no-requisites", at=NIGHT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return root / "warcs" / "archiver.sqlite3", urls


@pytest.fixture
def store(built: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    copy = tmp_path / "archiver.sqlite3"
    shutil.copy(built[0], copy)
    return copy


def fix(
    store: Path, archive: FakeArchive, *args: str, at: datetime = AFTER
) -> tuple[str, str, int]:
    """Run fix; return its CSV, its stderr and how many requests the archive saw."""
    before = len(archive.requests)
    done = run_cli(
        "fix", "--store", str(store), "--memento-timegate", archive.base,
        "--allow-private", "--memento-retries", "1", *args, at=at,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout, done.stderr, len(archive.requests) - before


def test_a_second_run_asks_the_archive_nothing(store, archive, built):
    first, _, asked = fix(store, archive)
    assert asked >= 3  # a TimeGate for each link, the memento, the TimeMap
    second, said, again = fix(store, archive)
    assert again == 0
    assert second == first  # the same list, the same replacements
    assert "kept in the store" in said
    with open_store(store, read_only=True) as opened:
        kept = opened.memento_answers(built[1].values())
    assert {(a.url, a.holds) for a in kept} == {
        (built[1]["gone"], True),
        (built[1]["lost"], False),
    }
    assert all(AFTER <= a.asked < AFTER + timedelta(minutes=1) for a in kept)
    assert {a.wanted for a in kept} == {PUBLISHED}


def test_memento_refresh_asks_again_and_keeps_the_new_answers(store, archive, built):
    fix(store, archive)
    listed, _, asked = fix(store, archive, "--memento-refresh", at=AFTER + timedelta(1))
    assert asked >= 3
    with open_store(store, read_only=True) as opened:
        kept = opened.memento_answers(built[1].values())
    assert all(a.asked >= AFTER + timedelta(1) for a in kept)
    assert fix(store, archive)[0] == listed


def test_an_answer_of_nothing_held_is_asked_again_after_thirty_days(
    store, archive, built
):
    gone, lost = built[1]["gone"], built[1]["lost"]
    fix(store, archive)
    assert fix(store, archive, at=AFTER + timedelta(days=29))[2] == 0
    before = {url: archive.asked(url) for url in (gone, lost)}
    fix(store, archive, at=AFTER + timedelta(days=31))
    assert archive.asked(lost) > before[lost]  # "holds nothing" went stale
    assert archive.asked(gone) == before[gone]  # a capture found stays found


def test_an_archive_that_failed_is_asked_again_and_its_failure_never_kept(
    store, archive
):
    down = f"http://127.0.0.1:{closed_port()}/web/"
    args = ("--memento-timegate", down)
    _, said, _ = fix(store, archive, *args)
    assert f"{down}: unreachable" in said
    _, said, asked = fix(store, archive, *args)
    assert f"{down}: unreachable" in said  # asked again: nothing was kept of it
    assert asked == 0  # while the archive that answered is not


def test_a_read_only_store_still_gives_the_whole_list(store, archive, tmp_path):
    disk = tmp_path / "ro"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip("no filesystem can be mounted read-only here (needs root)")
    try:
        shutil.copy(store, disk / store.name)
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        frozen = disk / store.name
        before = hashlib.sha256(frozen.read_bytes()).hexdigest()
        listed, said, asked = fix(frozen, archive)
        assert asked >= 3
        assert "answer(s) not kept in the store" in said
        assert said.count("\n") <= 3  # one line each, no traceback
        again, _, asked_again = fix(frozen, archive)
        assert (again, asked_again) == (listed, asked)  # asked again, same list
        assert hashlib.sha256(frozen.read_bytes()).hexdigest() == before
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    # The same list as from a store that can keep the answers.
    assert fix(store, archive)[0] == listed
