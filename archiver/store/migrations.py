"""The store's tables, version by version, and how a store is brought up to date.

``MIGRATIONS`` is an ordered list; each entry runs in its own transaction and
records itself in ``schema_version``, so a crash mid-upgrade leaves the store
at the last whole version. The DDL is plain SQL that SQLite and PostgreSQL
both accept: INTEGER/BIGINT/TEXT columns, explicit primary keys, no
AUTOINCREMENT, and times as ISO-8601 UTC text (one fixed format, so text
order is time order). The one thing spelled differently, PostgreSQL's text
collation, is added by :meth:`archiver.store.sql.Dialect.ddl`; the same
migrations therefore build, and upgrade, both kinds of store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from archiver.errors import StoreError
from archiver.store.rows import to_text
from archiver.store.sql import Connection, Dialect, replay, replay_before_texts


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: its DDL, then an optional step that fills new tables."""

    version: int
    summary: str
    statements: tuple[str, ...]
    backfill: Callable[[Connection], None] | None = None


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
        backfill=replay_before_texts,
    ),
    Migration(
        3,
        "articles.withdrawn: when an article's file was found gone from the inputs",
        # NULL while the article is among the inputs. A withdrawn article keeps
        # its row and citations (its history, and the copy in the WARCs), so
        # it is cited again, unchanged, the night its file returns.
        ("ALTER TABLE articles ADD COLUMN withdrawn TEXT",),
    ),
    Migration(
        4,
        "citations.added and citations.removed: a dropped citation is kept, dated",
        # A link an editor removed must stay in the nights it was cited, or
        # every past figure shrinks when it goes (issue 17). So a citation
        # is never deleted: ``removed`` is the time of the night that found it
        # gone, NULL while the article cites it. ``added`` joins the key, so a
        # link cited again later is a new row and both spells are kept. A row
        # there before this version was cited since its article was first seen.
        (
            """CREATE TABLE citations_v4 (
                article TEXT NOT NULL REFERENCES articles (path),
                url TEXT NOT NULL REFERENCES urls (url),
                seq INTEGER NOT NULL,
                kind TEXT NOT NULL,
                element TEXT NOT NULL,
                attribute TEXT NOT NULL,
                anchor_text TEXT NOT NULL,
                title TEXT NOT NULL,
                wrapped_by TEXT,
                added TEXT NOT NULL,
                removed TEXT,
                PRIMARY KEY (article, url, seq, added)
            )""",
            """INSERT INTO citations_v4 (article, url, seq, kind, element,
                attribute, anchor_text, title, wrapped_by, added, removed)
                SELECT c.article, c.url, c.seq, c.kind, c.element, c.attribute,
                c.anchor_text, c.title, c.wrapped_by, a.first_seen, NULL
                FROM citations c JOIN articles a ON a.path = c.article""",
            "DROP TABLE citations",
            "ALTER TABLE citations_v4 RENAME TO citations",
            "CREATE INDEX citations_by_url ON citations (url)",
            "CREATE INDEX citations_by_article ON citations (article)",
        ),
    ),
    Migration(
        5,
        "checks.text_digest, url_states.content (drift by main text); "
        "memento_answers (web archives' answers, kept)",
        # A news page's bytes change every night (ads, timestamps, nonces),
        # so drift compares the digest of its main text instead. Checks
        # recorded before have none: an HTML page among them is compared with
        # nothing (never called drifted by its bytes), and the replay below
        # folds every URL again under that rule.
        # memento_answers: what each web archive answered about a URL at a
        # moment (issue 17 item 2), so ``archiver fix`` does not ask again
        # each run. ``wanted`` is that moment as stored times are, or '' for
        # "the latest"; ``answer`` the captures found, as JSON.
        (
            "ALTER TABLE checks ADD COLUMN text_digest TEXT",
            "ALTER TABLE url_states ADD COLUMN content TEXT",
            """CREATE TABLE memento_answers (
                archive TEXT NOT NULL,
                url TEXT NOT NULL,
                wanted TEXT NOT NULL,
                asked TEXT NOT NULL,
                holds INTEGER NOT NULL,
                answer TEXT NOT NULL,
                PRIMARY KEY (archive, url, wanted)
            )""",
            "CREATE INDEX memento_answers_by_url ON memento_answers (url)",
        ),
        backfill=replay,
    ),
    Migration(
        6,
        "checks_folded: every column a report folds, so it reads the index alone",
        # A report folds each link's checks in time order (issue 17, scale):
        # with these columns in the index it never visits the table's rows,
        # which halves the time to read a year of nights. It begins with
        # checks_by_url's columns and serves every query that one did; drift
        # by content (version 5) needs the text digest and content type too.
        (
            "CREATE INDEX checks_folded ON checks (url, checked, run_id, outcome, "
            "payload_digest, warc_file, warc_offset, text_digest, content_type)",
            "DROP INDEX checks_by_url",
        ),
    ),
    Migration(
        7,
        "frontier: a night's URLs shared out by host among workers, with leases",
        # Only a PostgreSQL store is shared by workers (archiver.store.cluster);
        # a SQLite one has the tables, empty. A host is held by one worker at
        # a time until ``expires`` (milliseconds since the epoch, by the
        # database's clock, so workers' clocks never disagree about a lease);
        # ``drained`` says its holder has nothing of it left to fetch, and
        # ``finished`` that its holder committed everything and left.
        # ``captures`` says where a payload was first archived (its record's
        # URI and WARC-Date), so a worker on another machine, without the
        # first worker's files, writes a revisit for it.
        (
            """CREATE TABLE frontier_hosts (
                run_id TEXT NOT NULL REFERENCES runs (id),
                host TEXT NOT NULL,
                urls INTEGER NOT NULL,
                worker TEXT,
                claims INTEGER NOT NULL,
                expires BIGINT,
                drained INTEGER NOT NULL,
                finished TEXT,
                PRIMARY KEY (run_id, host)
            )""",
            """CREATE TABLE frontier_urls (
                run_id TEXT NOT NULL REFERENCES runs (id),
                url TEXT NOT NULL,
                host TEXT NOT NULL,
                seq INTEGER NOT NULL,
                digest TEXT,
                ref_uri TEXT,
                ref_date TEXT,
                ref_id TEXT,
                worker TEXT,
                done TEXT,
                PRIMARY KEY (run_id, url)
            )""",
            "CREATE INDEX frontier_urls_by_host ON frontier_urls (run_id, host, seq)",
            """CREATE TABLE frontier_workers (
                run_id TEXT NOT NULL REFERENCES runs (id),
                worker TEXT NOT NULL,
                folder TEXT NOT NULL,
                started TEXT NOT NULL,
                seen BIGINT NOT NULL,
                finished TEXT,
                PRIMARY KEY (run_id, worker)
            )""",
            """CREATE TABLE captures (
                url TEXT NOT NULL,
                digest TEXT NOT NULL,
                uri TEXT NOT NULL,
                date TEXT NOT NULL,
                record_id TEXT,
                run_id TEXT NOT NULL,
                warc_file TEXT NOT NULL,
                PRIMARY KEY (url, digest)
            )""",
        ),
    ),
    Migration(
        8,
        "withdrawals: every time an article's file was away, kept after it returns",
        # articles.withdrawn is cleared when the file comes back, and with it
        # the nights it was away: a report made after the return counted its
        # citations on those nights, so figures once printed changed (issue
        # 17, history that does not change). Each absence is kept here; the
        # one open now is taken over from articles.withdrawn.
        (
            """CREATE TABLE withdrawals (
                article TEXT NOT NULL,
                withdrawn TEXT NOT NULL,
                returned TEXT,
                PRIMARY KEY (article, withdrawn)
            )""",
            "INSERT INTO withdrawals (article, withdrawn, returned) "
            "SELECT path, withdrawn, NULL FROM articles WHERE withdrawn IS NOT NULL",
        ),
    ),
    Migration(
        9,
        "frontier_workers.lease: how long a worker's silence means it is gone",
        # Each worker may be given its own --lease. Without it written down,
        # archiver status could only say how long ago a worker was last seen,
        # not that a killed one is gone (its hosts pass on after its lease).
        # In milliseconds, as frontier_hosts.expires; NULL for workers that
        # joined before this version.
        ("ALTER TABLE frontier_workers ADD COLUMN lease BIGINT",),
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(conn: Connection) -> int:
    """The store's schema version: 0 for an empty database."""
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(str(row[0])) if row and row[0] is not None else 0


def refuse_unknown(conn: Connection, dialect: Dialect, name: str) -> int:
    """Raise unless ``conn`` is empty or a store we can read; return its version.

    Called before anything is written, so a refused database is left as it was.
    """
    tables = {str(row[0]) for row in conn.execute(dialect.list_tables).fetchall()}
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
    conn: Connection,
    dialect: Dialect,
    name: str,
    now: datetime,
    target: int = SCHEMA_VERSION,
) -> int:
    """Upgrade the store in ``conn`` (called ``name`` in errors) to ``target``.

    Returns the version the store was at. Refuses, with a one-line
    :class:`StoreError`, a database that is something else, or one written
    by a newer archiver: guessing at a schema we do not know could destroy
    history. ``conn`` must be in autocommit mode: each step is its own
    transaction, begun with the dialect's writing ``BEGIN``, which holds off
    another process upgrading the same store at the same moment.
    """
    found = refuse_unknown(conn, dialect, name)
    conn.execute(
        dialect.ddl(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER NOT NULL PRIMARY KEY, applied TEXT NOT NULL, "
            "summary TEXT NOT NULL)"
        )
    )
    for migration in MIGRATIONS:
        if migration.version > target:
            break
        for begin in dialect.begin_write:
            conn.execute(begin)
        try:
            if migration.version <= current_version(conn):
                conn.execute("ROLLBACK")
                continue
            for statement in migration.statements:
                conn.execute(dialect.ddl(statement))
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
