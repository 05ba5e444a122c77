"""The store's tables, version by version, and how a file is brought up to date.

``MIGRATIONS`` is an ordered list; each entry runs in its own transaction and
records itself in ``schema_version``, so a crash mid-upgrade leaves the file
at the last whole version. The DDL is plain SQL that PostgreSQL also accepts:
INTEGER/BIGINT/TEXT columns, explicit primary keys, no AUTOINCREMENT, and
times as ISO-8601 UTC text (one fixed format, so text order is time order).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from archiver.errors import StoreError
from archiver.store.history import Streak, advance
from archiver.store.rows import (
    INSERT_STREAK,
    from_text,
    row_check,
    streak_row,
    to_text,
)

_REPLAY = (
    "SELECT c.url, c.run_id, c.checked, c.outcome, c.reason, c.detail, "
    "c.http_status, c.final_url, c.attempts, c.content_type, c.length, "
    "c.truncated, c.payload_digest, c.warc_file, c.warc_offset, c.revisit_uri, "
    "c.revisit_date, r.started "
    "FROM checks c JOIN runs r ON r.id = c.run_id "
)
_ORDER = "ORDER BY c.url, c.checked, r.started"


def replay(conn: sqlite3.Connection, url: str | None = None) -> None:
    """Rebuild ``url_states`` from the stored checks: every URL's, or ``url``'s.

    Used to fill the table when it is created, and when a check arrives out of
    order (older than the latest one), where folding forward would be wrong.
    """
    if url is None:
        conn.execute("DELETE FROM url_states")
        rows = conn.execute(_REPLAY + _ORDER)
    else:
        conn.execute("DELETE FROM url_states WHERE url = ?", (url,))
        rows = conn.execute(_REPLAY + "WHERE c.url = ? " + _ORDER, (url,))
    streaks: dict[str, Streak] = {}
    for row in rows.fetchall():
        check = row_check(row[:-1])
        night = from_text(str(row[-1]))
        streaks[check.url] = advance(streaks.get(check.url), check, night)
    conn.executemany(INSERT_STREAK, [streak_row(s) for s in streaks.values()])


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: its DDL, then an optional step that fills new tables."""

    version: int
    summary: str
    statements: tuple[str, ...]
    backfill: Callable[[sqlite3.Connection], None] | None = None


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "articles, urls, citations, runs and checks",
        (
            """CREATE TABLE articles (
                path TEXT NOT NULL PRIMARY KEY,
                url TEXT,
                title TEXT NOT NULL,
                published TEXT,
                sha256 TEXT NOT NULL,
                linked_sha256 TEXT,
                first_seen TEXT NOT NULL,
                last_seen TEXT NOT NULL
            )""",
            """CREATE TABLE urls (
                url TEXT NOT NULL PRIMARY KEY,
                first_seen TEXT NOT NULL,
                fetchable INTEGER NOT NULL
            )""",
            """CREATE TABLE citations (
                article TEXT NOT NULL REFERENCES articles (path),
                url TEXT NOT NULL REFERENCES urls (url),
                seq INTEGER NOT NULL,
                kind TEXT NOT NULL,
                element TEXT NOT NULL,
                attribute TEXT NOT NULL,
                anchor_text TEXT NOT NULL,
                title TEXT NOT NULL,
                wrapped_by TEXT,
                PRIMARY KEY (article, url, seq)
            )""",
            "CREATE INDEX citations_by_url ON citations (url)",
            """CREATE TABLE runs (
                id TEXT NOT NULL PRIMARY KEY,
                started TEXT NOT NULL,
                finished TEXT,
                options TEXT NOT NULL,
                counts TEXT,
                conclusive INTEGER,
                status TEXT NOT NULL
            )""",
            """CREATE TABLE checks (
                run_id TEXT NOT NULL REFERENCES runs (id),
                url TEXT NOT NULL REFERENCES urls (url),
                checked TEXT NOT NULL,
                outcome TEXT NOT NULL,
                reason TEXT NOT NULL,
                detail TEXT NOT NULL,
                http_status INTEGER,
                final_url TEXT,
                attempts INTEGER NOT NULL,
                content_type TEXT,
                length BIGINT,
                truncated INTEGER NOT NULL,
                payload_digest TEXT,
                warc_file TEXT,
                warc_offset BIGINT,
                revisit_uri TEXT,
                revisit_date TEXT,
                PRIMARY KEY (run_id, url)
            )""",
            "CREATE INDEX checks_by_url ON checks (url, checked)",
        ),
    ),
    Migration(
        2,
        "url_states: each URL's checks folded into one row, for planning and reports",
        (
            """CREATE TABLE url_states (
                url TEXT NOT NULL PRIMARY KEY REFERENCES urls (url),
                checked TEXT NOT NULL,
                night TEXT NOT NULL,
                outcome TEXT NOT NULL,
                conclusive TEXT,
                failures INTEGER NOT NULL,
                failing_since TEXT,
                first_failure_night TEXT,
                last_failure_night TEXT,
                ended_failures INTEGER NOT NULL,
                ended_first_night TEXT,
                ended_last_night TEXT,
                last_alive TEXT,
                digest TEXT,
                drifted INTEGER NOT NULL
            )""",
        ),
        backfill=replay,
    ),
    Migration(
        3,
        "articles.withdrawn: when an article's file was found gone from the inputs",
        # NULL while the article is among the inputs. A withdrawn article keeps
        # its row and citations (its history, and the copy in the WARCs), so
        # it is cited again, unchanged, the night its file returns.
        ("ALTER TABLE articles ADD COLUMN withdrawn TEXT",),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(conn: sqlite3.Connection) -> int:
    """The file's schema version: 0 for an empty file."""
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def refuse_unknown(conn: sqlite3.Connection, name: str) -> int:
    """Raise unless ``conn`` is empty or a store we can read; return its version.

    Called before anything is written, so a refused file is left as it was.
    """
    tables = {
        str(row[0])
        for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if not tables:
        return 0
    if "schema_version" not in tables:
        raise StoreError(f"{name}: not an archiver store (no schema_version table)")
    found = current_version(conn)
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"{name}: store schema version {found} is newer than this archiver "
            f"supports ({SCHEMA_VERSION}); upgrade archiver to use it"
        )
    return found


def migrate(
    conn: sqlite3.Connection,
    name: str,
    now: datetime,
    target: int = SCHEMA_VERSION,
) -> int:
    """Upgrade the store in ``conn`` (called ``name`` in errors) to ``target``.

    Returns the version the file was at. Refuses, with a one-line
    :class:`StoreError`, a file that is some other SQLite database, or one
    written by a newer archiver: guessing at a schema we do not know could
    destroy history. ``conn`` must be in autocommit mode (isolation_level None).
    """
    found = refuse_unknown(conn, name)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER NOT NULL PRIMARY KEY, applied TEXT NOT NULL, "
        "summary TEXT NOT NULL)"
    )
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        # IMMEDIATE takes the write lock first, so two processes opening an
        # old file at once cannot both apply the same step.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if migration.version <= current_version(conn):
                conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                conn.execute(statement)
            if migration.backfill is not None:
                migration.backfill(conn)
            conn.execute(
                "INSERT INTO schema_version (version, applied, summary) "
                "VALUES (?, ?, ?)",
                (migration.version, to_text(now), migration.summary),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return found
