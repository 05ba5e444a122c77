"""How the store's values map to table rows and back.

Times are stored as ISO-8601 text in UTC with microseconds always written, so
comparing the text compares the times, in SQLite and PostgreSQL alike.
Statements and column lists shared by the store and its migrations live here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from sys import intern
from typing import Final

from archiver.models import (
    ArchiveAnswer,
    Capture,
    Citation,
    LinkKind,
    LinkStatus,
    Memento,
    Outcome,
    RecordRef,
)
from archiver.store.history import (
    Check,
    CitationSpan,
    Run,
    RunStatus,
    StoredArticle,
    Streak,
)

Row = tuple[object, ...]


def to_text(when: datetime) -> str:
    """A time as stored: UTC, microseconds always written, so text sorts as time."""
    if when.tzinfo is None:
        raise ValueError(f"naive datetime {when.isoformat()}: give a timezone")
    return when.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


def maybe_time(value: object) -> datetime | None:
    return from_text(str(value)) if value is not None else None


def maybe_text(when: datetime | None) -> str | None:
    return to_text(when) if when is not None else None


def _int(value: object) -> int | None:
    return int(str(value)) if value is not None else None


def optional_text(value: object) -> str | None:
    """A nullable column as text: ``None`` stays ``None``."""
    return str(value) if value is not None else None


CHECK_COLUMNS: Final = (
    "url, run_id, checked, outcome, reason, detail, http_status, final_url, "
    "attempts, content_type, length, truncated, payload_digest, warc_file, "
    "warc_offset, revisit_uri, revisit_date, text_digest"
)


def check_row(check: Check) -> Row:
    record = check.record
    revisit = record.revisit_of if record else None
    return (
        check.url,
        check.run_id,
        to_text(check.checked),
        str(check.outcome),
        check.reason,
        check.detail,
        check.http_status,
        check.final_url,
        check.attempts,
        check.content_type,
        check.length,
        int(check.truncated),
        record.payload_digest if record else None,
        record.warc_file if record else None,
        record.offset if record else None,
        revisit.uri if revisit else None,
        revisit.date if revisit else None,
        check.text_digest,
    )


# Outcome(text) costs an enum lookup per call; a report reads 100,000s of checks.
_OUTCOMES: Final = {str(outcome): outcome for outcome in Outcome}


def row_check(row: Row) -> Check:
    (url, run_id, checked, outcome, reason, detail, http_status, final_url) = row[:8]
    (attempts, content_type, length, truncated, digest, warc, offset) = row[8:15]
    (revisit_uri, revisit_date, text_digest) = row[15:]
    record = None
    if warc is not None and offset is not None:
        revisit = None
        if revisit_uri is not None and revisit_date is not None:
            revisit = Capture(uri=str(revisit_uri), date=str(revisit_date))
        record = RecordRef(
            warc_file=intern(str(warc)),
            offset=int(str(offset)),
            payload_digest=optional_text(digest),
            revisit_of=revisit,
        )
    # Texts that few values repeat over many checks (runs, reasons, file
    # names) are interned: a report holds 100,000s of checks at once.
    return Check(
        url=str(url),
        run_id=intern(str(run_id)),
        checked=from_text(str(checked)),
        outcome=_OUTCOMES.get(str(outcome)) or Outcome(str(outcome)),
        reason=intern(str(reason)),
        detail=intern(str(detail)),
        http_status=_int(http_status),
        final_url=optional_text(final_url),
        attempts=int(str(attempts)),
        content_type=None if content_type is None else intern(str(content_type)),
        length=_int(length),
        truncated=bool(truncated),
        record=record,
        text_digest=optional_text(text_digest),
    )


STREAK_COLUMNS: Final = (
    "url, checked, night, outcome, conclusive, failures, failing_since, "
    "first_failure_night, last_failure_night, ended_failures, ended_first_night, "
    "ended_last_night, last_alive, digest, drifted, content"
)


def streak_row(streak: Streak) -> Row:
    return (
        streak.url,
        to_text(streak.checked),
        to_text(streak.night),
        str(streak.outcome),
        optional_text(streak.conclusive),
        streak.failures,
        maybe_text(streak.failing_since),
        maybe_text(streak.first_failure_night),
        maybe_text(streak.last_failure_night),
        streak.ended_failures,
        maybe_text(streak.ended_first_night),
        maybe_text(streak.ended_last_night),
        maybe_text(streak.last_alive),
        streak.digest,
        int(streak.drifted),
        streak.content,
    )


def row_streak(row: Row) -> Streak:
    return Streak(
        url=str(row[0]),
        checked=from_text(str(row[1])),
        night=from_text(str(row[2])),
        outcome=Outcome(str(row[3])),
        conclusive=Outcome(str(row[4])) if row[4] is not None else None,
        failures=int(str(row[5])),
        failing_since=maybe_time(row[6]),
        first_failure_night=maybe_time(row[7]),
        last_failure_night=maybe_time(row[8]),
        ended_failures=int(str(row[9])),
        ended_first_night=maybe_time(row[10]),
        ended_last_night=maybe_time(row[11]),
        last_alive=maybe_time(row[12]),
        digest=optional_text(row[13]),
        drifted=bool(row[14]),
        content=optional_text(row[15]),
    )


INSERT_STREAK: Final = (
    "INSERT INTO url_states (url, checked, night, outcome, conclusive, failures, "
    "failing_since, first_failure_night, last_failure_night, ended_failures, "
    "ended_first_night, ended_last_night, last_alive, digest, drifted, content) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


UPSERT_ARTICLE: Final = (
    "INSERT INTO articles (path, url, title, published, sha256, first_seen, "
    "last_seen) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (path) DO UPDATE SET url = excluded.url, title = excluded.title, "
    "published = excluded.published, sha256 = excluded.sha256, "
    "last_seen = excluded.last_seen, withdrawn = NULL"
)
# A citation dropped and cited again at the very same time is one row again.
INSERT_CITATION: Final = (
    "INSERT INTO citations (article, url, seq, kind, element, attribute, "
    "anchor_text, title, wrapped_by, added, removed) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) "
    "ON CONFLICT (article, url, seq, added) DO UPDATE SET kind = excluded.kind, "
    "element = excluded.element, attribute = excluded.attribute, "
    "anchor_text = excluded.anchor_text, title = excluded.title, "
    "wrapped_by = excluded.wrapped_by, removed = NULL"
)
# What tells two citations of one article apart, with when it was first made.
HELD_CITATIONS: Final = (
    "SELECT url, seq, kind, element, attribute, anchor_text, title, wrapped_by, "
    "added FROM citations WHERE article = ? AND removed IS NULL"
)
REMOVE_CITATION: Final = (
    "UPDATE citations SET removed = ? WHERE article = ? AND url = ? AND seq = ? "
    "AND added = ? AND removed IS NULL"
)
SELECT_SPANS: Final = (
    "SELECT url, article, added, removed FROM citations ORDER BY url, article, added"
)
UPSERT_URL: Final = (
    "INSERT INTO urls (url, first_seen, fetchable) VALUES (?, ?, ?) "
    "ON CONFLICT (url) DO UPDATE SET fetchable = CASE "
    "WHEN urls.fetchable > excluded.fetchable THEN urls.fetchable "
    "ELSE excluded.fetchable END"
)
INSERT_CHECK: Final = (
    f"INSERT INTO checks ({CHECK_COLUMNS}) "  # noqa: S608 - constant
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (run_id, url) DO NOTHING"
)
SELECT_CHECKS: Final = f"SELECT {CHECK_COLUMNS} FROM checks "  # noqa: S608
SELECT_STREAKS: Final = f"SELECT {STREAK_COLUMNS} FROM url_states "  # noqa: S608
RUN_COLUMNS: Final = "id, started, finished, options, counts, conclusive, status"
CITATION_COLUMNS: Final = (
    "article, kind, element, attribute, anchor_text, title, wrapped_by"
)
ARTICLE_COLUMNS: Final = "path, url, title, published, first_seen, last_seen, withdrawn"


def status_check(run_id: str, status: LinkStatus, at: datetime | None) -> Check:
    checked = status.checked or at
    if checked is None:
        raise ValueError(f"{status.url}: the status has no check time and no `at`")
    return Check(
        url=status.url,
        run_id=run_id,
        checked=checked,
        outcome=status.outcome,
        reason=status.reason,
        detail=status.detail,
        http_status=status.http_status,
        final_url=status.final_url,
        attempts=status.attempts,
        content_type=status.content_type,
        length=status.length,
        truncated=status.truncated,
        record=status.record,
        text_digest=status.text_digest,
    )


def row_run(row: Row) -> Run:
    run_id, started, finished, options, counts, conclusive, status = row
    return Run(
        id=str(run_id),
        started=from_text(str(started)),
        finished=maybe_time(finished),
        options=json.loads(str(options)),
        counts=json.loads(str(counts)) if counts is not None else None,
        conclusive=bool(conclusive) if conclusive is not None else None,
        status=RunStatus(str(status)),
    )


def row_citation(row: Row) -> Citation:
    article, kind, element, attribute, text, title, wrapped_by = row
    return Citation(
        article=str(article),
        kind=LinkKind(str(kind)),
        element=str(element),
        attribute=str(attribute),
        text=str(text),
        title=str(title),
        wrapped_by=str(wrapped_by) if wrapped_by is not None else None,
    )


def row_article(row: Row) -> StoredArticle:
    path, url, title, published, first_seen, last_seen, withdrawn = row
    return StoredArticle(
        path=str(path),
        url=optional_text(url),
        title=str(title),
        published=maybe_time(published),
        first_seen=from_text(str(first_seen)),
        last_seen=from_text(str(last_seen)),
        withdrawn=maybe_time(withdrawn),
    )


def row_span(row: Row) -> CitationSpan:
    url, article, added, removed = row
    return CitationSpan(
        url=str(url),
        article=str(article),
        added=from_text(str(added)),
        removed=maybe_time(removed),
    )


def citation_rows(article: str, cited: Iterable[tuple[str, Citation]]) -> list[Row]:
    """Rows for one article's citations; ``seq`` numbers repeats of one URL."""
    seq: dict[str, int] = {}
    rows: list[Row] = []
    for url, c in cited:
        seq[url] = seq.get(url, -1) + 1
        rows.append(
            (
                article,
                url,
                seq[url],
                str(c.kind),
                c.element,
                c.attribute,
                c.text,
                c.title,
                c.wrapped_by,
            )
        )
    return rows


