"""The PostgreSQL store's own parts, against a real server: its location and
masked password, the one-line errors of a bad URL, a server that is down and
a database that is missing (library and CLI), the nightly lock, and moving a
history over with ``archiver store copy``, after which ``archiver report``
says exactly what it said from the SQLite file.

The shared contract (round trips, verdicts, planning, concurrency) is
tests/unit/test_store.py, run on both stores; see tests/stores.py for the
server and the session's database."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.errors import ExitCode, RunLocked, StoreError
from archiver.models import Outcome
from archiver.store.base import Store, copy_store, migrate_store, open_store
from archiver.store.location import PostgresURL, masked, store_location
from archiver.store.postgres import nightly_lock
from archiver.store.sql import TABLES
from tests import reportsample, reportscenario as scn, stores
from tests.clirun import archiver_at, run_cli
from tests.fakeweb.server import FakeWeb

SECRET = "s3cr3t-Pw"  # noqa: S105 - what must never be printed


def free_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# The tests' own guard: no server is a failure under CI, a skip elsewhere

ROOT = Path(__file__).resolve().parent.parent
NEEDS_SERVER = (
    "tests/unit/test_store.py::test_a_new_postgres_store_compares_text_as_bytes"
)


@pytest.mark.parametrize(
    ("ci", "code", "says"), [("true", 1, "error"), ("", 0, "skipped")]
)
def test_no_server_fails_the_tests_under_ci_and_skips_them_elsewhere(ci, code, says):
    down = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    env = {**os.environ, stores.ENV: down, "CI": ci}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider",
         NEEDS_SERVER],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == code, done.stdout
    assert f"1 {says}" in done.stdout
    assert "is unreachable" in done.stdout
    assert f"set {stores.ENV}" in done.stdout


# Locations


def test_a_postgresql_url_is_a_database_and_anything_else_a_file():
    for url in (
        "postgresql://archiver@db.example/archive",
        "postgres://db.example/archive",
        "PostgreSQL://db.example/archive",
    ):
        assert store_location(url) == PostgresURL(url)
    for path in ("warcs/archiver.sqlite3", "postgresql.sqlite3", "/srv/x:y@z"):
        assert store_location(path) == Path(path)


def test_passwords_never_show_however_the_url_is_written():
    cases = {
        f"postgresql://me:{SECRET}@db.example:5433/archive": (
            "postgresql://me:***@db.example:5433/archive"
        ),
        f"postgresql://db.example/archive?sslmode=require&password={SECRET}": (
            "postgresql://db.example/archive?sslmode=require&password=***"
        ),
        "postgresql://me@db.example/archive": "postgresql://me@db.example/archive",
        # Not a URL at all: only the password is masked, the rest says what is wrong.
        f"postgresql://me:{SECRET}@[::1": "postgresql://me:***@[::1",
        f"postgresql://me:a/{SECRET}#@[::1/x": "postgresql://me:***@[::1/x",
        f"postgresql://[::1/x?password={SECRET}&a=b": (
            "postgresql://[::1/x?password=***&a=b"
        ),
        "postgresql://me@[::1/x": "postgresql://me@[::1/x",
    }
    for url, shown in cases.items():
        location = PostgresURL(url)
        assert masked(url) == shown
        assert str(location) == shown
        assert SECRET not in repr(location)
        assert SECRET not in location.scrub(f"could not parse {url!r}")


# Errors: one line, naming the store, password masked


def refused(location: str, *, read_only: bool = False) -> str:
    with pytest.raises(StoreError) as caught:
        open_store(location, read_only=read_only)
    message = str(caught.value)
    assert caught.value.exit_code is ExitCode.FAILURE
    assert "\n" not in message
    assert SECRET not in message
    return message


def test_a_server_that_is_down_is_one_line_naming_the_store():
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/archive"
    for read_only in (False, True):
        message = refused(url, read_only=read_only)
        assert message.startswith(f"{masked(url)}: cannot open the store: ")
        assert "refused" in message.lower()
    with pytest.raises(StoreError, match="cannot open the store"):
        migrate_store(url)


def test_a_missing_database_and_a_bad_url_are_one_line_each(postgres):
    missing = stores.with_database(
        postgres.server.replace(
            "postgresql://postgres@", f"postgresql://postgres:{SECRET}@"
        ),
        f"{postgres.name}_missing",
    )
    assert "does not exist" in refused(missing)
    bad = f"postgresql://postgres:{SECRET}@127.0.0.1/x?no_such_option=1"
    assert "not a PostgreSQL URL" in refused(bad)
    assert "not a PostgreSQL URL" in refused(f"postgresql://me:{SECRET}@[::1")


@pytest.mark.parametrize("command", ["report", "fix", "nightly", "store migrate"])
def test_the_cli_says_one_line_and_exits_as_for_any_store_error(command, tmp_path):
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:{free_port()}/archive"
    (tmp_path / "a.txt").write_text(
        "<!--1729735621000-->\n[A](https://example.org/a)\n------\n\n<p>a</p>\n"
    )
    extra = [str(tmp_path / "a.txt"), "--out", str(tmp_path / "w")]
    args = [*command.split(), "--store", url, *(extra if command == "nightly" else [])]
    done = run_cli(*args)
    assert done.returncode == ExitCode.FAILURE, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines == [lines[0]], done.stderr
    assert lines[0].startswith(f"archiver: error: {masked(url)}: cannot open the store")
    assert SECRET not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "w").exists()  # a refused night leaves no folder


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_night_refused_by_an_unreachable_store_leaves_nothing(workers, tmp_path):
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/archive"
    (tmp_path / "a.txt").write_text(
        "<!--1729735621000-->\n[A](https://example.org/a)\n------\n\n<p>a</p>\n"
    )
    out = tmp_path / "new" / "warcs"
    done = run_cli(
        "nightly", str(tmp_path / "a.txt"), "--out", str(out), "--store", url,
        "--workers", workers,
    )  # fmt: skip
    assert done.returncode == ExitCode.FAILURE, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_archiver_toml_can_name_a_postgresql_store(postgres, tmp_path):
    location = postgres.new_store()
    open_store(location).close()
    config = tmp_path / "archiver.toml"
    config.write_text(f'store = "{location.url}"\n')
    (tmp_path / "a.txt").write_text(
        "<!--1729735621000-->\n[A](http://127.0.0.1:9/a)\n------\n\n<p>a</p>\n"
    )
    done = run_cli(
        "nightly", "--config", str(config), str(tmp_path / "a.txt"),
        "--out", str(tmp_path / "w"), "--retries", "1", "--log-format", "plain",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open_store(location, read_only=True) as store:
        assert [run.status for run in store.runs()] == ["completed"]
        assert (
            store.history("http://127.0.0.1:9/a")[0].outcome is Outcome.REFUSED_PRIVATE
        )
    assert not (tmp_path / "w" / "archiver.sqlite3").exists()
    # The commands that read the history take the store from the same file,
    # nightly's other keys and all (README: History on PostgreSQL).
    config.write_text(
        f'[nightly]\nstore = "{location.url}"\nalive-every = 0\nout = "w"\n'
    )
    for command in (
        ["report", "--format", "json", "--out", "-"],
        ["fix", "--no-memento", "--format", "json", "--out", "-"],
        ["status"],
        ["store", "migrate"],
    ):
        read = subprocess.run(
            [*archiver_at(None), *command], cwd=tmp_path,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert read.returncode == 0, (command, read.stderr)
        assert "no such file" not in read.stderr
        if command == ["status"]:
            assert "no shared night yet" in read.stdout  # it read the database
        if command == ["store", "migrate"]:
            assert read.stdout.startswith(f"{location}: already at schema version")


def test_a_password_in_store_is_written_down_nowhere(postgres, tmp_path):
    location = postgres.new_store()
    # trust authentication: the server never asks for the password given
    url = location.url.replace(
        "postgresql://postgres@", f"postgresql://postgres:{SECRET}@"
    )
    assert SECRET in url
    (tmp_path / "a.txt").write_text(
        "<!--1729735621000-->\n[A](http://127.0.0.1:9/a)\n------\n\n<p>a</p>\n"
    )
    out = tmp_path / "w"
    done = run_cli(
        "nightly", str(tmp_path / "a.txt"), "--out", str(out), f"--store={url}",
        "--retries", "1", "--log-format", "json", "--log-file", str(tmp_path / "log"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    with open_store(location, read_only=True) as store:
        (run,) = store.runs()
    assert "--store=postgresql://postgres:***@" in str(run.options["command"])
    assert SECRET not in json.dumps(run.options)
    written = [p for p in [*out.rglob("*"), tmp_path / "log"] if p.is_file()]
    assert any(p.name.endswith(".warc.gz") for p in written)
    for path in written:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        assert SECRET.encode() not in data, path


def test_store_migrate_makes_and_upgrades_the_tables_of_a_database(postgres):
    from archiver.store import migrations
    from archiver.store.postgres import DIALECT

    empty, old = postgres.new_store(), postgres.new_store()
    with stores.raw(old) as conn:
        migrations.migrate(conn, DIALECT, "old", reportsample.night(0), target=1)
    now = migrations.SCHEMA_VERSION
    for location, before in ((empty, 0), (old, 1)):
        done = run_cli("store", "migrate", "--store", location.url)
        assert done.returncode == 0, done.stderr
        assert done.stdout == f"{location}: schema version {before} -> {now}\n"
        again = run_cli("store", "migrate", "--store", location.url)
        assert again.stdout == f"{location}: already at schema version {now}\n"
        with open_store(location, read_only=True) as store:
            assert store.runs() == ()


def test_reading_a_database_with_no_store_yet_says_so(postgres):
    location = postgres.new_store()
    message = refused(location.url, read_only=True)
    assert (
        message == f"{location}: no history store here yet (archiver nightly makes it)"
    )
    assert stores.table_names(location) == set()  # and made none


# The nightly lock


def test_one_nightly_run_per_postgresql_store(postgres):
    location, other = postgres.new_store(), postgres.new_store()
    open_store(location).close()
    with nightly_lock(location, "first"):
        with pytest.raises(RunLocked) as caught, nightly_lock(location, "second"):
            pass  # pragma: no cover - refused
        assert f"pid {os.getpid()} on {socket.gethostname()}" in str(caught.value)
        assert caught.value.exit_code is ExitCode.LOCKED
        with nightly_lock(other, "another store"):  # another schema: its own lock
            pass
    with nightly_lock(location, "after the first"):  # released with its session
        pass


HOLD = """
import sys, time
from archiver.store.location import PostgresURL
from archiver.store.postgres import nightly_lock
with nightly_lock(PostgresURL(sys.argv[1]), "holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_killed_night_s_lock_goes_with_its_connection(postgres, tmp_path):
    location = postgres.new_store()
    articles = tmp_path / "a.txt"
    articles.write_text(
        "<!--1729735621000-->\n[A](https://example.org/a)\n------\n\n<p>a</p>\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, location.url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        locked_out = pytest.raises(RunLocked, match=f"pid {holder.pid} on ")
        with locked_out, nightly_lock(location, "second"):
            pass  # pragma: no cover - refused
        refused = run_cli(
            "nightly", str(articles), "--out", str(tmp_path / "fresh"),
            "--store", location.url,
        )  # fmt: skip
        assert refused.returncode == ExitCode.LOCKED, refused.stderr
        assert "another archiver nightly run" in refused.stderr
        assert not (tmp_path / "fresh").exists()  # refused: it made nothing
        holder.kill()  # SIGKILL: no unlock, no goodbye to the server
        holder.wait(10)
        deadline = time.monotonic() + 10
        while True:
            try:
                with nightly_lock(location, "after the kill"):
                    break
            except RunLocked:
                assert time.monotonic() < deadline, "the lock outlived its process"
                time.sleep(0.1)
    finally:
        holder.kill()
        holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()


# Copying a history


def same_reads(a: Store, b: Store) -> None:
    """Everything a report and a night read from a store is the same in both."""
    assert a.runs() == b.runs()
    assert a.articles() == b.articles()
    assert a.all_citations() == b.all_citations()
    assert a.all_checks() == b.all_checks()
    assert a.states() == b.states()
    now = reportsample.night(reportsample.NIGHTS + 3)
    due = (now, timedelta(days=7), timedelta(days=1), 10**6)
    assert a.due_urls(*due) == b.due_urls(*due)
    for state in a.states():
        assert a.last_good(state.url) == b.last_good(state.url)


def test_a_history_copied_to_postgresql_reads_back_the_same(postgres, tmp_path):
    source = reportsample.build(tmp_path / "archiver.sqlite3")
    target = postgres.new_store()
    result = copy_store(source, target)
    with open_store(source, read_only=True) as file:
        assert result.tables["checks"].rows == len(file.all_checks()) > 1000
        assert result.tables["runs"].rows == reportsample.NIGHTS
        with open_store(target, read_only=True) as database:
            same_reads(file, database)
            assert database.sums() == file.sums() == result.tables  # type: ignore[attr-defined]
    assert set(result.tables) == {t.name for t in TABLES}

    # and back again, into a new SQLite file: the same history
    back = tmp_path / "back" / "archiver.sqlite3"
    assert copy_store(target, back).tables == result.tables


def test_a_copy_refuses_a_target_that_holds_a_history(postgres, tmp_path):
    source = reportsample.build(tmp_path / "archiver.sqlite3")
    target = postgres.new_store()
    with open_store(target) as store:
        store.begin_run("mine", datetime(2026, 1, 1, tzinfo=UTC), {})
    with pytest.raises(StoreError, match=r"not empty \(1 runs\)"):
        copy_store(source, target)
    with open_store(target, read_only=True) as store:
        assert [run.id for run in store.runs()] == ["mine"]


def test_a_copy_that_fails_midway_leaves_the_target_empty(postgres, tmp_path):
    source = reportsample.build(tmp_path / "archiver.sqlite3")
    target = postgres.new_store()
    with open_store(source, read_only=True) as file:
        tables = file.dump()  # type: ignore[attr-defined]
    # a check of a run the copy does not have: the foreign key stops it late,
    # after every other table's rows went in
    tables["checks"] = [*tables["checks"], ("https://x.example/", "no-such-run",
                        *tables["checks"][0][2:])]  # fmt: skip
    with open_store(target) as store:
        with pytest.raises(StoreError):
            store.load(tables)  # type: ignore[attr-defined]
        assert store.runs() == ()
        assert all(s.rows == 0 for s in store.sums().values())  # type: ignore[attr-defined]


def test_a_copy_from_an_old_schema_asks_for_a_migration_first(postgres, tmp_path):
    old = tmp_path / "old.sqlite3"
    with stores.raw(old) as conn:
        from archiver.store import migrations
        from archiver.store.sqlite import DIALECT

        migrations.migrate(conn, DIALECT, "old", reportsample.night(0), target=1)
    with pytest.raises(StoreError, match="archiver store migrate"):
        copy_store(old, postgres.new_store())


def test_store_copy_on_the_command_line(postgres, tmp_path):
    source = reportsample.build(tmp_path / "archiver.sqlite3")
    target = postgres.new_store()
    done = run_cli("store", "copy", str(source), target.url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [t.name for t in TABLES]
    assert lines[-1] == f"{source} -> {target}: copied, counts and checksums verified"
    again = run_cli("store", "copy", str(source), target.url)
    assert again.returncode == ExitCode.FAILURE
    assert "not empty" in again.stderr
    assert "Traceback" not in again.stderr


# The same report from either store


REPORT_AT = "2026-02-01T12:00:00+00:00"


def reports(store: str) -> dict[str, str]:
    """The json and md reports of ``store``, with its name (which differs) blanked."""
    found = {}
    for form in ("json", "md"):
        done = run_cli("report", "--store", store, "--format", form, at=REPORT_AT)
        assert done.returncode == 0, done.stderr
        found[form] = done.stdout.replace(str(store_location(store)), "STORE")
    return found


def test_thirty_nights_of_history_report_the_same_from_postgresql(postgres, tmp_path):
    """Issue 19's migration check: 30 nights in a file, copied, the same report."""
    source = reportsample.build(tmp_path / "archiver.sqlite3", nights=30)
    target = postgres.new_store()
    copy_store(source, target)
    from_file, from_database = reports(str(source)), reports(target.url)
    assert from_database == from_file
    document = json.loads(from_file["json"])
    assert document["store"] == "STORE"
    assert len(document["trend"]) == 30
    assert document["headline"]["dead"] > 10  # a report with something in it


def test_the_fix_list_is_the_same_from_postgresql(postgres, tmp_path):
    """archiver fix reads a PostgreSQL store as it reads a file."""
    source = reportsample.build(tmp_path / "archiver.sqlite3", nights=14)
    target = postgres.new_store()
    copy_store(source, target)
    lists = []
    for store in (str(source), target.url):
        done = run_cli(
            "fix", "--store", store, "--format", "json", "--no-memento", "--out", "-",
            at=REPORT_AT,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        lists.append(json.loads(done.stdout))
    assert lists[1] == lists[0]
    assert lists[0]["fixes"], "a fix list with something in it"


@pytest.mark.slow
def test_nights_of_archiver_nightly_report_the_same_after_a_copy(
    postgres, fakeweb: FakeWeb, tmp_path
):
    """Five real nights on SQLite, copied; then a sixth night on PostgreSQL."""
    scenario = scn.build(fakeweb, tmp_path)
    target = postgres.new_store()
    copied = run_cli("store", "copy", str(scenario.store), target.url)
    assert copied.returncode == 0, copied.stderr
    assert reports(target.url) == reports(str(scenario.store))

    sixth = scn.NIGHT_ONE + timedelta(days=scn.NIGHTS)
    done = run_cli(
        "nightly", str(tmp_path / "articles"), "--out", str(tmp_path / "warcs"),
        "--store", target.url, "--allow-private", "--alive-every", "1",
        "--dead-after-failures", "3", "--dead-after-days", "2",
        "--retries", "1", "--no-probe", at=sixth,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    with open_store(target, read_only=True) as database:
        runs = database.runs()
        assert len(runs) == scn.NIGHTS + 1
        assert runs[-1].status == "completed"
        assert set(database.checked_in_run(runs[-1].id)) == set(scenario.groups)
    with open_store(scenario.store, read_only=True) as file:
        assert len(file.runs()) == scn.NIGHTS  # the file was left as it was
    document = json.loads(reports(target.url)["json"])
    assert len(document["trend"]) == scn.NIGHTS + 1
