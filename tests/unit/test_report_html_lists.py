"""A long list in the HTML report shows its most important rows, and says so.

The page must stay a few megabytes and answer at once at 100,000 links
(bench/report_bench.py), so a list longer than ``html.LIST_ROWS`` shows
that many rows, ranked, with a note naming how many there are and where
every one is (the CSV and JSON reports, which keep them all). The limit is
made small here, on the many-night sample store.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from archiver.report import ReportOptions, html, make, render
from archiver.store.base import open_store
from tests.manynights import NIGHTS, night, write_history


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    path: Path = tmp_path_factory.mktemp("lists") / "archiver.sqlite3"
    with open_store(path) as store:
        write_history(store)
        return make(store, ReportOptions(generated=night(NIGHTS)))


def rows_of(page: str, table: str) -> list[str]:
    body = page.split(f'<table id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[ >].*?</tr>", body.split("<tbody>", 1)[1], re.S)


def test_a_short_list_shows_every_row_without_a_note(report):
    page = render(report, "html")
    assert len(rows_of(page, "dead-links")) == len(report.dead_citations)
    assert len(rows_of(page, "articles")) == len(report.articles)
    assert "capped" not in page


def test_a_long_list_shows_the_rows_that_matter_most_and_says_how_many(
    report, monkeypatch
):
    monkeypatch.setattr(html, "LIST_ROWS", 3)
    page = render(report, "html")
    dead = rows_of(page, "dead-links")
    assert len(dead) == 3 < len(report.dead_citations)
    per_article = Counter(d.article for d in report.dead_citations)
    most = max(per_article.values())
    top = [path for path, n in per_article.items() if n == most]
    assert any(path in dead[0] for path in top)
    assert f"Showing 3 of {len(report.dead_citations)} dead links" in page
    articles = rows_of(page, "articles")
    assert len(articles) == 3
    worst = min(
        report.articles,
        key=lambda a: (-a.counts.dead, -a.counts.suspect, -a.counts.unsure, a.path),
    )
    assert worst.path in articles[0]
    assert f"Showing 3 of {len(report.articles)} articles" in page
    assert "--format csv" in page


def test_the_csv_and_json_keep_every_row_however_long(report, monkeypatch):
    monkeypatch.setattr(html, "LIST_ROWS", 3)
    lines = render(report, "csv").splitlines()
    assert len(lines) == 1 + len(report.dead_citations)