MEMENTO_COLUMNS: Final = "archive, url, wanted, asked, holds, answer"
UPSERT_MEMENTO: Final = (
    f"INSERT INTO memento_answers ({MEMENTO_COLUMNS}) "  # noqa: S608 - constant
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (archive, url, wanted) DO UPDATE SET "
    "asked = excluded.asked, holds = excluded.holds, answer = excluded.answer"
)


def _memento_json(memento: Memento | None) -> dict[str, object] | None:
    if memento is None:
        return None
    return {
        "url": memento.url,
        "captured": to_text(memento.captured),
        "archive": memento.archive,
        "status": memento.status,
    }


def _json_memento(value: object) -> Memento | None:
    if not isinstance(value, dict):
        return None
    status = value.get("status")
    return Memento(
        url=str(value["url"]),
        captured=from_text(str(value["captured"])),
        archive=str(value["archive"]),
        status=int(status) if isinstance(status, int) else None,
    )


def memento_row(answer: ArchiveAnswer) -> Row:
    body = {
        "nearest": _memento_json(answer.nearest),
        "last_alive": _memento_json(answer.last_alive),
        "listed": answer.listed,
        "truncated": answer.truncated,
    }
    return (
        answer.archive,
        answer.url,
        maybe_text(answer.wanted) or "",
        to_text(answer.asked),
        int(answer.holds),
        json.dumps(body, sort_keys=True),
    )


def row_memento(row: Row) -> ArchiveAnswer:
    archive, url, wanted, asked, _holds, answer = row
    body = json.loads(str(answer))
    return ArchiveAnswer(
        archive=str(archive),
        url=str(url),
        wanted=from_text(str(wanted)) if wanted else None,
        asked=from_text(str(asked)),
        nearest=_json_memento(body.get("nearest")),
        last_alive=_json_memento(body.get("last_alive")),
        listed=int(body.get("listed", 0)),
        truncated=bool(body.get("truncated", False)),
    )
