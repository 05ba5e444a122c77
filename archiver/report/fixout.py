"""The fix list as CSV (one row per dead citation, ranked) or as a JSON patch.

Both carry the same rows in the same order: the most important article
first, its most prominent dead citations first. The first six columns are
the patch an editor (or a script) applies: ``article_file, link_url,
replacement_url, capture_time, source, confidence``; the rest say why.
The README ("archiver fix") documents each column.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Final

from archiver.cells import spreadsheet_safe
from archiver.report.fix import FixList, FixRow
from archiver.report.words import iso

SCHEMA: Final = 1
FIELDS: Final = (
    "article_file",
    "link_url",
    "replacement_url",
    "capture_time",
    "source",
    "confidence",
    "rank",
    "article_url",
    "article_title",
    "article_published",
    "kind",
    "placement",
    "weight",
    "link_text",
    "reason",
    "http_status",
    "warc_file",
    "warc_offset",
    "archive",
    "last_seen_alive",
    "last_seen_alive_by",
    "first_seen_dead",
    "dead_before_monitoring",
    "dead_since",
    "memento_failures",
)


def values(row: FixRow) -> dict[str, object]:
    """One row as the columns of :data:`FIELDS`."""
    r, a, d = row.replacement, row.article, row.dead
    return {
        "article_file": a.path,
        "link_url": row.url,
        "replacement_url": r.url or None,
        "capture_time": iso(r.captured),
        "source": str(r.source),
        "confidence": str(r.confidence),
        "rank": row.rank,
        "article_url": a.url,
        "article_title": a.title,
        "article_published": iso(a.published),
        "kind": row.kind,
        "placement": str(row.placement),
        "weight": row.weight,
        "link_text": row.text,
        "reason": row.reason,
        "http_status": row.http_status,
        "warc_file": r.warc_file or None,
        "warc_offset": r.warc_offset,
        "archive": r.archive or None,
        "last_seen_alive": iso(d.last_alive),
        "last_seen_alive_by": d.last_alive_by or None,
        "first_seen_dead": iso(d.first_dead),
        "dead_before_monitoring": d.before_monitoring,
        "dead_since": d.describe(),
        # An archive that could not be asked: "needs research" may only mean
        # "ask again later".
        "memento_failures": [f"{f.archive}: {f.problem}" for f in row.memento_failures],
    }


def render_csv(fixes: FixList) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FIELDS)
    for row in fixes.rows:
        cells = values(row)
        writer.writerow(spreadsheet_safe(_cell(cells[name])) for name in FIELDS)
    return out.getvalue()


def render_json(fixes: FixList) -> str:
    document = {
        "schema": SCHEMA,
        "generated": iso(fixes.generated),
        "memento": {
            "asked": fixes.memento_asked,
            "failures": [
                {"archive": f.archive, "problem": str(f.problem), "detail": f.detail}
                for f in fixes.memento_failures
            ],
        },
        "articles": [
            {
                "rank": a.rank,
                "article_file": a.article.path,
                "article_url": a.article.url,
                "score": a.score,
                "views": a.views,
                "dead_citations": len(a.rows),
            }
            for a in fixes.articles
        ],
        "fixes": [values(row) for row in fixes.rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    return value
