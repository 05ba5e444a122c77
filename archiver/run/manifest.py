"""Write a run's results: ``manifest.jsonl`` and ``dead-links.csv`` for editors.

The manifest has one JSON object per distinct URL, in a stable key order (see
``MANIFEST_FIELDS``); the CSV has one row per dead link per citing article,
with what an editor needs to find and fix it. ``requisites.jsonl`` lists
what the pages needed to show (``REQUISITE_FIELDS``), apart from the
citations, because a missing stylesheet is no dead link. All are written to
a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from archiver.cells import spreadsheet_safe
from archiver.errors import ArchiveWriteError
from archiver.files import replacing
from archiver.models import ArticleHead, LinkStatus, Outcome, RecordRef

if TYPE_CHECKING:
    from archiver.run.requisites import RequisiteLine

MANIFEST_NAME: Final = "manifest.jsonl"
DEAD_LINKS_NAME: Final = "dead-links.csv"
REQUISITES_NAME: Final = "requisites.jsonl"
# Lines for the URLs finished so far, in the order they finished; replaced by
# the sorted manifest when the run ends, left behind when it is killed.
PARTIAL_NAME: Final = "manifest.jsonl.partial"

MANIFEST_FIELDS: Final = (
    "url",
    "kind",
    "articles",
    "outcome",
    "reason",
    "detail",
    "http_status",
    "final_url",
    "chain",
    "attempts",
    "content_type",
    "length",
    "truncated",
    "payload_digest",
    "warc_file",
    "warc_offset",
    "revisit_of",
    "checked",
    "citations",
    "requisites",
    "completeness",
)

REQUISITE_FIELDS: Final = (
    "url",
    "kind",
    "outcome",
    "reason",
    "detail",
    "http_status",
    "final_url",
    "content_type",
    "length",
    "truncated",
    "payload_digest",
    "warc_file",
    "warc_offset",
    "warc_date",
    "revisit_of",
    "checked",
    "pages",
)

DEAD_LINK_FIELDS: Final = (
    "article_file",
    "article_url",
    "article_title",
    "link_url",
    "link_text",
    "kind",
    "reason",
    "detail",
    "http_status",
    "final_url",
    "checked",
)


def manifest_entry(status: LinkStatus) -> dict[str, object]:
    """One manifest object; keys in ``MANIFEST_FIELDS`` order."""
    record = status.record
    counts = status.requisites
    entry: dict[str, object] = {
        "url": status.url,
        "kind": str(status.kind),
        "articles": sorted({c.article for c in status.citations}),
        "outcome": str(status.outcome),
        "reason": status.reason,
        "detail": status.detail,
        "http_status": status.http_status,
        "final_url": status.final_url,
        "chain": list(status.chain),
        "attempts": status.attempts,
        "content_type": status.content_type,
        "length": status.length,
        "truncated": status.truncated,
        "payload_digest": record.payload_digest if record else None,
        "warc_file": record.warc_file if record else None,
        "warc_offset": record.offset if record else None,
        "revisit_of": _capture(record),
        "checked": status.checked.isoformat() if status.checked else None,
        "citations": [
            {
                "article": c.article,
                "kind": str(c.kind),
                "element": c.element,
                "attribute": c.attribute,
                "text": c.text,
                "title": c.title,
                "wrapped_by": c.wrapped_by,
            }
            for c in status.citations
        ],
        "requisites": (
            {
                "found": counts.found,
                "archived": counts.archived,
                "failed": counts.failed,
                "not_fetched": counts.not_fetched,
            }
            if counts is not None
            else None
        ),
        "completeness": counts.completeness if counts is not None else None,
    }
    return entry


def requisite_entry(line: RequisiteLine) -> dict[str, object]:
    """One ``requisites.jsonl`` object; keys in ``REQUISITE_FIELDS`` order."""
    check = line.check
    record = check.record
    return {
        "url": check.url,
        "kind": str(check.kind),
        "outcome": str(check.outcome),
        "reason": check.reason,
        "detail": check.detail,
        "http_status": check.http_status,
        "final_url": check.final_url,
        "content_type": check.content_type,
        "length": check.length,
        "truncated": check.truncated,
        "payload_digest": record.payload_digest if record else None,
        "warc_file": record.warc_file if record else None,
        "warc_offset": record.offset if record else None,
        "warc_date": record.date if record else None,
        "revisit_of": _capture(record),
        "checked": check.checked.isoformat() if check.checked else None,
        "pages": list(line.pages),
    }


def _capture(record: RecordRef | None) -> dict[str, str] | None:
    if record is None or record.revisit_of is None:
        return None
    return {"uri": record.revisit_of.uri, "date": record.revisit_of.date}


def write_requisites(folder: Path, lines: Iterable[RequisiteLine]) -> Path:
    """Write ``requisites.jsonl`` into ``folder`` (one line per requisite)."""
    path = folder / REQUISITES_NAME
    try:
        with replacing(path) as out:
            for line in lines:
                out.write(json.dumps(requisite_entry(line), ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot write: {exc.strerror}") from exc
    return path


def merge_requisites(folder: Path) -> tuple[Path, int, int]:
    """Write the night's ``requisites.jsonl`` from its workers' folders' lists.

    In a shared night each worker lists the requisites it archived in its own
    folder; the run folder's list is the night's, as a night of one process
    writes it, and it is the one the next night reads to refer to a
    stylesheet archived already rather than keep it again. A requisite two
    workers archived is listed once (the first by folder name) with the
    pages of both; ``warc_file`` names the file from the run folder, as the
    store's checks of a shared night do. Returns the path, the number of
    distinct requisites and how many of them were archived.
    """
    merged: dict[str, dict[str, object]] = {}
    for path in sorted(folder.glob(f"*/{REQUISITES_NAME}")):
        worker = path.parent.name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue  # a worker's list is gone or torn: its lines are missed
        for text in lines:
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("url"), str):
                continue
            if isinstance(entry.get("warc_file"), str):
                entry["warc_file"] = f"{worker}/{entry['warc_file']}"
            pages = entry.get("pages")
            seen = merged.setdefault(entry["url"], entry)
            if seen is not entry and isinstance(pages, list):
                earlier = seen.get("pages")
                known = earlier if isinstance(earlier, list) else []
                seen["pages"] = sorted({*map(str, known), *map(str, pages)})
    target = folder / REQUISITES_NAME
    try:
        with replacing(target) as out:
            for url in sorted(merged):
                out.write(json.dumps(merged[url], ensure_ascii=False) + "\n")
    except OSError as exc:
        raise ArchiveWriteError(f"{target}: cannot write: {exc.strerror}") from exc
    archived = sum(1 for e in merged.values() if e.get("outcome") == "archived")
    return target, len(merged), archived


def line(status: LinkStatus) -> str:
    """One manifest line, newline included."""
    return json.dumps(manifest_entry(status), ensure_ascii=False) + "\n"


def dead_link_rows(
    statuses: Iterable[LinkStatus], articles: Mapping[str, ArticleHead]
) -> list[dict[str, object]]:
    """One row per dead URL per article citing it, ordered by article then URL."""
    rows: list[dict[str, object]] = []
    for status in statuses:
        if status.outcome is not Outcome.DEAD:
            continue
        by_article: dict[str, str] = {}
        for citation in status.citations:
            text = by_article.get(citation.article) or citation.text
            by_article[citation.article] = text
        for path, text in by_article.items():
            article = articles.get(path)
            rows.append(
                {
                    "article_file": path,
                    "article_url": article.url if article else "",
                    "article_title": article.title if article else "",
                    "link_url": status.url,
                    "link_text": text,
                    "kind": str(status.kind),
                    "reason": status.reason,
                    "detail": status.detail,
                    "http_status": status.http_status or "",
                    "final_url": status.final_url or "",
                    "checked": status.checked.isoformat() if status.checked else "",
                }
            )
    rows.sort(key=lambda r: (str(r["article_file"]), str(r["link_url"])))
    return rows


def write(
    folder: Path,
    statuses: Iterable[LinkStatus],
    articles: Mapping[str, ArticleHead],
    *,
    ordered: bool = False,
) -> tuple[Path, Path]:
    """Write both files into ``folder``; return their paths.

    ``ordered`` says ``statuses`` come in URL order already (a run's
    :class:`~archiver.run.statuses.StatusFile` reads them back so): they
    are then passed over once, and only the dead ones are held.
    """
    if not ordered:
        statuses = sorted(statuses, key=lambda s: s.url)
    manifest = folder / MANIFEST_NAME
    dead = folder / DEAD_LINKS_NAME
    dead_ones: list[LinkStatus] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with replacing(manifest) as out:
            for status in statuses:
                out.write(line(status))
                if status.outcome is Outcome.DEAD:
                    dead_ones.append(status)
        with replacing(dead, newline="") as out:
            writer = csv.DictWriter(out, fieldnames=DEAD_LINK_FIELDS)
            writer.writeheader()
            writer.writerows(
                {k: spreadsheet_safe(v) for k, v in row.items()}
                for row in dead_link_rows(dead_ones, articles)
            )
    except OSError as exc:
        raise ArchiveWriteError(f"{folder}: cannot write the manifest: {exc}") from exc
    return manifest, dead
