"""``archiver fix`` refuses bad options and files with one line naming them, exit 2.

A store made through the Store API (empty: nothing to fix) is enough, so
these run in the quick loop; ``tests/test_fix.py`` runs the fix list itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.store.base import open_store
from tests.clirun import run_cli


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "archiver.sqlite3"
    open_store(path).close()
    (tmp_path / "bad.csv").write_text("url,views\nhttps://a.example/,many\n")
    (tmp_path / "short.csv").write_text("https://a.example/\n")
    return path


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--store", "missing.sqlite3"], "--store missing.sqlite3: no such file"),
        (["--priority", "missing.csv"], "--priority missing.csv: cannot read"),
        (["--priority", "bad.csv"], "--priority bad.csv: line 2: views 'many'"),
        (["--priority", "short.csv"], "--priority short.csv: line 1: expected"),
        (["--memento-timegate", "ftp://archive.example/"], "--memento-timegate ftp:"),
        (["--memento-timegate", "web.archive.org"], "--memento-timegate web."),
        (["--out", "no/such/folder/x.csv"], "--out no/such/folder/x.csv"),
    ],
)
def test_bad_options_and_files_are_one_line(store, args, names):
    given = [] if "--store" in args else ["--store", str(store)]
    result = run_cli("fix", *given, "--no-memento", *args)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"archiver: error: {names}")


@pytest.mark.parametrize(
    "args",
    [
        ["--patch-mode", "sideways"],
        ["--format", "xml"],
        ["--memento-timeout", "nan"],
        ["--memento-per-host", "0"],
    ],
)
def test_bad_values_are_click_usage_errors(store, args):
    result = run_cli("fix", "--store", str(store), *args)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("Error: Invalid value")
    assert "Traceback" not in result.stderr


def test_an_empty_store_gives_the_header_only(store, tmp_path):
    result = run_cli("fix", "--store", str(store), "--out", "fixes.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fixes.csv"
    lines = (tmp_path / "fixes.csv").read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("article_file,link_url,replacement_url,capture_time")
