"""A bug is one line and a crash log; the files it leaves are valid and resumable.

The bug is real code raising in a real ``archiver preserve`` process: the
child replaces the verdict function with one that raises on its third call,
mid-run, after records were written.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.cli.crashlog import state_folder, write_crash_log
from archiver.cli.main import main
from tests.clirun import links_to, read_manifest, write_article

pytestmark = pytest.mark.slow

_BUGGY = """
import sys
import archiver.run.classify as classify
real, calls = classify.classify, []
def buggy(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        raise RuntimeError("a bug planted by the test")
    return real(*args, **kwargs)
classify.classify = buggy
from archiver.cli.main import main
main(sys.argv[1:])
"""


def preserve(article: Path, out: Path, env: dict[str, str], *, buggy: bool):
    start = ["-c", _BUGGY] if buggy else ["-m", "archiver"]
    return subprocess.run(
        [sys.executable, *start, "preserve", str(article), "--out", str(out),
         "--allow-private", "--no-probe", "--concurrency", "1"],
        capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def walk(out: Path) -> set[str]:
    """Every record of every WARC read whole (gzip and warcio); their URIs."""
    assert not list(out.glob("*.open"))
    uris = set()
    for path in out.glob("*.warc.gz"):
        gzip.decompress(path.read_bytes())
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                record.content_stream().read()
                uris.add(record.rec_headers.get_header("WARC-Target-URI"))
    return uris


@pytest.fixture
def article(fakeweb, tmp_path) -> tuple[Path, list[str]]:
    urls = [fakeweb.url(f"/page/bug-{n}") for n in range(6)]
    links = links_to({f"link {n}": url for n, url in enumerate(urls)})
    return write_article(tmp_path / "a.txt", fakeweb.url("/page/bug"), links), urls


def test_a_bug_is_one_line_naming_its_crash_log_and_the_next_run_resumes(
    article, tmp_path
):
    path, urls = article
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    out = tmp_path / "out"
    done = preserve(path, out, env, buggy=True)
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "error" in line]
    assert line.startswith(
        "archiver: internal error (RuntimeError: a bug planted by the test); "
    )
    logs = list((tmp_path / "state" / "archiver").glob("crash-*.log"))
    assert len(logs) == 1
    assert f"details in {logs[0]}" in line
    log = logs[0].read_text()
    assert "Traceback" in log
    assert "a bug planted by the test" in log
    assert "command: archiver preserve" in log
    walk(out)  # whatever was written before the bug is whole
    again = preserve(path, out, env, buggy=False)
    assert again.returncode == 0, again.stderr
    assert set(urls) <= walk(out)
    assert set(urls) <= set(read_manifest(out))


def test_with_no_state_folder_the_crash_log_goes_to_the_temporary_folder(
    article, tmp_path
):
    path, _ = article
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the state folder would be")
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "XDG_STATE_HOME": str(blocked), "TMPDIR": str(temp)}
    done = preserve(path, tmp_path / "out", env, buggy=True)
    assert done.returncode == 70, done.stderr
    (log,) = temp.glob("crash-*.log")
    assert f"details in {log}" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_password_in_the_command_stays_out_of_the_crash_log(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    argv = ["archiver", "nightly", "--store", "postgresql://ed:s3cret@db/archive"]
    log = write_crash_log(RuntimeError("x"), argv)
    assert log is not None
    text = log.read_text()
    assert "s3cret" not in text
    assert "postgresql://ed:***@db/archive" in text


def test_the_state_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_folder() == tmp_path / "archiver"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/ignored")
    assert state_folder() == Path.home() / ".local" / "state" / "archiver"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert state_folder() == Path.home() / ".local" / "state" / "archiver"


def test_an_exit_delivered_inside_an_exception_group_is_that_exit_not_a_bug(
    monkeypatch, tmp_path, capsys
):
    """SIGTERM's handler exits; when trio is starting, the exit comes in a group."""
    import archiver.run.preserve as run_preserve

    def terminated(*args, **kwargs):
        raise BaseExceptionGroup("trio nursery", [SystemExit(143)])

    monkeypatch.setattr(run_preserve, "preserve", terminated)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    article = write_article(tmp_path / "a.txt", "http://127.0.0.1:9/a", "<p>x</p>")
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as exited:
            main(["preserve", str(article), "--out", str(tmp_path / "out")])
    finally:  # main ignores further signals on its way out: not this process's
        for number, handler in handlers.items():
            signal.signal(number, handler)
    assert exited.value.code == 143
    assert "internal error" not in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
