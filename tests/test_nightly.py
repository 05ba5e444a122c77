"""``archiver nightly`` over several nights, and after kill -9: the real CLI and store.

The fake web's ``/switch/<name>`` routes answer what the test sets before
each night; each night's process starts its clock at that night
(``tests.clirun``). The store is read back with the store's own API from the
SQLite file the runs wrote.
"""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.errors import StoreError
from archiver.store.base import open_store
from archiver.store.history import DeadRule, Verdict
from tests.clirun import archiver_at, links_to, run_cli, write_article
from tests.fakeweb.server import FakeWeb

NIGHT_ONE = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
RULE = DeadRule(failures=3, span=timedelta(days=2))


def nightly(root: Path, night: int, *args: str) -> subprocess.CompletedProcess[str]:
    when = NIGHT_ONE + timedelta(days=night - 1)
    return run_cli(
        "nightly",
        str(root / "articles"),
        "--out",
        str(root / "warcs"),
        "--allow-private",
        "--alive-every",
        "1",
        "--dead-after-failures",
        "3",
        "--dead-after-days",
        "2",
        "--retries",
        "1",
        "--no-probe",
        *args,
        at=when,
    )


def records(root: Path) -> list[tuple[str, str, Any]]:
    """(type, target URI, record headers) of every record of every run."""
    found = []
    for path in sorted((root / "warcs").glob("*/*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                found.append((record.rec_type, uri, record.rec_headers))
    return found


@pytest.fixture
def nights(fakeweb: FakeWeb, tmp_path: Path):
    token = uuid.uuid4().hex[:8]
    names = ["dies", "drifts", "stable", "flaps"]
    urls = {name: fakeweb.url(f"/switch/{name}-{token}") for name in names}
    (tmp_path / "articles").mkdir()
    write_article(
        tmp_path / "articles" / "one.txt",
        fakeweb.url(f"/page/one-{token}"),
        links_to(urls),
    )

    def set_night(**states: tuple[int, bytes]) -> None:
        for name, (status, body) in states.items():
            fakeweb.switch(f"{name}-{token}", status, body)

    return tmp_path, urls, set_night, token


def verdicts(root: Path, urls: dict[str, str]) -> dict[str, Verdict]:
    with open_store(root / "warcs" / "archiver.sqlite3", rule=RULE) as store:
        found = {}
        for name, url in urls.items():
            state = store.state(url)
            assert state is not None, name
            found[name] = state.verdict
        return found


def test_links_go_suspect_then_dead_drift_and_revive_over_nights(nights, fakeweb):
    root, urls, set_night, token = nights
    ok = (200, b"<p>same</p>")
    set_night(dies=(200, b"<p>dies v1</p>"), drifts=(200, b"<p>v1</p>"), stable=ok,
              flaps=(200, b"<p>flaps</p>"))  # fmt: skip
    first = nightly(root, 1)
    assert first.returncode == 0, first.stderr
    assert set(verdicts(root, urls).values()) == {Verdict.ALIVE}

    set_night(dies=(404, b"gone"), drifts=(200, b"<p>v2</p>"), flaps=(404, b"x"))
    assert nightly(root, 2).returncode == 0
    second = verdicts(root, urls)
    assert second["dies"] is Verdict.SUSPECT  # one failure is not death
    assert second["flaps"] is Verdict.SUSPECT
    assert second["drifts"] is Verdict.DRIFT
    assert second["stable"] is Verdict.ALIVE

    # night 2 archived the changed page in full and the unchanged one as a revisit
    folders = sorted(p.name for p in (root / "warcs").iterdir() if p.is_dir())
    assert folders == ["20260101T030000Z", "20260102T030000Z"]
    night_two_records = records_in(root / "warcs" / folders[1])
    assert night_two_records[urls["stable"]] == "revisit"
    assert night_two_records[urls["drifts"]] == "response"
    revisit = next(
        h for k, u, h in records(root) if k == "revisit" and u == urls["stable"]
    )
    assert revisit.get_header("WARC-Refers-To-Target-URI") == urls["stable"]
    original = next(
        h for k, u, h in records(root) if k == "response" and u == urls["stable"]
    )
    assert revisit.get_header("WARC-Refers-To") == original.get_header(
        "WARC-Record-ID"
    )  # the night-one record, found across runs
    # one index over both nights, for serving them as one collection
    merged = (root / "warcs" / "index.cdxj").read_text().splitlines()
    per_run = [
        line
        for folder in folders
        for line in (root / "warcs" / folder / "index.cdxj").read_text().splitlines()
    ]
    assert len(merged) == len(per_run) > 0
    keys = [line.split(" ", 2)[:2] for line in merged]
    assert keys == sorted(keys)
    for line in merged:
        fields = json.loads(line.split(" ", 2)[2])
        warc = root / "warcs" / fields["filename"]
        assert fields["filename"].split("/")[0] in folders
        with warc.open("rb") as stream:
            stream.seek(int(fields["offset"]))
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Target-URI") == fields["url"]

    # a new article arrives on night 3; flaps comes back
    write_article(
        root / "articles" / "two.txt",
        fakeweb.url(f"/page/two-{token}"),
        links_to({"fresh": fakeweb.url(f"/page/fresh-{token}")}),
    )
    set_night(flaps=(200, b"<p>flaps</p>"))
    third_run = nightly(root, 3)
    assert third_run.returncode == 0, third_run.stderr
    assert "1 new" in third_run.stdout
    third = verdicts(root, urls)
    assert third["dies"] is Verdict.SUSPECT  # two failures, one day apart
    assert third["flaps"] is Verdict.ALIVE  # never confirmed dead: not "revived"

    assert nightly(root, 4).returncode == 0
    assert verdicts(root, urls)["dies"] is Verdict.DEAD  # 3 failures over 2 days

    set_night(dies=(200, b"<p>back</p>"))
    assert nightly(root, 5).returncode == 0
    assert verdicts(root, urls)["dies"] is Verdict.REVIVED

    with open_store(root / "warcs" / "archiver.sqlite3", rule=RULE) as store:
        assert len(store.history(urls["dies"])) == 5
        good = store.last_good(urls["dies"])
        assert good is not None
        assert good.run_id == "20260105T030000Z"
        fresh = store.state(fakeweb.url(f"/page/fresh-{token}"))
        assert fresh is not None
        assert fresh.verdict is Verdict.ALIVE
    check = subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", "check"]
        + [str(p) for p in (root / "warcs").glob("*/*.warc.gz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def records_in(folder: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted(folder.glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type in ("response", "revisit"):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    found[uri] = record.rec_type
    return found


def test_log_lines_are_json_and_end_with_a_summary(nights):
    root, urls, set_night, _ = nights
    set_night(**{name: (200, name.encode()) for name in urls})
    result = nightly(root, 1, "--log-file", str(root / "nightly.log"))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert {e["event"] for e in events} >= {"planned", "checked", "summary"}
    assert events[-1]["event"] == "summary"
    assert events[-1]["alive"] == 5
    logged = (root / "nightly.log").read_text().splitlines()
    assert [json.loads(line)["event"] for line in logged] == [
        e["event"] for e in events
    ]


def test_config_file_sets_defaults_and_flags_win(nights, tmp_path):
    root, urls, set_night, _ = nights
    set_night(**{name: (200, name.encode()) for name in urls})
    config = root / "archiver.toml"
    config.write_text("per-host = 1\nmax-rechecks = 0\nbogus = 3\n")
    bad = nightly(root, 1, "--config", str(config))
    assert bad.returncode == 2
    assert "unknown setting 'bogus'" in bad.stderr
    config.write_text("[nightly]\nmax-rechecks = 0\nalive-every = 1\n")
    assert nightly(root, 1, "--config", str(config)).returncode == 0
    second = nightly(root, 2, "--config", str(config))
    assert "0 known links re-checked" in second.stdout  # from the file
    third = nightly(root, 3, "--config", str(config), "--max-rechecks", "2")
    assert "2 known links re-checked" in third.stdout  # the flag wins


def test_an_offline_night_stores_a_refused_private_url_as_refused(fakeweb, tmp_path):
    private = fakeweb.url(f"/page/private-night-{uuid.uuid4().hex[:8]}")
    (tmp_path / "articles").mkdir()
    body = f'<a href="http://first.invalid/a">a</a><a href="{private}">p</a>'
    write_article(
        tmp_path / "articles" / "a.txt", "https://third.invalid/article", body
    )
    result = run_cli(
        "nightly", str(tmp_path / "articles"), "--out", str(tmp_path / "warcs"),
        "--canary", "https://canary.invalid/", "--log-format", "json",
        at=NIGHT_ONE,
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    (folder,) = (p for p in (tmp_path / "warcs").iterdir() if p.is_dir())
    manifest = {
        e["url"]: (e["outcome"], e["reason"])
        for e in map(json.loads, (folder / "manifest.jsonl").read_text().splitlines())
    }
    logged = {
        e["url"]: (e["outcome"], e["reason"])
        for e in map(json.loads, result.stderr.splitlines())
        if e["event"] == "checked"
    }
    refused = ("refused-private", "private-address")
    unavailable = ("error", "network-unavailable")
    expected = {
        private: refused,
        "http://first.invalid/a": unavailable,
        "https://third.invalid/article": unavailable,
    }
    assert manifest == expected
    assert logged == expected
    with open_store(tmp_path / "warcs" / "archiver.sqlite3", rule=RULE) as store:
        (check,) = store.history(private)
        assert (check.outcome.value, check.reason) == refused
        # An outage says nothing about a link: no check is stored for those.
        assert store.history("http://first.invalid/a") == ()
        assert store.history("https://third.invalid/article") == ()
        (night,) = store.runs()
        assert night.conclusive is False


def run_started(store_file: Path) -> bool:
    if not store_file.exists():
        return False
    try:
        with open_store(store_file) as store:
            return bool(store.unfinished_runs())
    except StoreError:
        return False  # still being created by the run


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


@pytest.mark.parametrize("kill_after", [0.0, 0.6, 1.4])
def test_kill_9_then_rerun_loses_nothing_and_writes_nothing_twice(
    fakeweb, tmp_path, kill_after
):
    token = uuid.uuid4().hex[:8]
    urls = {f"q{n}": fakeweb.url(f"/page/q{n}-{token}") for n in range(6)}
    urls |= {f"s{n}": fakeweb.url(f"/slow/0.4/s{n}-{token}") for n in range(8)}
    (tmp_path / "articles").mkdir()
    article_url = fakeweb.url(f"/page/crash-{token}")
    write_article(tmp_path / "articles" / "a.txt", article_url, links_to(urls))
    args = [
        "nightly", str(tmp_path / "articles"), "--out", str(tmp_path / "warcs"),
        "--allow-private", "--no-probe", "--per-host", "2",
    ]  # fmt: skip
    victim = subprocess.Popen(
        [*archiver_at(NIGHT_ONE), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store_file = tmp_path / "warcs" / "archiver.sqlite3"
    wait_for(lambda: run_started(store_file))  # killed after the run is recorded
    time.sleep(kill_after)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finish = run_cli(*args, at=NIGHT_ONE)
    assert finish.returncode == 0, finish.stderr
    assert "recovered crashed run 20260101T030000Z" in finish.stdout
    everything = {article_url, *urls.values()}
    with open_store(store_file) as store:
        for url in everything:
            night = store.history(url)
            assert len(night) == 1, (url, night)
            assert night[0].outcome.value == "alive", url
    written = Counter(
        uri for kind, uri, _ in records(tmp_path) if kind in ("response", "revisit")
    )
    assert set(written) == everything
    assert max(written.values()) == 1, written
    check = subprocess.run(
        [sys.executable, "-c", "from warcio.cli import main; main()", "check"]
        + [str(p) for p in (tmp_path / "warcs").glob("*/*.warc.gz")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert not list((tmp_path / "warcs").glob("*/*.open"))
    assert_consistent_after_recovery(tmp_path / "warcs", store_file)


def assert_consistent_after_recovery(root: Path, store_file: Path) -> None:
    """Every committed capture is in the root index; every journal line is true."""
    indexed = set()
    for line in (root / "index.cdxj").read_text().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        indexed.add((fields["filename"], int(fields["offset"])))
    with open_store(store_file) as store:
        checks = [check for check in store.all_checks() if check.record is not None]
    assert checks
    for check in checks:
        assert check.record is not None
        where = (f"{check.run_id}/{check.record.warc_file}", check.record.offset)
        assert where in indexed, (check.url, where)
    for journal in root.glob("*/manifest.jsonl.partial"):
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            if entry["warc_file"] is None:
                continue
            with (journal.parent / entry["warc_file"]).open("rb") as stream:
                stream.seek(entry["warc_offset"])
                record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]


_DIE_BEFORE_THE_ARTICLE_COPY = """
import os, sys
from archiver.warc.writer import WarcSink
def die(*args, **kwargs):
    os._exit(9)  # killed with the links recorded, the article's copy not written
WarcSink.write_article = die
from datetime import datetime
from archiver import clock
from archiver.cli.main import main
with clock.installed(clock.starting_at(datetime.fromisoformat(sys.argv[1]))):
    main(sys.argv[2:])
"""


def test_a_kill_before_the_article_copy_is_written_loses_no_article(fakeweb, tmp_path):
    """Issue 13: an article is 'unchanged' only once its own record is synced."""
    token = uuid.uuid4().hex[:8]
    (tmp_path / "articles").mkdir()
    urls = []
    for n in range(3):
        url = fakeweb.url(f"/page/copy-{n}-{token}")
        urls.append(url)
        write_article(
            tmp_path / "articles" / f"a{n}.txt",
            url,
            links_to({"x": fakeweb.url(f"/page/x{n}")}),
        )
    args = [
        "nightly", str(tmp_path / "articles"), "--out", str(tmp_path / "warcs"),
        "--allow-private", "--no-probe",
    ]  # fmt: skip
    killed = subprocess.run(
        [sys.executable, "-c", _DIE_BEFORE_THE_ARTICLE_COPY, NIGHT_ONE.isoformat(),
         *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert killed.returncode == 9, killed.stderr
    later = (NIGHT_ONE + timedelta(days=1)).isoformat()
    finish = run_cli(*args, at=later)
    assert finish.returncode == 0, finish.stderr
    copies = {uri for kind, uri, _ in records(tmp_path) if kind == "resource"}
    wanted = {
        "urn:archiver:article:sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
        for path in (tmp_path / "articles").glob("*.txt")
    }
    assert len(wanted) == len(urls)
    assert wanted <= copies


@pytest.mark.slow
def test_two_roots_sharing_one_store_never_run_at_once(fakeweb, tmp_path):
    """Issue 13: the second night must not take the first for a crashed one."""
    token = uuid.uuid4().hex[:8]
    (tmp_path / "articles").mkdir()
    # 4 pages of 3 s, one at a time: the first night still runs when the
    # second starts, even on a machine loaded enough to take seconds for that.
    slow = {f"s{n}": fakeweb.url(f"/slow/3/{n}-{token}") for n in range(4)}
    write_article(
        tmp_path / "articles" / "a.txt", fakeweb.url(f"/page/shared-{token}"),
        links_to(slow),
    )  # fmt: skip
    store_file = tmp_path / "shared.sqlite3"

    def args(root: str) -> list[str]:
        return [
            "nightly", str(tmp_path / "articles"), "--out", str(tmp_path / root),
            "--store", str(store_file),
            "--allow-private", "--no-probe", "--per-host", "1",
        ]  # fmt: skip

    first = subprocess.Popen(
        [sys.executable, "-m", "archiver", *args("one")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: run_started(store_file))
        second = run_cli(*args("two"))
        assert second.returncode == 4, second.stderr
        assert f"{store_file}: another archiver nightly run" in second.stderr
        assert not (tmp_path / "two").exists()  # refused: it made no folder
    finally:
        assert first.wait(timeout=60) == 0
    with open_store(store_file) as store:
        assert [run.status.value for run in store.runs()] == ["completed"]
