"""``archiver report``: how much of the archive is rotting, where, and since when.

:func:`make` reads the history store and computes a :class:`Report` (see
:mod:`.figures`); :func:`render` lays it out as HTML, Markdown, CSV or JSON.
Reports only read the store, so one can be made while a nightly run writes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final

from archiver.report import csv_, html, json_, links_csv, markdown, marks, source
from archiver.report.figures import build
from archiver.report.model import DEFAULT_COLLECTION, Filters, Report, ReportOptions
from archiver.store.base import Store

__all__ = [
    "DEFAULT_COLLECTION",
    "FORMATS",
    "Filters",
    "Report",
    "ReportOptions",
    "make",
    "render",
]

FORMATS: Final[dict[str, Callable[[Report], str]]] = {
    "html": html.render,
    "md": markdown.render,
    "csv": csv_.render,
    "json": json_.render,
    "links-csv": links_csv.render,
}


def make(store: Store, options: ReportOptions) -> Report:
    """The report on everything in ``store`` that ``options.filters`` keep."""
    return build(source.read(store, checks=False), options, partial(marks.lives, store))


def render(report: Report, form: str) -> str:
    """The report as text in one of :data:`FORMATS`."""
    return FORMATS[form](report)
