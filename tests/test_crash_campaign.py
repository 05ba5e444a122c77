"""Seeded crash campaigns: kill ``nightly`` and ``preserve`` anywhere, lose nothing.

Issues 12 and 13. A fixed seed picks, for each round, a signal (SIGKILL,
SIGTERM or SIGINT) and a moment between the process's start and a little
past the end of an uninterrupted run, so kills land in start-up, recovery,
fetching, writing and the final index alike. After every kill the files on
disk must already be sound (tests/integrity.py); after the last round an
uninterrupted run must leave everything indexed, copied and true.

The local web answers slowly (0.1-0.4 s per page), so a run is in flight for
about a second. Where a kill lands depends on the machine's speed; the seed
fixes which moments are tried, and every moment must be safe.
"""

from __future__ import annotations

import json
import random
import re
import signal
import subprocess
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import archiver
from tests.clirun import archiver_at, links_to, run_cli, write_article
from tests.integrity import (
    articles_are_copied,
    committed_captures_are_on_disk,
    index_lists_every_capture,
    journals_are_true,
    store_is_intact,
    walk_whole,
)

pytestmark = pytest.mark.slow

SEED = 20261202
NIGHT_ONE = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGINT)
BEFORE_ANY_CODE = -1000  # see signalled_process
# What each signal may end with: killed, or stopped gracefully (130/143).
ENDINGS = {
    signal.SIGKILL: {-signal.SIGKILL, 0},
    signal.SIGTERM: {143, -signal.SIGTERM, 0, BEFORE_ANY_CODE},
    signal.SIGINT: {130, -signal.SIGINT, 0, BEFORE_ANY_CODE},
}


def write_articles(folder: Path, fakeweb, token: str, count: int) -> None:
    folder.mkdir(exist_ok=True)
    for n in range(count):
        urls = {
            "page": fakeweb.url(f"/page/camp-{token}-{n}"),
            "slow": fakeweb.url(f"/slow/0.{1 + n % 4}/camp-{token}-{n}"),
            "zip": fakeweb.url(f"/gzip/camp-{token}-{n}"),
        }
        write_article(
            folder / f"a{n:02d}.txt",
            fakeweb.url(f"/page/camp-article-{token}-{n}"),
            links_to(urls) + f'<img src="{fakeweb.url(f"/image/{token}-{n}.png")}">',
        )


def signalled(command: list[str], at: datetime, after: float, signum: int) -> int:
    """Run ``archiver COMMAND`` (clock at ``at``), send ``signum`` after ``after`` s."""
    return signalled_process(command, at, after, signum)[0]


