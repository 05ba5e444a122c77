"""HTML pieces the report's page is built of: escaped text, links, sortable tables.

Every value goes through :func:`h` or :func:`link`; a table cell carries the
key the page's script sorts by (``data-sort``), so times and shares sort by
value, not by how they read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from archiver.report.model import Counts
from archiver.report.words import human, iso, percent


@dataclass(frozen=True, slots=True)
class Cell:
    html: str
    sort: str | None = None  # the key the script sorts by; None: the text
    kind: str = ""  # "n" right-aligns a number, "url" lets a URL wrap


def h(value: object) -> str:
    return escape(str(value), quote=True)


def link(url: str | None, label: str | None = None) -> str:
    """An anchor for a web address; plain text for anything else."""
    shown = h(label if label is not None else url or "")
    if url and url.lower().startswith(("http://", "https://")):
        return f'<a href="{h(url)}" rel="noreferrer">{shown}</a>'
    return shown


def num(value: int) -> Cell:
    return Cell(str(value), str(value), "n")


def share(value: float | None) -> Cell:
    return Cell(percent(value), "" if value is None else f"{value:.6f}", "n")


def when(moment: datetime | None) -> Cell:
    return Cell(h(human(moment)), iso(moment) or "")


def table(
    table_id: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Cell]],
    *,
    filter_label: str | None = None,
) -> str:
    """A sortable table; ``columns`` are (title, kind). Empty tables say so."""
    if not rows:
        return '<p class="note">Nothing to list.</p>'
    head = "".join(
        f'<th scope="col" class="{kind}"><button type="button">{h(title)}</button></th>'
        for title, kind in columns
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{c.kind}"'
            + (f' data-sort="{h(c.sort)}"' if c.sort is not None else "")
            + f">{c.html}</td>"
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    search = ""
    if filter_label is not None:
        search = (
            f'<div class="filter"><input type="search" data-filter="{table_id}" '
            f'placeholder="Filter {h(filter_label)}" aria-label="Filter '
            f'{h(filter_label)}"><span class="note" data-count="{table_id}" '
            'role="status" aria-live="polite"></span></div>'
        )
    return (
        f'{search}<div class="scroll"><table id="{table_id}" class="sortable">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def count_cells(c: Counts) -> list[Cell]:
    return [
        num(c.checked),
        num(c.dead),
        num(c.suspect),
        num(c.unsure),
        share(c.dead_share),
    ]


COUNT_COLUMNS = (
    ("links", "n"),
    ("dead", "n"),
    ("suspect", "n"),
    ("blocked or inconclusive", "n"),
    ("rot rate", "n"),
)
