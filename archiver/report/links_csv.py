"""The per-link export (``--format links-csv``): every link in scope, one row each.

Not only the dead ones: every link an article in scope cites now, checked
or not, with its state and its first and last check, so that anyone can
recount the research figures (:mod:`.research`) with the denominators they
prefer. One row per article, link and kind; cells through
:func:`archiver.cells.spreadsheet_safe`, like the report's CSV. The columns
are ``FIELDS``, documented in the README.
"""

from __future__ import annotations

import csv
import io
from typing import Final

from archiver.cells import spreadsheet_safe
from archiver.report.model import LinkRecord, Report
from archiver.report.words import iso

FIELDS: Final = (
    "article_file",
    "article_url",
    "article_published",
    "link_url",
    "kind",
    "group",
    "verdict",
    "outcome",
    "reason",
    "http_status",
    "dead_reason",
    "checks",
    "first_checked",
    "last_checked",
)


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    writer.writerows(
        tuple(spreadsheet_safe(cell) for cell in row(r)) for r in report.links
    )
    return out.getvalue()


def row(r: LinkRecord) -> tuple[object, ...]:
    return (
        r.article,
        r.article_url or "",
        iso(r.published) or "",
        r.url,
        r.kind,
        r.group,
        r.verdict,
        r.outcome,
        r.reason,
        "" if r.http_status is None else r.http_status,
        r.dead_reason,
        r.checks,
        iso(r.first_checked) or "",
        iso(r.last_checked) or "",
    )
