"""Charts as inline SVG markup: no script, no font or image to fetch.

Each chart is drawn at its own size (text stays 14 px; a narrow screen
scrolls it sideways instead of shrinking it), is coloured by
the classes the HTML report's style sheet defines (``g-dead`` ...), and carries
a ``<title>`` per bar so a pointer or a screen reader gets the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC
from html import escape

from archiver.report.model import Counts, Group, RunPoint
from archiver.report.words import day, percent

# Bottom to top in the trend's stacked bars: what needs action first.
STACK: tuple[Group, ...] = (
    Group.DEAD,
    Group.SUSPECT,
    Group.BLOCKED,
    Group.INCONCLUSIVE,
    Group.ALIVE,
)


def _scale(top: int) -> tuple[int, int]:
    """A round axis top at or above ``top``, and the step between its ticks."""
    rough = max(top, 1) / 4
    power = int(10 ** math.floor(math.log10(rough))) if rough >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    return step * max(1, math.ceil(top / step)), step


# Chart text is 14 px in a chart drawn 1:1 (CSS keeps charts at their own
# width and scrolls them on a narrow screen rather than shrinking the text).
# A digit is about 8 px wide at that size; this errs on the wide side, so a
# label never reaches the edge.
CHAR_WIDTH = 8.6
AXIS_GAP = 6


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    # On a narrow screen the wrapper scrolls sideways; a keyboard reaches
    # what it hides only if the wrapper itself can take the focus.
    return (
        f'<div class="chart-wrap" tabindex="0" role="region" '
        f'aria-label="{escape("Chart: " + label)}">'
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg></div>"
    )


def legend(x: float, y: float) -> list[str]:
    """Colour keys, three to a line."""
    parts = []
    for n, group in enumerate(STACK):
        gx, gy = x + (n % 3) * 130, y + (n // 3) * 18
        parts.append(
            f'<rect class="g-{group}" x="{gx}" y="{gy - 10}" width="11" '
            f'height="11"/><text x="{gx + 16}" y="{gy}">{group}</text>'
        )
    return parts


def _text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


def _date_labels(points: Sequence[RunPoint]) -> tuple[list[str], str]:
    """Each run's date as a label, and the x axis title that completes them.

    Within one year the labels are month-day and the title names the year;
    across a year boundary every label carries its year, so a reader never
    has to guess which January is meant.
    """
    years = {p.started.astimezone(UTC).year for p in points}
    if len(years) == 1:
        (year,) = years
        return [day(p.started)[5:] for p in points], f"night of the run (UTC, {year})"
    return [day(p.started) for p in points], "night of the run (UTC)"


def trend(points: Sequence[RunPoint]) -> str:
    """Stacked bars: the links in each group just after each run."""
    width, height, right, top, bottom = 520, 262, 10, 46, 46
    peak, step = _scale(max((p.counts.checked for p in points), default=0))
    ticks = list(range(0, peak + 1, step))
    tick_text = [f"{tick:,}" for tick in ticks]
    # room for the rotated axis title, then the widest tick label
    left = round(20 + AXIS_GAP + max(_text_width(t) for t in tick_text) + AXIS_GAP)
    plot_w, plot_h = width - left - right, height - top - bottom
    body = legend(left, 14)
    for tick, text in zip(ticks, tick_text, strict=True):
        y = top + plot_h - plot_h * tick / peak
        body.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="tick" x="{left - AXIS_GAP}" '
            f'y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    body.append(
        f'<text class="axis" transform="translate(14 {top + plot_h / 2:.1f}) '
        'rotate(-90)" text-anchor="middle">links</text>'
    )
    labels, x_title = _date_labels(points)
    widest = max((_text_width(label) for label in labels), default=0.0)
    slot = plot_w / max(len(points), 1)
    # as many labels as fit side by side with a gap, the latest run always
    every = max(1, math.ceil(len(points) / max(1, int(plot_w // (widest + 12)))))
    placed: list[tuple[float, float, str]] = []  # (centre, half width, text)
    for n, point in enumerate(points):
        x = left + n * slot + slot * 0.1
        y = top + plot_h
        for group in STACK:
            value = getattr(point.counts, str(group))
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            body.append(
                f'<rect class="g-{group}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{slot * 0.8:.1f}" height="{h:.1f}"><title>'
                f"{escape(point.run_id)}: {value:,} {group}</title></rect>"
            )
        if (len(points) - 1 - n) % every == 0:
            half = _text_width(labels[n]) / 2
            # centred under its bar, but never past either end of the chart
            centre = min(max(x + slot * 0.4, left + half), width - right - half)
            placed.append((centre, half, labels[n]))
    # From the latest run back, a label that would touch the one after it
    # (pushed in from an end) is left out.
    kept: list[tuple[float, float, str]] = []
    for centre, half, label in reversed(placed):
        if not kept or centre + half + 6 <= kept[-1][0] - kept[-1][1]:
            kept.append((centre, half, label))
    for centre, _, label in reversed(kept):
        body.append(
            f'<text class="tick" x="{centre:.1f}" y="{top + plot_h + 20}" '
            f'text-anchor="middle">{label}</text>'
        )
    body.append(
        f'<text class="axis" x="{left + plot_w / 2:.1f}" y="{height - 6}" '
        f'text-anchor="middle">{escape(x_title)}</text>'
    )
    return _svg(width, height, "Links in each group after each run", body)


def bar(counts: Counts) -> str:
    """A bar for a table cell: the shares of dead, then suspect, links."""
    parts = ['<rect class="track" x="0" y="0" width="100" height="10"/>']
    x = 0.0
    for group in (Group.DEAD, Group.SUSPECT):
        value = getattr(counts, str(group))
        if value and counts.checked:
            width = 100 * value / counts.checked
            parts.append(
                f'<rect class="g-{group}" x="{x:.2f}" y="0" width="{width:.2f}" '
                f'height="10"><title>{value} of {counts.checked} {group}</title></rect>'
            )
            x += width
    return (
        '<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" '
        f'role="img" aria-label="{percent(counts.dead_share)} dead">'
        + "".join(parts)
        + "</svg>"
    )