def signalled_process(
    command: list[str], at: datetime, after: float, signum: int
) -> tuple[int, int]:
    """As :func:`signalled`; the exit code and the process id."""
    victim = subprocess.Popen(
        [*archiver_at(at), *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(after)
    if victim.poll() is None:
        victim.send_signal(signum)
    _, stderr = victim.communicate(timeout=120)
    if before_any_code(stderr):
        return BEFORE_ANY_CODE, victim.pid
    assert "Traceback" not in stderr, stderr
    return victim.returncode, victim.pid


PACKAGE = str(Path(archiver.__file__).parent)


def before_any_code(stderr: str) -> bool:
    """Did the signal come while Python itself was starting (site, the finder)?

    Until the quiet entry (``archiver.cli.entry``) has installed its handler,
    Python reports a signal its own way (a fatal start-up error, or a
    traceback through ``site`` or the first lines that load the entry): a
    window of milliseconds no program code can close. A traceback through
    any other of archiver's code is ours, and fails the test.
    """
    if stderr.startswith("Fatal Python error: init"):
        return True
    if not stderr.rstrip().endswith("KeyboardInterrupt"):
        return False
    # Frames of ours, if any, may only be the few lines that load the quiet
    # entry itself (archiver/__init__.py and archiver/cli/entry.py at import).
    ours = re.findall(
        rf'File "{re.escape(PACKAGE)}/([^"]+)", line \d+, in (\S+)', stderr
    )
    first = {"__init__.py", "cli/__init__.py", "cli/entry.py"}
    return all(name in first and where == "<module>" for name, where in ours)


def wait_for_orphans(marker: str, limit: float = 60) -> None:
    """Until no process (a py-wacz a kill -9 orphaned) names ``marker``."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        running = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if marker.encode() in cmdline.read_bytes():
                    running.append(cmdline)
            except OSError:
                continue  # ended while we looked
        if not running:
            return
        time.sleep(0.2)
    raise AssertionError(f"processes naming {marker} still run after {limit} s")


def timed(command: list[str], at: datetime) -> float:
    began = time.monotonic()
    done = run_cli(*command, at=at)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - began


def test_nightly_killed_thirty_times_loses_no_check_no_capture_no_article(
    fakeweb, tmp_path
):
    rng = random.Random(SEED)
    token = uuid.uuid4().hex[:8]
    articles = tmp_path / "articles"
    write_articles(articles, fakeweb, token, 6)
    root = tmp_path / "warcs"
    store_file = root / "archiver.sqlite3"
    command = [
        "nightly", str(articles), "--out", str(root), "--allow-private", "--no-probe",
        "--alive-every", "1", "--suspect-every", "1", "--per-host", "4",
        "--browser", "never", "--log-format", "json",
    ]  # fmt: skip
    span = timed(command, NIGHT_ONE)
    endings = []
    for round_ in range(30):
        night = NIGHT_ONE + timedelta(days=1 + round_)
        if round_ % 5 == 0:  # an edited article: a new copy to write, new links
            edited = articles / f"a{round_ % 6:02d}.txt"
            extra = fakeweb.url(f"/page/camp-extra-{token}-{round_}")
            edited.write_text(edited.read_text() + f'<a href="{extra}">more</a>\n')
        signum = rng.choice(SIGNALS)
        code = signalled(command, night, rng.uniform(0.05, 1.15) * span, signum)
        assert code in ENDINGS[signum], (round_, signum, code)
        endings.append(code)
        store_is_intact(store_file)
        walk_whole(root)  # every closed file is whole, .open ones aside
        committed_captures_are_on_disk(root, store_file)
    assert any(code != 0 for code in endings)  # the campaign did interrupt runs
    # one uninterrupted night puts everything right
    timed(command, NIGHT_ONE + timedelta(days=40))
    assert not list(root.glob("**/*.open"))
    assert not list(root.glob("**/.spool-*"))
    store_is_intact(store_file)
    walk_whole(root)
    assert committed_captures_are_on_disk(root, store_file) > 0
    index_lists_every_capture(root, store_file)
    journals_are_true(root)
    articles_are_copied(root, articles)


def test_preserve_signalled_twenty_times_leaves_whole_files_and_finishes(
    fakeweb, tmp_path
):
    rng = random.Random(SEED + 1)
    token = uuid.uuid4().hex[:8]
    articles = tmp_path / "articles"
    write_articles(articles, fakeweb, token, 4)
    out = tmp_path / "out"
    command = [
        "preserve", str(articles), "--out", str(out), "--allow-private", "--no-probe",
        "--per-host", "4", "--browser", "never",
    ]  # fmt: skip
    span = timed(command, NIGHT_ONE)
    for round_ in range(20):
        signum = rng.choice(SIGNALS)
        left_open = set(out.glob("*.open"))  # by an earlier kill -9
        code = signalled(command, NIGHT_ONE, rng.uniform(0.05, 1.15) * span, signum)
        assert code in ENDINGS[signum], (round_, signum, code)
        walk_whole(out, "*.warc.gz")
        if code in (0, 130, 143):  # stopped gracefully: its own files are closed
            assert set(out.glob("*.open")) <= left_open
            journals_are_true(out)
    timed(command, NIGHT_ONE)
    assert not list(out.glob("*.open"))
    assert not list(out.glob(".spool-*"))
    # a capture, or a revisit of one an interrupted run already made
    captured = {
        uri
        for kind, uri in walk_whole(out, "*.warc.gz")
        if kind in ("response", "revisit")
    }
    journals_are_true(out)
    articles_are_copied(out, articles)
    listed = [
        json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()
    ]
    assert {entry["url"] for entry in listed} <= captured  # all archived
    indexed = set()
    for line in (out / "index.cdxj").read_text().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        indexed.add((fields["filename"], int(fields["offset"])))
    names = {path.name for path in out.glob("*.warc.gz")}
    assert {name for name, _ in indexed} <= names  # only whole, kept files
    for entry in listed:
        assert (entry["warc_file"], entry["warc_offset"]) in indexed, entry["url"]


def test_package_and_report_signalled_twenty_times_each_leave_old_or_new_whole(
    fakeweb, tmp_path
):
    """A WACZ or a report is never left half-written under its name."""
    rng = random.Random(SEED + 2)
    token = uuid.uuid4().hex[:8]
    articles = tmp_path / "articles"
    write_articles(articles, fakeweb, token, 3)
    root = tmp_path / "warcs"
    timed(
        ["nightly", str(articles), "--out", str(root), "--allow-private",
         "--no-probe", "--browser", "never"],
        NIGHT_ONE,
    )  # fmt: skip
    wacz, report = tmp_path / "all.wacz", tmp_path / "report.html"
    commands = {
        wacz: ["package", str(root), "--out", str(wacz)],
        report: [
            "report",
            "--store",
            str(root / "archiver.sqlite3"),
            "--out",
            str(report),
        ],
    }
    for target, command in commands.items():
        span = timed(command, NIGHT_ONE)
        for round_ in range(20):
            signum = rng.choice(SIGNALS)
            after = rng.uniform(0.05, 1.15) * span
            code, pid = signalled_process(command, NIGHT_ONE, after, signum)
            assert code in ENDINGS[signum], (target.name, round_, signum, code)
            if target == wacz:
                with zipfile.ZipFile(wacz) as packed:  # the old package or the new
                    assert packed.testzip() is None
            else:
                assert report.read_text(encoding="utf-8").rstrip().endswith("</html>")
            if code != -signal.SIGKILL:  # only a kill -9 can leave its temporary
                assert not list(tmp_path.glob(f".*.{pid}.tmp"))
        if target == wacz:  # the next package removes what kill -9 left
            wait_for_orphans(".all.wacz.")
            timed(command, NIGHT_ONE)
            assert not list(tmp_path.glob(".all.wacz.*.tmp"))
