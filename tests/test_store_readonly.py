"""archiver report only reads the store; archiver store migrate upgrades it."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from archiver.store import migrations
from archiver.store.sqlite import DIALECT, SQLiteConnection
from tests import reportsample
from tests.clirun import run_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_report_reads_a_store_on_a_read_only_filesystem(tmp_path):
    built = reportsample.build(tmp_path / "archiver.sqlite3")
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
        shutil.copy(built, disk / built.name)  # closed cleanly: no -wal, no -shm
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        done = run_cli("report", "--store", str(disk / built.name), "--format", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["schema"] == 1
        assert digest(disk / built.name) == digest(built)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_report_leaves_the_store_file_as_it_was(tmp_path):
    store = reportsample.build(tmp_path / "archiver.sqlite3")
    before = digest(store)
    done = run_cli("report", "--store", str(store), "--format", "md")
    assert done.returncode == 0, done.stderr
    assert digest(store) == before


def old_store(path: Path) -> Path:
    """An empty store as schema version 1 wrote it."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        migrations.migrate(
            SQLiteConnection(raw), DIALECT, "old", reportsample.night(0), target=1
        )
    finally:
        raw.close()
    return path


def test_an_old_schema_is_refused_by_report_and_upgraded_by_store_migrate(tmp_path):
    store = old_store(tmp_path / "archiver.sqlite3")
    before = digest(store)
    refused = run_cli("report", "--store", str(store), "--format", "json")
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "schema version 1 is older" in refused.stderr
    assert f"archiver store migrate --store {store}" in refused.stderr
    assert digest(store) == before
    upgraded = run_cli("store", "migrate", "--store", str(store))
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == (
        f"{store}: schema version 1 -> {migrations.SCHEMA_VERSION}"
    )
    again = run_cli("store", "migrate", "--store", str(store))
    assert "already at schema version" in again.stdout
    assert run_cli("report", "--store", str(store), "--format", "json").returncode == 0


def test_store_migrate_on_a_missing_file_is_one_line(tmp_path):
    done = run_cli("store", "migrate", "--store", str(tmp_path / "nope.sqlite3"))
    assert done.returncode == 1
    assert (
        done.stderr.strip()
        == f"archiver: error: {tmp_path / 'nope.sqlite3'}: no such store"
    )
    assert not (tmp_path / "nope.sqlite3").exists()
