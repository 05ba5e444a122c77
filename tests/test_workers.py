"""Many workers sharing one night on a PostgreSQL store: nightly --workers, worker.

Real processes against a real PostgreSQL and a fake web of many hosts
(tests/multihost.py), which counts the requests each host has in flight.
What a user relies on: every due URL is checked exactly once in the
committed history, whichever worker did it and whichever died; no host
ever gets more than --per-host requests at once from the whole cluster;
every WARC reads whole; the night's index lists every capture.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.run.nightly import _known_requisites
from archiver.store.base import open_store
from archiver.store.cluster import Cluster, Planned, plan
from archiver.store.location import PostgresURL
from archiver.store.postgres import PostgresStore
from archiver.warc.index import INDEX_NAME
from tests import stores
from tests.clirun import archiver_at, links_to, read_manifest, run_cli, write_article
from tests.integrity import (
    committed_captures_are_on_disk,
    index_lists_every_capture,
    journals_are_true,
    walk_whole,
)
from tests.multihost import Web, many_hosts
from tests.netns import Namespaces, forwarded, namespaces
from tests.replaytools import Wayback, pywb_venv


@pytest.fixture
def shared(postgres: stores.SessionDatabase) -> PostgresURL:
    return postgres.new_store()


def seeds(folder: Path, web: Web, per_host: int) -> tuple[Path, list[str]]:
    urls = web.urls(per_host)
    folder.mkdir(parents=True, exist_ok=True)
    article_url = f"http://{web.address}:{web.ports[0]}/page/article"
    write_article(
        folder / "a.txt", article_url, links_to({str(i): u for i, u in enumerate(urls)})
    )
    return folder, [*urls, article_url]


def nightly_args(
    inputs: Path, out: Path, store: PostgresURL, workers: int, *extra: str
) -> list[str]:
    return [
        "nightly",
        str(inputs),
        "--out",
        str(out),
        "--store",
        store.url,
        "--workers",
        str(workers),
        "--allow-private",
        "--log-format",
        "json",
        "--no-requisites",
        "--browser",
        "never",
        *extra,
    ]


def night_checks(store: PostgresURL) -> dict[str, list[str]]:
    """Each URL's checks in the night, as the worker folders they were written in."""
    with stores.raw(store) as conn:
        rows = conn.execute("SELECT url, warc_file FROM checks").fetchall()
    found: dict[str, list[str]] = {}
    for url, warc_file in rows:
        found.setdefault(str(url), []).append(str(warc_file).split("/")[0])
    return found


def responses(folder: Path) -> list[str]:
    """The URIs of every response and revisit record in every WARC of the night."""
    return [uri for kind, uri in walk_whole(folder) if kind in ("response", "revisit")]


