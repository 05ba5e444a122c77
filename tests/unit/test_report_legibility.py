"""The report's charts and colours are legible: WCAG contrast, labels, dates.

The contrast figures are computed from the report's own style sheet (both
colour schemes), by WCAG 2's relative-luminance formula; graphics need 3:1
against what they sit on, text 4.5:1. The chart's geometry is measured in a
real browser by tests/test_report_browser.py; here are its words and dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from archiver.report import svg
from archiver.report.assets import STYLE
from archiver.report.markup import Cell, table
from archiver.report.model import Counts, Group, RunPoint

GROUPS = [str(group) for group in Group]


def scheme(dark: bool) -> dict[str, str]:
    """The colour variables of one scheme (dark ones override light ones)."""
    blocks = re.findall(r":root \{([^}]*)\}", STYLE)
    colours: dict[str, str] = {}
    for block in blocks[: 2 if dark else 1]:
        colours |= dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{3,6})", block))
    return colours


def luminance(colour: str) -> float:
    digits = colour.lstrip("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    channels = [int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [
        c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels
    ]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, two: str) -> float:
    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula_gives_wcags_own_figures():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("ground", ["bg", "card"])
def test_every_group_colour_stands_out_three_to_one(dark, group, ground):
    colours = scheme(dark)
    assert contrast(colours[group], colours[ground]) >= 3.0, (group, colours[group])


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_text_colours_read_at_four_and_a_half_to_one(dark):
    colours = scheme(dark)
    for text in ("fg", "muted", "link"):
        for ground in ("bg", "card"):
            assert contrast(colours[text], colours[ground]) >= 4.5, (text, ground)
    assert contrast(colours["on-dead"], colours["dead"]) >= 4.5  # the badge


def points(first: datetime, nights: int, top: int) -> list[RunPoint]:
    return [
        RunPoint(
            run_id=(first + timedelta(days=n)).strftime("%Y%m%dT%H%M%SZ"),
            started=first + timedelta(days=n),
            status="completed",
            conclusive=True,
            checks=top,
            counts=Counts(alive=top - 1000 - n, dead=1000 + n),
            newly_dead=1,
            revived=0,
        )
        for n in range(nights)
    ]


def texts(chart: str) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", chart)


def test_across_a_new_year_every_date_carries_its_year():
    chart = svg.trend(points(datetime(2025, 12, 28, 3, tzinfo=UTC), 8, 500))
    dates = [t for t in texts(chart) if re.fullmatch(r"[\d-]+", t) and "-" in t]
    assert dates
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", d) for d in dates), dates
    assert "2026-01-04" in dates  # the latest run is always labelled


def test_within_one_year_the_axis_title_names_it():
    chart = svg.trend(points(datetime(2026, 3, 1, 3, tzinfo=UTC), 5, 500))
    assert "night of the run (UTC, 2026)" in texts(chart)
    assert "03-05" in texts(chart)
    assert "links" in texts(chart)  # the y axis says what it counts


def test_large_counts_are_written_with_thousands_separators():
    chart = svg.trend(points(datetime(2026, 3, 1, 3, tzinfo=UTC), 5, 98_593))
    assert "100,000" in texts(chart)


def test_the_filters_row_count_is_announced():
    markup = table("t", [("link", "url")], [[Cell("x")]], filter_label="links")
    assert re.search(r'data-count="t" role="status" aria-live="polite"', markup)
