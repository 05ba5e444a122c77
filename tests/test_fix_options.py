"""``archiver fix`` refuses bad options and files with one line naming them, exit 2.

A store made through the Store API (empty: nothing to fix) is enough, so
these run in the quick loop; ``tests/test_fix.py`` runs the fix list itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.models import (
    Article,
    Citation,
    LinkKind,
    LinkStatus,
    NormalizedURL,
    Outcome,
    RecordRef,
    Target,
)
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
        (["--store", "bad.csv"], "--store bad.csv: cannot open the store"),
        (["--priority", "missing.csv"], "--priority missing.csv: cannot read"),
        (["--priority", "bad.csv"], "--priority bad.csv: line 2: views 'many'"),
        (["--priority", "short.csv"], "--priority short.csv: line 1: expected"),
        (["--memento-timegate", "ftp://archive.example/"], "--memento-timegate ftp:"),
        (["--memento-timegate", "web.archive.org"], "--memento-timegate web."),
        (["--memento-timegate", "http://[bad"], "--memento-timegate http://[bad"),
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
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("archiver: error: Invalid value")
    assert "Traceback" not in result.stderr


def test_an_empty_store_gives_the_header_only(store, tmp_path):
    result = run_cli("fix", "--store", str(store), "--out", "fixes.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "fixes.csv"
    lines = (tmp_path / "fixes.csv").read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("article_file,link_url,replacement_url,capture_time")


def test_a_copy_never_lands_outside_the_patched_folder(tmp_path, monkeypatch):
    """An article nightly was given as ``../arts/a.txt`` is copied to ``out/arts/``."""
    work, arts = tmp_path / "work", tmp_path / "arts"
    work.mkdir()
    arts.mkdir()
    monkeypatch.chdir(work)
    dead = "https://dead.example/x"
    text = (
        "<!--1729735621000-->\n[A](https://news.example/a)\n------\n\n"
        f'<p><a href="{dead}">x</a></p>\n'
    )
    (arts / "a.txt").write_text(text)
    name = "../arts/a.txt"
    t0 = datetime(2026, 1, 1, 3, tzinfo=UTC)
    store = work / "archiver.sqlite3"
    with open_store(store) as opened:
        opened.record_articles(
            [
                Article(
                    path=Path(name), url="https://news.example/a", title="A",
                    published=t0, body="", text="", sha256="a",
                )
            ],
            t0,
        )  # fmt: skip
        cited = Citation(
            article=name, kind=LinkKind.LINK, element="a", attribute="href"
        )
        opened.record_citations(
            [Target(url=NormalizedURL(dead), citations=(cited,))], t0
        )
        for n, outcome in enumerate((Outcome.ALIVE, Outcome.DEAD)):
            when = t0 + timedelta(days=n)
            opened.begin_run(
                f"run{n}", when, {"dead_after_failures": 1, "dead_after_days": 0}
            )
            record = RecordRef(warc_file="a.warc.gz", offset=0, payload_digest="sha1:A")
            status = LinkStatus(
                url=dead, kind=LinkKind.LINK, citations=(), outcome=outcome,
                reason="ok" if n == 0 else "http-404", detail="",
                record=record if n == 0 else None, checked=when,
            )  # fmt: skip
            opened.record_checks(f"run{n}", [status])
            opened.finish_run(f"run{n}", when, {}, True)
    result = run_cli(
        "fix", "--store", str(store), "--no-memento", "--patched", "out",
        "--patch-mode", "replace",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    copy = work / "out" / "arts" / "a.txt"
    assert f'href="/archive/20260101030000/{dead}"' in copy.read_text()
    assert (arts / "a.txt").read_text() == text
    written = sorted(
        p.relative_to(tmp_path)
        for p in tmp_path.rglob("*")
        if p.is_file() and not p.name.startswith("archiver.sqlite3")
    )
    assert written == [Path("arts/a.txt"), Path("work/out/arts/a.txt")]
