"""A run killed with SIGKILL, and two runs on one folder: the real CLI, real files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.clirun import links_to, preserve_local, write_article
from tests.fakeweb.server import FakeWeb


def start_preserve(folder: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "archiver",
            "preserve",
            str(folder / "a.txt"),
            "--out",
            str(folder / "out"),
            "--allow-private",
            "--no-probe",
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def wait_for(condition, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def slow_article(web: FakeWeb, folder: Path) -> None:
    token = uuid.uuid4().hex[:8]
    urls = {f"q{n}": web.url(f"/page/quick-{n}-{token}") for n in range(3)}
    urls |= {f"s{n}": web.url(f"/slow/30/{n}-{token}") for n in range(3)}
    write_article(folder / "a.txt", web.url(f"/page/crash-{token}"), links_to(urls))


def warc_check(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", "check"]
        + [str(p) for p in paths],
        capture_output=True,
        text=True,
        check=False,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_a_killed_run_leaves_records_the_next_run_repairs(fakeweb, tmp_path):
    slow_article(fakeweb, tmp_path)
    out = tmp_path / "out"
    victim = start_preserve(tmp_path, "--timeout", "60")
    try:
        # the quick pages are archived (and listed, which comes after their
        # records are written) while the slow ones hang
        wait_for(lambda: '"alive"' in _read(out / "manifest.jsonl.partial"))
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    (left,) = out.glob("*.warc.gz.open")
    # what finished before the kill is listed, and points into the WARC
    lines = (out / "manifest.jsonl.partial").read_text().splitlines()
    partial = [json.loads(line) for line in lines]
    done = [e for e in partial if e["outcome"] == "alive"]
    assert done
    assert {e["warc_file"] for e in done} == {left.name.removesuffix(".open")}
    result = preserve_local(
        tmp_path, "--no-probe", "--timeout", "0.5", "--retries", "1"
    )
    assert result.returncode == 0, result.stderr
    assert f"repaired {str(left).removesuffix('.open')}:" in result.stderr
    assert not list(out.glob("*.open"))
    files = sorted(out.glob("*.warc.gz"))
    assert len(files) == 2
    check = warc_check(files)
    assert check.returncode == 0, check.stdout + check.stderr
    with files[0].open("rb") as stream:  # the repaired file: the first run's
        kinds = [r.rec_type for r in ArchiveIterator(stream)]
    assert kinds[0] == "warcinfo"
    assert kinds.count("response") >= 1
    for entry in done:  # every record the killed run reported survived repair
        with files[0].open("rb") as stream:
            stream.seek(entry["warc_offset"])
            record = next(iter(ArchiveIterator(stream)))
            assert (
                record.rec_headers.get_header("WARC-Target-URI") == entry["final_url"]
            )
    assert not (out / "manifest.jsonl.partial").exists()


def test_a_second_run_on_the_same_folder_exits_at_once(fakeweb, tmp_path):
    slow_article(fakeweb, tmp_path)
    first = start_preserve(tmp_path, "--timeout", "60")
    try:
        lock = tmp_path / "out" / ".archiver.run.lock"
        wait_for(lambda: lock.exists() and lock.read_text().strip() == str(first.pid))
        started = time.monotonic()
        second = preserve_local(tmp_path, "--no-probe")
        assert time.monotonic() - started < 15
        assert second.returncode == 4
        assert f"pid {first.pid}" in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
