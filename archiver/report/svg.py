"""Charts as inline SVG markup: no script, no font or image to fetch.

Each chart scales to its container (``viewBox``, width 100 %), is coloured by
the classes the HTML report's style sheet defines (``g-dead`` ...), and carries
a ``<title>`` per bar so a pointer or a screen reader gets the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def _svg(width: int, height: int, label: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        + "".join(body)
        + "</svg>"
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


def trend(points: Sequence[RunPoint]) -> str:
    """Stacked bars: the links in each group just after each run."""
    width, height, left, right, top, bottom = 480, 230, 40, 6, 44, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak, step = _scale(max((p.counts.checked for p in points), default=0))
    body = legend(left, 14)
    for tick in range(0, peak + 1, step):
        y = top + plot_h - plot_h * tick / peak
        body.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" '
            f'y2="{y:.1f}"/><text class="tick" x="{left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    slot = plot_w / max(len(points), 1)
    every = max(1, math.ceil(len(points) / 6))
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
                f"{escape(point.run_id)}: {value} {group}</title></rect>"
            )
        if (len(points) - 1 - n) % every == 0:  # the latest run always
            body.append(
                f'<text class="tick" x="{x + slot * 0.4:.1f}" y="{height - 8}" '
                f'text-anchor="middle">{day(point.started)[5:]}</text>'
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
