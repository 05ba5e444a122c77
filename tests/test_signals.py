"""Ctrl-C and SIGTERM stop a run gracefully: one line, exit 130/143, valid files.

The real CLI in a subprocess, against the local server's slow pages, signalled
once some URLs are done and others are still being fetched.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.clirun import links_to, run_cli, write_article

pytestmark = pytest.mark.slow


def start(tmp_path: Path, fakeweb) -> tuple[subprocess.Popen[str], Path, list[str]]:
    token = uuid.uuid4().hex[:8]
    urls = {f"q{n}": fakeweb.url(f"/page/q{n}-{token}") for n in range(3)}
    urls |= {f"s{n}": fakeweb.url(f"/slow/3/s{n}-{token}") for n in range(6)}
    article = write_article(
        tmp_path / "a.txt", fakeweb.url(f"/page/sig-{token}"), links_to(urls)
    )
    out = tmp_path / "out"
    args = [
        "preserve", str(article), "--out", str(out), "--allow-private", "--no-probe",
        "--no-requisites", "--per-host", "2",
    ]  # fmt: skip
    victim = subprocess.Popen(
        [sys.executable, "-m", "archiver", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    journal = out / "manifest.jsonl.partial"
    deadline = time.monotonic() + 30
    while not (journal.exists() and journal.read_text().count("\n") >= 2):
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.05)
    return victim, out, args


def python_c(script: str, *, timeout: float) -> subprocess.CompletedProcess[str]:
    """``python -c SCRIPT`` in a subprocess, its output kept as text."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_whole(out: Path) -> set[str]:
    assert not list(out.glob("*.open"))
    uris = set()
    for path in sorted(out.glob("*.warc.gz")):
        gzip.decompress(path.read_bytes())
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                record.content_stream().read()
                if record.rec_type in ("response", "revisit"):
                    uris.add(record.rec_headers.get_header("WARC-Target-URI"))
    return uris


@pytest.mark.parametrize(
    ("signum", "code", "name"),
    [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")],
)
def test_a_signal_stops_the_run_in_one_line_with_a_manifest_of_what_was_done(
    fakeweb, tmp_path, signum, code, name
):
    victim, out, args = start(tmp_path, fakeweb)
    signalled = time.monotonic()
    victim.send_signal(signum)
    _, stderr = victim.communicate(timeout=30)
    assert time.monotonic() - signalled < 10  # the slow pages were not awaited
    assert victim.returncode == code, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"archiver: interrupted by {name}: ")
    archived = assert_whole(out)
    listed = [
        json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()
    ]
    assert listed
    assert {entry["url"] for entry in listed if entry["warc_file"]} <= archived
    assert not (out / "manifest.jsonl.partial").exists()
    assert (out / "index.cdxj").read_text()
    # the next run into the same folder finishes the job
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    lines = (out / "manifest.jsonl").read_text().splitlines()
    everything = {json.loads(line)["url"] for line in lines}
    assert len(everything) == 10
    assert everything <= assert_whole(out)


def test_a_second_ctrl_c_stops_at_once_and_still_leaves_whole_files(fakeweb, tmp_path):
    victim, out, _ = start(tmp_path, fakeweb)
    victim.send_signal(signal.SIGINT)
    victim.send_signal(signal.SIGINT)
    _, stderr = victim.communicate(timeout=30)
    # 130 from archiver, or killed by the second SIGINT while the interpreter
    # was already shutting down: a shell reports 130 for both.
    assert victim.returncode in (130, -signal.SIGINT), stderr
    assert "Traceback" not in stderr
    assert_whole(out)


def test_the_next_run_keeps_a_killed_runs_journal_and_drops_its_spool(
    fakeweb, tmp_path
):
    victim, out, args = start(tmp_path, fakeweb)
    victim.kill()  # kill -9: no clean-up at all
    victim.communicate(timeout=30)
    journal = (out / "manifest.jsonl.partial").read_text()
    assert list(out.glob(".spool-*"))
    again = run_cli(*args)
    assert again.returncode == 0, again.stderr
    (kept,) = out.glob("manifest.interrupted-*.jsonl")
    assert kept.read_text() == journal
    assert f"kept {kept}" in again.stderr
    assert not list(out.glob(".spool-*"))


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_while_the_program_loads_is_one_line_not_a_traceback(
    signum, code, said
):
    # The window the console script and python -m archiver open first
    # (archiver.cli.entry), with the signal delivered inside it for certain.
    loading = (
        "import os, signal, time\n"
        "from archiver.cli.entry import quiet_while_loading\n"
        "with quiet_while_loading():\n"
        f"    os.kill(os.getpid(), {int(signum)})\n"
        "    time.sleep(10)\n"
    )
    done = python_c(loading, timeout=30)
    assert done.returncode == code
    assert done.stderr == f"archiver: {said}\n"


def test_the_installed_script_starts_in_the_quiet_entry():
    scripts = importlib.metadata.entry_points(group="console_scripts")
    (script,) = [entry for entry in scripts if entry.name == "archiver"]
    assert script.value == "archiver.cli.entry:run"


def test_sigterm_landing_in_trios_scheduler_is_still_exit_143():
    # Outside the crawl's own signal receiver, SIGTERM's handler exits from
    # wherever Python is; between two tasks that is trio's scheduler, which
    # then fails with TrioInternalError caused by the exit (seen once in 150
    # signalled nightly runs). The trace delivers it there for certain.
    script = (
        "import os, signal, sys, click, trio\n"
        "from archiver.cli import main as entry\n"
        "def deliver(frame, event, arg):\n"
        "    if event == 'call' and frame.f_code.co_name == 'task_exited':\n"
        "        sys.settrace(None)\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return None\n"
        "@click.command('spin')\n"
        "def spin():\n"
        "    sys.settrace(deliver)\n"
        "    trio.run(trio.sleep, 0)\n"
        "entry.cli.add_command(spin)\n"
        "entry.main(['spin'])\n"
    )
    done = python_c(script, timeout=30)
    assert done.stderr == "archiver: terminated\n"
    assert done.returncode == 143


def test_sigterm_before_the_crawl_starts_closes_the_warc_file(fakeweb, tmp_path):
    # Between the article records and trio's own signal handling, SIGTERM's
    # handler exits from inside preserve: its files must still be closed.
    article = write_article(
        tmp_path / "a.txt", fakeweb.url(f"/page/early-{uuid.uuid4().hex}"), ""
    )
    out = tmp_path / "out"
    script = (
        "import os, signal, sys\n"
        "from archiver.cli import main as entry\n"
        "def deliver(frame, event, arg):\n"
        "    if event == 'return' and frame.f_code.co_name == '_archive_articles':\n"
        "        sys.settrace(None)\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "    return deliver if frame.f_code.co_name == '_archive_articles' else None\n"
        "sys.settrace(deliver)\n"
        f"entry.main(['preserve', {str(article)!r}, '--out', {str(out)!r},\n"
        "            '--allow-private', '--no-probe', '--browser', 'never'])\n"
    )
    done = python_c(script, timeout=60)
    assert done.returncode == 143, done.stderr
    assert done.stderr.endswith("archiver: terminated\n"), done.stderr
    assert list(out.glob("*.warc.gz"))  # the article's record was written
    assert not list(out.glob("*.open"))
    assert not list(out.glob(".spool-*"))
    assert_whole(out)
