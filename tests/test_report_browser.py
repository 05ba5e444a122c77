"""The HTML report in a real browser: Debian's chromium, headless, offline.

Chromium prints every console message of the page to stderr with
``--enable-logging=stderr`` (errors, warnings, blocked loads, uncaught
exceptions alike), and ``--dump-dom`` prints the page as its script left it.
The page is opened with a ``#sort=...&filter=...`` address, which makes it
click a column header and type into a filter box as a reader would; the rows
are then read back from the DOM and checked here. Skipped without chromium.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from archiver.report import svg
from archiver.report.assets import STYLE
from archiver.report.model import Counts, RunPoint
from tests import reportsample

CHROMIUM = shutil.which("chromium")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="needs Debian's chromium package (apt-get install chromium), which "
    ".ci/run installs; the HTML report's browser test cannot run without it",
)

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-logging=stderr", "--v=0",
)  # fmt: skip


def chromium(address: str, profile: Path) -> tuple[str, list[str]]:
    """The DOM after the page's script ran, and every console message."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", address],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


@dataclass
class Cell:
    sort: str | None
    text: str = ""


@dataclass
class Row:
    hidden: bool
    cells: list[Cell] = field(default_factory=list)


@dataclass
class Table:
    head: list[dict[str, str | None]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


class Page(HTMLParser):
    """The tables (header attributes, rows, cells' sort keys and text) and charts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.root: dict[str, str | None] = {}
        self.tables: dict[str, Table] = {}
        self.svgs: dict[str, int] = {}
        self.counts: dict[str, str] = {}
        self._table: Table | None = None
        self._cell: Cell | None = None
        self._count: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.root = found
        elif tag == "svg":
            kind = str(found.get("class"))
            self.svgs[kind] = self.svgs.get(kind, 0) + 1
        elif tag == "table" and found.get("id"):
            self._table = self.tables.setdefault(str(found["id"]), Table())
        elif self._table is None:
            if tag == "span" and found.get("data-count"):
                self._count = str(found["data-count"])
                self.counts[self._count] = ""
        elif tag == "th":
            self._table.head.append(found)
        elif tag == "tr" and self._table.head:
            self._table.rows.append(Row(hidden="hidden" in found))
        elif tag == "td":
            self._cell = Cell(sort=found.get("data-sort"))
            self._table.rows[-1].cells.append(self._cell)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "td":
            self._cell = None
        elif tag == "span":
            self._count = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data
        if self._count is not None:
            self.counts[self._count] += data


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reportsample.html_report(tmp_path_factory.mktemp("browser"))


def test_console_messages_reach_the_test(tmp_path):
    """The check below would see an error: the harness itself is not blind."""
    bad = tmp_path / "bad.html"
    bad.write_text("<p>x</p><script>console.error('seen'); missing();</script>")
    _, console = chromium(bad.as_uri(), tmp_path / "profile")
    assert any("seen" in line for line in console)
    assert any("missing is not defined" in line for line in console)


def test_the_report_loads_without_a_console_message(page, tmp_path):
    dom, console = chromium(page.as_uri(), tmp_path / "profile")
    assert console == []
    found = Page(dom)
    assert found.root.get("data-ready") == "yes"  # the script ran to its end
    assert found.svgs.get("chart") == 1  # the trend
    tables = ("trend", "by-year", "by-domain", "research-kinds", "research-years",
              "research-reasons", "dead-links", "unsettled-links", "articles",
              "drift")  # fmt: skip
    assert set(found.tables) == set(tables)
    for name in tables:
        assert found.tables[name].rows, name
    bars = len(found.tables["by-year"].rows) + len(found.tables["by-domain"].rows)
    assert found.svgs.get("bar") == bars  # one bar per year and per domain
    assert found.counts["dead-links"] == (
        f"{len(found.tables['dead-links'].rows)} of "
        f"{len(found.tables['dead-links'].rows)}"
    )


def sort_key(value: str | None) -> tuple[int, float, str]:
    """The page's order: numbers by value before words, words case-blind."""
    text = value or ""
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text.lower())


def test_clicking_a_header_sorts_and_typing_filters(page, tmp_path):
    before = Page(page.read_text(encoding="utf-8")).tables
    address = (
        page.as_uri() + "#sort=dead-links.6.desc&sort=by-domain.0&filter=articles:2014"
    )
    dom, console = chromium(address, tmp_path / "profile")
    assert console == []
    after = Page(dom).tables

    dead = after["dead-links"]
    failures = [row.cells[6].sort for row in dead.rows]
    assert [h.get("aria-sort") for h in dead.head].count("descending") == 1
    assert dead.head[6].get("aria-sort") == "descending"
    assert sorted(failures, key=sort_key, reverse=True) == failures
    was = [str(row.cells[2].sort) for row in before["dead-links"].rows]
    now = [str(row.cells[2].sort) for row in dead.rows]
    assert sorted(was) == sorted(now)  # the same rows ...
    assert was != now  # ... in another order

    domains = after["by-domain"]
    names = [row.cells[0].text for row in domains.rows]
    assert domains.head[0].get("aria-sort") == "ascending"
    assert names == sorted(names, key=str.lower)
    assert names != [row.cells[0].text for row in before["by-domain"].rows]

    articles = after["articles"].rows
    shown = [row for row in articles if not row.hidden]
    assert shown
    assert len(shown) < len(articles)
    for row in articles:
        text = " ".join(cell.text for cell in row.cells)
        assert ("2014" in text) is not row.hidden


MEASURE = """
const svg = document.querySelector("svg.chart");
const box = svg.getBoundingClientRect();
const scale = box.width / svg.viewBox.baseVal.width;
const found = {clipped: [], small: [], overlapping: [], scale: scale};
const ticks = [];
for (const text of svg.querySelectorAll("text")) {
  const r = text.getBoundingClientRect();
  if (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
      r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
    found.clipped.push(text.textContent);
  }
  const px = parseFloat(getComputedStyle(text).fontSize) * scale;
  if (px < 12) found.small.push([text.textContent, px]);
  if (text.classList.contains("tick") && /-/.test(text.textContent)) ticks.push(r);
}
for (let i = 1; i < ticks.length; i++) {
  if (ticks[i].left < ticks[i - 1].right) found.overlapping.push(i);
}
document.getElementById("out").textContent = JSON.stringify(found);
"""


@pytest.mark.parametrize("width", [360, 1280], ids=["phone", "desktop"])
def test_the_trend_chart_is_legible_in_a_browser(tmp_path, width):
    """Issue 17: no clipped label, nothing under 12 px, dates that do not collide."""
    first = datetime(2025, 12, 10, 3, tzinfo=UTC)
    points = [
        RunPoint(
            run_id=f"night{n}",
            started=first + timedelta(days=n),
            status="completed",
            conclusive=True,
            checks=98_593,
            counts=Counts(alive=90_000 - 40 * n, dead=8_593 + 40 * n),
            newly_dead=40,
            revived=0,
        )
        for n in range(40)  # across the new year
    ]
    html = tmp_path / "chart.html"
    html.write_text(
        '<!doctype html><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<style>{STYLE}</style><body>{svg.trend(points)}"
        f'<pre id="out"></pre><script>{MEASURE}</script></body>',
        encoding="utf-8",
    )
    assert CHROMIUM is not None
    result = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
         f"--window-size={width},900", "--dump-dom", html.as_uri()],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(unescape(result.stdout.split('<pre id="out">')[1].split("<")[0]))
    assert found["clipped"] == []
    assert found["small"] == []
    assert found["overlapping"] == []