@pytest.mark.slow
def test_three_workers_share_a_night_each_url_once_per_host_held(
    shared: PostgresURL, tmp_path: Path
) -> None:
    with many_hosts(8, latency=0.05) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=4)
        out = tmp_path / "out"
        done = run_cli(
            *nightly_args(
                inputs, out, shared, 3, "--per-host", "2", "--concurrency", "4"
            ),
            timeout=120,
        )
        peaks = dict(web.ledger.peaks)
        page_hits = web.ledger.page_hits()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    checks = night_checks(shared)
    assert sorted(checks) == sorted(urls)  # none lost
    assert all(len(folders) == 1 for folders in checks.values())  # none twice
    assert page_hits == len(urls)  # and each fetched once
    assert len({folders[0] for folders in checks.values()}) >= 2  # work was shared
    assert max(peaks.values()) <= 2, peaks
    [night] = [p for p in out.iterdir() if p.is_dir()]
    assert sorted(responses(night)) == sorted(urls)  # every WARC whole, no record twice
    assert committed_captures_are_on_disk(out, shared) == len(urls)
    index_lists_every_capture(out, shared)
    _every_capture_replays(out, tmp_path / "replay", urls)
    packed = run_cli("package", str(out), "--out", str(tmp_path / "night.wacz"))
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(tmp_path / "night.wacz") as wacz:
        archived = {Path(n).name for n in wacz.namelist() if n.endswith(".warc.gz")}
    assert archived == {path.name for path in night.glob("**/*.warc.gz")}
    assert len({path.parent for path in night.glob("*/*.warc.gz")}) >= 2
    # The night's folder has the night's manifest, whichever worker did what,
    # and the package of it all passes py-wacz's validator.
    assert set(read_manifest(night)) >= set(urls)
    # Each worker's log says what it claimed, not an empty plan of its own.
    claimed = 0
    for log in night.glob("*/worker.log"):
        events = [
            json.loads(line)
            for line in log.read_text().splitlines()
            if line.startswith("{")
        ]
        assert not [e for e in events if e["event"] == "planned"], log
        claims = [
            e["message"] for e in events
            if e["event"] == "note" and e["message"].startswith("claimed ")
        ]  # fmt: skip
        claimed += sum(int(message.split()[1]) for message in claims)
    assert claimed == len(urls)
    wacz_main = "import sys; from wacz.main import main; sys.exit(main())"
    validate = subprocess.run(
        [sys.executable, "-c", wacz_main, "validate", "--file",
         str(tmp_path / "night.wacz")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stdout + validate.stderr
    status = run_cli("status", "--store", shared.url)
    assert status.returncode == 0, status.stderr
    head, *lines = status.stdout.splitlines()
    assert head.startswith(f"night {night.name} (completed): {len(urls)} planned")
    assert f"{len(urls)} done" in head
    assert sum(line.startswith("worker ") for line in lines) == 3
    assert sum(line.startswith("host ") for line in lines) == 8
    assert all("finished" in line for line in lines if line.startswith("host "))


def _every_capture_replays(out: Path, scratch: Path, urls: list[str]) -> None:
    """pywb serves every URL from the root's one index over all workers' files."""
    stamps = {}
    for line in (out / INDEX_NAME).read_text().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        if fields.get("mime") != "warc/revisit" and fields["url"] in urls:
            stamps[fields["url"]] = line.split(" ", 2)[1]
    assert sorted(stamps) == sorted(urls)
    collection = scratch / "collections" / "all"
    (collection / "indexes").mkdir(parents=True)
    (collection / "archive").symlink_to(out)
    shutil.copy(out / INDEX_NAME, collection / "indexes")
    with Wayback(pywb_venv(), scratch) as wayback:
        for url, stamp in stamps.items():
            got = wayback.replay("all", stamp, url)
            assert got.status == 200, (url, wayback.log())
            assert f"page {urlsplit(url).path} of".encode() in got.body


@contextlib.contextmanager
def launched(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    """``command`` running, its output piped; killed on the way out if still there."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(word) for word in path.read_text().split()]


def done_by(store: PostgresURL) -> dict[str, int]:
    with stores.raw(store) as conn:
        rows = conn.execute(
            "SELECT worker, count(*) FROM frontier_urls WHERE done IS NOT NULL "
            "GROUP BY worker"
        ).fetchall()
    return {str(worker): int(str(n)) for worker, n in rows}


@pytest.mark.slow
def test_a_worker_killed_mid_night_loses_its_hosts_to_another(
    shared: PostgresURL, tmp_path: Path
) -> None:
    with many_hosts(4, latency=0.25) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=6)
        out = tmp_path / "out"
        args = nightly_args(
            inputs, out, shared, 2, "--per-host", "1", "--concurrency", "2"
        )
        with launched([*archiver_at(None), *args, "--lease", "2"]) as parent:
            victim = _kill_a_worker_once_it_committed(parent.pid, shared)
            stdout, stderr = parent.communicate(timeout=120)
        peaks = dict(web.ledger.peaks)
    assert parent.returncode == 0, stderr
    assert "ended with signal SIGKILL" in stderr
    checks = night_checks(shared)
    assert sorted(checks) == sorted(urls)  # the dead worker's rest was fetched
    assert all(len(folders) == 1 for folders in checks.values())
    assert victim in {folders[0] for folders in checks.values()}  # it had done some
    assert max(peaks.values()) <= 1, peaks
    [night] = [p for p in out.iterdir() if p.is_dir()]
    assert not list(night.glob("**/*.open"))  # the torn file was repaired
    # What the dead worker wrote but never committed was cut: no URL twice.
    assert sorted(responses(night)) == sorted(urls)
    assert committed_captures_are_on_disk(out, shared) == len(urls)
    index_lists_every_capture(out, shared)
    assert "URLs: 25 distinct, 25 alive" in stdout


@pytest.mark.slow
def test_a_small_night_is_shared_by_every_worker(
    shared: PostgresURL, tmp_path: Path
) -> None:
    """8 hosts, 4 workers, room for 16 hosts each: each takes its share, 2."""
    with many_hosts(8, latency=0.4) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=5)
        args = nightly_args(
            inputs, tmp_path / "out", shared, 4, "--per-host", "1",
            "--concurrency", "16",
        )  # fmt: skip
        done = run_cli(*args, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(night_checks(shared)) == sorted(urls)
    # One worker would otherwise claim all 8 before the others had started.
    assert len(done_by(shared)) >= 3, done_by(shared)


def _kill_a_worker_once_it_committed(parent: int, store: PostgresURL) -> str:
    """kill -9 the first worker seen with a committed check; return its name.

    A worker's pid is in its folder's run lock, which it holds all night.
    """
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            workers = set(children(parent))
            done = done_by(store)
            with stores.raw(store) as conn:
                rows = conn.execute(
                    "SELECT worker, folder FROM frontier_workers"
                ).fetchall()
        except (OSError, psycopg.Error):
            continue  # the tables are not made yet
        folders = {str(name): Path(str(folder)) for name, folder in rows}
        for victim in sorted(name for name in done if name in folders):
            lock = folders[victim] / ".archiver.run.lock"
            owner = lock.read_text().strip() if lock.exists() else ""
            if owner.isdigit() and int(owner) in workers:
                os.kill(int(owner), signal.SIGKILL)
                return victim
    pytest.fail("no worker committed anything in time")


# Leases, without processes


@pytest.fixture
def planned(shared: PostgresURL) -> Iterator[PostgresStore]:
    store = PostgresStore.open(shared)
    store.begin_run("n1", _at(), {})
    plan(
        store,
        "n1",
        [
            Planned(url=f"http://h{h}.test/{n}", host=f"h{h}.test")
            for h in range(4)
            for n in range(2)
        ],
    )
    try:
        yield store
    finally:
        store.close()


def _at() -> datetime:
    return datetime(2026, 12, 1, 3, tzinfo=UTC)


def test_two_workers_never_hold_one_host_and_a_lapsed_lease_passes_on(
    planned: PostgresStore, shared: PostgresURL
) -> None:
    one = Cluster(planned, shared, "one", lease=0.6)
    two = Cluster(planned, shared, "two", lease=30)
    try:
        assert one.night() == "n1"
        first = {c.host for c in one.claim("n1", 3)}
        second = {c.host for c in two.claim("n1", 3)}
        assert len(first) == 3
        assert second == {"h0.test", "h1.test", "h2.test", "h3.test"} - first
        assert two.claim("n1", 3) == []  # everything is held
        assert one.heartbeat("n1") == first  # a beat keeps them...
        time.sleep(0.3)
        assert two.claim("n1", 3) == []
        time.sleep(0.9)  # ...until beats stop for a whole lease
        taken = two.claim("n1", 5)
        assert {c.host for c in taken} == first
        assert one.heartbeat("n1") == set()  # and the next beat says so
        assert all(len(c.urls) == 2 for c in taken)  # nothing was committed
        assert one.others_busy("n1") == 4  # all held by two now
    finally:
        one.close()
        two.close()


def test_a_worker_s_share_is_the_night_s_hosts_over_its_workers(
    planned: PostgresStore, shared: PostgresURL, tmp_path: Path
) -> None:
    one = Cluster(planned, shared, "one", lease=30)
    two = Cluster(planned, shared, "two", lease=30)
    try:
        assert one.share("n1") == 4  # 4 hosts, no worker counted yet: all
        one.join("n1", str(tmp_path / "one"))
        two.join("n1", str(tmp_path / "two"))
        assert one.share("n1") == 2
        planned.begin_run("n2", _at(), {"workers": 3})
        plan(planned, "n2", [Planned(url=f"http://h{h}.test/", host=f"h{h}.test")
                             for h in range(4)])  # fmt: skip
        assert one.share("n2") == 2  # 4 hosts for the 3 workers nightly starts
    finally:
        one.close()
        two.close()


def test_a_committed_check_settles_its_url_for_the_next_holder(
    planned: PostgresStore, shared: PostgresURL
) -> None:
    from archiver.models import LinkKind, LinkStatus, Outcome

    one = Cluster(planned, shared, "one", lease=0.3)
    two = Cluster(planned, shared, "two", lease=30)
    try:
        [claim] = one.claim("n1", 1)
        url = claim.urls[0].url
        status = LinkStatus(
            url=url,
            kind=LinkKind.LINK,
            citations=(),
            outcome=Outcome.ALIVE,
            reason="ok",
            detail="answered 200",
            checked=_at(),
        )
        assert one.commit("n1", [status]) == 1
        time.sleep(0.5)
        [again] = [c for c in two.claim("n1", 4) if c.host == claim.host]
        assert [item.url for item in again.urls] == [claim.urls[1].url]
        assert one.commit("n1", [status]) == 0  # a second check is never kept
    finally:
        one.close()
        two.close()
    with open_store(shared, read_only=True) as store:
        assert len(store.history(url)) == 1


# Options that cannot work


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["nightly", "SEEDS", "--out", "OUT", "--workers", "2"], "--workers"),
        (["worker", "--store", "OUT/archiver.sqlite3"], "--store"),
        (["worker"], "--store"),
        (["status", "--store", "OUT/archiver.sqlite3"], "--store"),
        (["status"], "--store"),
        (
            ["worker", "--store", "postgresql://x@127.0.0.1/x", "--lease", "0"],
            "--lease",
        ),
        (["nightly", "--workers", "-1"], "--workers"),
    ],
)
def test_workers_need_a_postgresql_store(
    args: list[str], option: str, tmp_path: Path
) -> None:
    (tmp_path / "seeds").mkdir()
    where = {"SEEDS": str(tmp_path / "seeds"), "OUT": str(tmp_path / "out")}
    done = run_cli(
        *(where.get(a, a.replace("OUT", str(tmp_path / "out"))) for a in args)
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert option in line
    assert not (tmp_path / "out" / "archiver.sqlite3").exists()  # nothing was made


def test_a_worker_name_must_be_a_folder_name(shared: PostgresURL) -> None:
    done = run_cli("worker", "--store", shared.url, "--name", "../elsewhere")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "--name" in line
    assert "Traceback" not in done.stderr


def test_a_worker_with_no_night_to_join_says_so(
    shared: PostgresURL, tmp_path: Path
) -> None:
    done = run_cli("worker", "--store", shared.url, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "no night in progress" in done.stdout
    shown = run_cli("status", "--store", shared.url)
    assert shown.returncode == 0
    assert "no shared night yet" in shown.stdout


def test_status_of_a_store_that_cannot_be_reached_is_one_line() -> None:
    done = run_cli("status", "--store", "postgresql://postgres@127.0.0.1:1/none")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("archiver: error: ")


def test_status_of_an_unparsable_url_masks_only_its_password() -> None:
    done = run_cli("status", "--store", "postgresql://me:pw-s3cr3t@[::1/x")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("archiver: error: postgresql://me:***@[::1/x: ")
    assert "pw-s3cr3t" not in done.stderr + done.stdout


def test_status_tells_a_killed_worker_from_a_live_one(
    planned: PostgresStore, shared: PostgresURL, tmp_path: Path
) -> None:
    """A worker silent for longer than its lease is gone, not "seen 9s ago"."""
    quiet = Cluster(planned, shared, "quiet", lease=0.5)
    beating = Cluster(planned, shared, "beating", lease=30)
    left = Cluster(planned, shared, "left", lease=0.5)
    try:
        for cluster in (quiet, beating, left):
            cluster.join("n1", str(tmp_path / cluster.worker))
        quiet.claim("n1", 1)
        left.leave("n1")
        time.sleep(1.0)  # quiet's beats stopped for two of its leases
        done = run_cli("status", "--store", shared.url, "--run", "n1")
    finally:
        for cluster in (quiet, beating, left):
            cluster.close()
    assert done.returncode == 0, done.stderr
    said = {
        line.split(":")[0].removeprefix("worker "): line
        for line in done.stdout.splitlines()
        if line.startswith("worker ")
    }
    assert "gone: no heartbeat for " in said["quiet"]
    assert "s, past its lease" in said["quiet"]
    assert "1 hosts held" in said["quiet"]
    assert "s ago" in said["beating"]
    assert "gone" not in said["beating"]
    assert "left" in said["left"]


@pytest.mark.slow
def test_an_unchanged_page_is_a_revisit_of_another_machines_capture(
    shared: PostgresURL, tmp_path: Path
) -> None:
    first = datetime(2026, 11, 2, 3, tzinfo=UTC)
    with many_hosts(3, latency=0.01) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=2)
        for n, (when, out) in enumerate(
            [
                (first, tmp_path / "here"),
                (first + timedelta(days=8), tmp_path / "there"),
            ]
        ):
            done = run_cli(*nightly_args(inputs, out, shared, 2), at=when)
            assert done.returncode == 0, (n, done.stderr)
    # The second night ran on a root without the first night's files, as a
    # machine that never saw them: what it knows is in the store.
    dates = {}
    for path in (tmp_path / "here").glob("*/*/*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    dates[uri] = record.rec_headers.get_header("WARC-Date")
    revisits = {}
    for path in (tmp_path / "there").glob("*/*/*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                assert record.rec_type != "response"
                if record.rec_type == "revisit":
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    revisits[uri] = (
                        record.rec_headers.get_header("WARC-Refers-To-Target-URI"),
                        record.rec_headers.get_header("WARC-Refers-To-Date"),
                    )
    assert sorted(revisits) == sorted(urls)
    assert revisits == {url: (url, dates[url]) for url in urls}


@pytest.mark.slow
def test_a_shared_night_killed_whole_is_recovered_by_the_next(
    shared: PostgresURL, tmp_path: Path
) -> None:
    with many_hosts(3, latency=0.2) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=4)
        out = tmp_path / "out"
        args = nightly_args(
            inputs, out, shared, 2, "--per-host", "1", "--concurrency", "1"
        )
        night = subprocess.Popen(
            [*archiver_at(None), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(_done(shared).values()) < 3:
                time.sleep(0.05)
            os.killpg(night.pid, signal.SIGKILL)  # the night and its workers
        finally:
            night.wait()
        assert 3 <= sum(_done(shared).values()) < len(urls)
        again = run_cli(*args, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "recovered crashed run" in again.stdout
    checks = night_checks(shared)
    assert sorted(checks) == sorted(urls)  # the rest was due, and done
    assert all(len(folders) == 1 for folders in checks.values())
    assert not list(out.glob("**/*.open"))
    assert sorted(responses(out)) == sorted(urls)  # nothing uncommitted was kept
    assert committed_captures_are_on_disk(out, shared) == len(urls)
    index_lists_every_capture(out, shared)
    journals_are_true(out)


def _done(store: PostgresURL) -> dict[str, int]:
    try:
        return done_by(store)
    except psycopg.Error:
        return {}  # the tables are not made yet


@pytest.mark.slow
def test_a_worker_started_elsewhere_joins_the_night_in_progress(
    shared: PostgresURL, tmp_path: Path
) -> None:
    with many_hosts(4, latency=0.2) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=5)
        args = nightly_args(
            inputs, tmp_path / "here", shared, 1, "--per-host", "1",
            "--concurrency", "1",
        )  # fmt: skip
        with launched([*archiver_at(None), *args]) as night:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _done(shared):
                time.sleep(0.05)
            joined = run_cli(
                "worker", "--store", shared.url, "--out", str(tmp_path / "there"),
                "--name", "elsewhere", "--allow-private", "--per-host", "1",
                "--concurrency", "2", "--no-requisites", "--log-format", "json",
            )  # fmt: skip
            stdout, stderr = night.communicate(timeout=120)
        peaks = dict(web.ledger.peaks)
    assert joined.returncode == 0, joined.stderr
    assert night.returncode == 0, stderr
    assert joined.stdout.startswith("night: ")
    checks = night_checks(shared)
    assert sorted(checks) == sorted(urls)
    assert all(len(folders) == 1 for folders in checks.values())
    assert "elsewhere" in {folders[0] for folders in checks.values()}
    assert max(peaks.values()) <= 1, peaks
    [there] = (p for p in (tmp_path / "there").iterdir() if p.is_dir())
    assert sorted(responses(there)) == sorted(
        url for url, folders in checks.items() if folders == ["elsewhere"]
    )
    # The other root has an index of its own, for replay there.
    indexed = set()
    for line in (tmp_path / "there" / INDEX_NAME).read_text().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        indexed.add((fields["filename"], int(fields["offset"])))
    with open_store(shared, read_only=True) as store:
        theirs = {
            (f"{c.run_id}/{c.record.warc_file}", c.record.offset)
            for c in store.all_checks()
            if c.record is not None and c.record.warc_file.startswith("elsewhere/")
        }
    assert theirs
    assert theirs <= indexed
    assert f"URLs: {len(urls)} distinct, {len(urls)} alive" in stdout


@pytest.mark.slow
def test_three_machines_one_killed_in_network_namespaces(
    shared: PostgresURL, tmp_path: Path
) -> None:
    """Each worker on a network of its own, the web and the database elsewhere."""
    with (
        namespaces(3) as machines,
        forwarded(machines.host, ("127.0.0.1", _port(shared))) as port,
        many_hosts(6, latency=0.3, address=machines.host) as web,
    ):
        store = PostgresURL(
            shared.url.replace(_netloc(shared), f"{machines.host}:{port}")
        )
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=6)
        fetch = ["--allow-private", "--per-host", "1", "--concurrency", "2"]
        fetch += ["--no-requisites", "--log-format", "json", "--lease", "2"]
        outs = [tmp_path / f"machine-{n}" for n in range(3)]
        night = subprocess.Popen(
            machines.command(
                0, *archiver_at(None), "nightly", str(inputs), "--out", str(outs[0]),
                "--store", store.url, "--workers", "1", "--browser", "never", *fetch,
            ),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        planned = time.monotonic() + 60
        while time.monotonic() < planned and not _planned(shared):
            time.sleep(0.02)
        workers = [_join(machines, n, store, outs[n], fetch) for n in (1, 2)]
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not _done(shared).get("machine-2"):
                time.sleep(0.02)
            workers[1].kill()  # kill -9, mid-night
            stdout, stderr = night.communicate(timeout=120)
            workers[0].communicate(timeout=60)
            workers[1].communicate(timeout=60)
            # Started again, with no night left to join, it repairs its folder.
            again = run_cli(
                "worker", "--store", shared.url, "--out", str(outs[2]),
                "--name", "machine-2",
            )  # fmt: skip
        finally:
            for process in (night, *workers):
                if process.poll() is None:
                    process.kill()
                    process.wait()
        peaks = dict(web.ledger.peaks)
    assert night.returncode == 0, stderr
    assert workers[0].returncode == 0
    assert workers[1].returncode == -signal.SIGKILL
    assert again.returncode == 0, again.stderr
    assert "no night in progress" in again.stdout
    checks = night_checks(shared)
    assert sorted(checks) == sorted(urls)  # none lost, none twice
    assert all(len(folders) == 1 for folders in checks.values())
    assert {"machine-1", "machine-2"} <= {folders[0] for folders in checks.values()}
    assert max(peaks.values()) <= 1, peaks  # counted at the server, all machines
    assert not [p for out in outs for p in out.glob("**/*.open")]
    written = [uri for out in outs for uri in responses(out)]  # every WARC whole
    assert sorted(written) == sorted(urls)  # what machine-2 never committed: cut
    assert f"URLs: {len(urls)} distinct, {len(urls)} alive" in stdout


def _join(
    machines: Namespaces, n: int, store: PostgresURL, out: Path, fetch: list[str]
) -> subprocess.Popen[str]:
    """``archiver worker`` on machine ``n``."""
    command = [*archiver_at(None), "worker", "--store", store.url, "--out", str(out)]
    return subprocess.Popen(
        machines.command(n, *command, "--name", f"machine-{n}", *fetch),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _planned(store: PostgresURL) -> bool:
    try:
        with stores.raw(store) as conn:
            row = conn.execute("SELECT count(*) FROM frontier_hosts").fetchone()
    except psycopg.Error:
        return False  # the tables are not made yet
    return bool(row and int(str(row[0])))


def _netloc(store: PostgresURL) -> str:
    return urlsplit(store.url).netloc.rsplit("@", 1)[-1]


def _port(store: PostgresURL) -> int:
    return urlsplit(store.url).port or 5432


# What a new user met (review): a worker's name, a failing night, one toml


def _joined(store: PostgresURL, deadline: float) -> list[str]:
    """The workers of the night in progress, once one has joined."""
    while time.monotonic() < deadline:
        try:
            with stores.raw(store) as conn:
                rows = conn.execute("SELECT worker FROM frontier_workers").fetchall()
        except psycopg.Error:
            rows = []  # the tables are not made yet
        if rows:
            return [str(row[0]) for row in rows]
        time.sleep(0.1)
    pytest.fail("no worker joined the night in time")


@pytest.mark.slow
def test_a_second_worker_under_a_name_already_at_work_is_refused(
    shared: PostgresURL, tmp_path: Path
) -> None:
    with many_hosts(3, latency=0.5) as web:  # a night of some 12 s at least
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=8)
        args = nightly_args(
            inputs, tmp_path / "out", shared, 1, "--per-host", "1", "--concurrency", "1"
        )
        with launched([*archiver_at(None), *args]) as night:
            [name] = _joined(shared, time.monotonic() + 60)
            twin = run_cli(
                "worker", "--store", shared.url, "--out", str(tmp_path / "elsewhere"),
                "--name", name, "--allow-private", "--per-host", "1",
            )  # fmt: skip
            _, stderr = night.communicate(timeout=120)
        peaks = dict(web.ledger.peaks)
    assert twin.returncode == 2, twin.stderr
    [line] = twin.stderr.splitlines()
    assert line.startswith(f"archiver: error: --name {name}: a worker of that name")
    assert night.returncode == 0, stderr
    checks = night_checks(shared)
    assert sorted(checks) == sorted(urls)
    assert all(len(folders) == 1 for folders in checks.values())  # none twice
    assert max(peaks.values()) <= 1, peaks


@pytest.mark.slow
def test_a_night_whose_workers_keep_dying_is_not_called_complete(
    shared: PostgresURL, tmp_path: Path
) -> None:
    """Every worker killed as soon as it starts: the night fails, in one line."""
    with many_hosts(2, latency=0.2) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=3)
        args = nightly_args(inputs, tmp_path / "out", shared, 2)
        with launched([*archiver_at(None), *args]) as night:
            killed = 0
            while night.poll() is None:
                with contextlib.suppress(OSError):
                    for pid in children(night.pid):
                        with contextlib.suppress(OSError):
                            os.kill(pid, signal.SIGKILL)
                            killed += 1
                time.sleep(0.02)
            _, stderr = night.communicate(timeout=60)
    assert killed >= 2
    assert night.returncode == 1, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("archiver: error: night "), last
    assert "left unfinished" in last
    assert len(night_checks(shared)) < len(urls)  # it really was not done
    with stores.raw(shared) as conn:
        rows = conn.execute("SELECT status FROM runs").fetchall()
    statuses = [str(row[0]) for row in rows]
    assert "completed" not in statuses


@pytest.mark.slow
def test_the_nights_archiver_toml_serves_its_workers(
    shared: PostgresURL, tmp_path: Path
) -> None:
    """Nightly's own keys in the file are not a worker's error (they were)."""
    (tmp_path / "archiver.toml").write_text(
        "[nightly]\n"
        f'store = "{shared.url}"\n'
        "alive-every = 0\nmax-rechecks = 5000\nallow-private = true\n"
        "per-host = 1\nrequisites = false\n",
        encoding="utf-8",
    )
    with many_hosts(3, latency=0.01) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=2)
        done = subprocess.run(
            [*archiver_at(None), "nightly", str(inputs), "--out", str(tmp_path / "out"),
             "--workers", "2", "--browser", "never", "--log-format", "json"],
            capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path,
        )  # fmt: skip
        alone = subprocess.run(
            [*archiver_at(None), "worker", "--out", str(tmp_path / "late")],
            capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(night_checks(shared)) == sorted(urls)
    assert alone.returncode == 0, alone.stderr  # the file's store, no night to join
    assert "no night in progress" in alone.stdout


@pytest.mark.slow
def test_a_shared_night_lists_every_worker_s_requisites_in_its_run_folder(
    shared: PostgresURL, tmp_path: Path
) -> None:
    """The night's requisites.jsonl is the workers' lists merged, as one process's.

    It is the list the next night reads to refer to a stylesheet archived
    already; left empty, each worker's requisites were kept whole again.
    """
    with many_hosts(4, latency=0.02, styled=True) as web:
        inputs, urls = seeds(tmp_path / "seeds", web, per_host=2)
        out = tmp_path / "out"
        args = nightly_args(inputs, out, shared, 2, "--per-host", "1")
        args.remove("--no-requisites")
        done = run_cli(*args, timeout=120)
        styles = {f"http://{web.address}:{port}/style.css" for port in web.ports}
    assert done.returncode == 0, done.stderr
    [night] = [p for p in out.iterdir() if p.is_dir()]
    lines = [
        json.loads(text)
        for text in (night / "requisites.jsonl").read_text().splitlines()
    ]
    assert {line["url"] for line in lines} == styles
    assert all(line["outcome"] == "archived" for line in lines)
    for line in lines:  # each names its file from the run folder, and it is there
        assert (night / line["warc_file"]).is_file()
        assert line["pages"] == sorted(
            u for u in urls if urlsplit(u).port == urlsplit(line["url"]).port
        )
    assert f"requisites: {len(styles)} distinct, {len(styles)} archived" in done.stderr
    assert "0 searched for requisites" not in done.stdout + done.stderr
    # The next night refers to them (what it reads of earlier runs' lists).
    known = _known_requisites(out)
    assert {capture.uri for capture in known.values()} == styles
