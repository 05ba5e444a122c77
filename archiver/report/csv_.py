"""The report as CSV: one row per dead citation, for a spreadsheet.

A link cited twice by one article (two anchors) is two rows; a link cited by
two articles is a row for each. Values are written as stored, times in ISO
8601 UTC, except that text a spreadsheet would run as a formula (starting
with ``=``, ``+``, ``-`` or ``@``) gets a leading ``'``; the columns are
``FIELDS``, documented in the README.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from archiver.cells import spreadsheet_safe
from archiver.report.model import DeadCitation, Report
from archiver.report.words import iso

FIELDS: Final = (
    "article_file",
    "article_url",
    "article_title",
    "article_published",
    "link_url",
    "link_text",
    "kind",
    "outcome",
    "reason",
    "detail",
    "http_status",
    "dead_since",
    "dead_since_run",
    "failures",
    "last_checked",
    "last_good_time",
    "last_good_warc_file",
    "last_good_warc_offset",
    "replay",
)


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows(
        tuple(spreadsheet_safe(cell) for cell in row(d)) for d in report.dead_citations
    )
    return out.getvalue()


def row(d: DeadCitation) -> tuple[object, ...]:
    good = d.last_good
    return (
        d.article,
        d.article_url or "",
        d.article_title,
        iso(d.published) or "",
        d.url,
        d.text,
        d.kind,
        d.outcome,
        d.reason,
        d.detail,
        "" if d.http_status is None else d.http_status,
        iso(d.dead_since) or "",
        d.dead_since_run or "",
        d.failures,
        iso(d.last_checked),
        iso(good.checked) if good else "",
        good.warc_file if good else "",
        good.offset if good else "",
        good.replay if good else "",
    )
