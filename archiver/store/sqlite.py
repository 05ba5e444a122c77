"""The history store in one SQLite file: the default :class:`archiver.store.base.Store`.

WAL mode lets reports read while a run writes; foreign keys are on; a busy
timeout makes a second writer wait instead of failing. Every write method is
one transaction. One lock serialises calls, so the connection may be handed
between threads (trio's worker threads are not always the same thread), but
it is never used by two at once. Every sqlite3 error leaves as a
:class:`StoreError` naming the file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from archiver.clock import now as clock_now
from archiver.errors import StoreError
from archiver.models import (
    Article,
    Citation,
    LinkStatus,
    Outcome,
    Target,
    Unfetched,
)
from archiver.store import migrations
from archiver.store.history import (
    DEFAULT_RULE,
    ArchivedCopy,
    ArticleChange,
    Check,
    DeadRule,
    Run,
    RunStatus,
    StoredArticle,
    Streak,
    UrlState,
    Verdict,
    advance,
    due,
    url_state,
)
from archiver.store.rows import (
    ARTICLE_COLUMNS,
    CITATION_COLUMNS,
    INSERT_CHECK,
    INSERT_CITATION,
    INSERT_STREAK,
    RUN_COLUMNS,
    SELECT_CHECKS,
    SELECT_STREAKS,
    UPSERT_ARTICLE,
    UPSERT_URL,
    check_row,
    citation_rows,
    from_text,
    maybe_text,
    row_article,
    row_check,
    row_citation,
    row_run,
    row_streak,
    status_check,
    streak_row,
    to_text,
)

_UNFETCHABLE: Final = frozenset({Outcome.SKIPPED, Outcome.INVALID})


# A citation counts while its article is among the inputs.
_CITING_NOW: Final = "article IN (SELECT path FROM articles WHERE withdrawn IS NULL)"


class SQLiteStore:
    """The store in one SQLite file; open it with :meth:`open`."""

    def __init__(self, conn: sqlite3.Connection, name: str, rule: DeadRule) -> None:
        self._conn = conn
        self._name = name
        self._lock = threading.Lock()
        self.rule = rule

    @classmethod
    def open_read_only(cls, path: Path, *, rule: DeadRule = DEFAULT_RULE) -> Self:
        """Open the store at ``path`` for reading only: nothing in it changes.

        For readers such as ``archiver report``, which may run on a copy or a
        read-only mount while nightly writes elsewhere. A store of an older
        schema is refused (one line naming ``archiver store migrate``) rather
        than upgraded behind the reader's back. A WAL store on a read-only
        filesystem that holds no ``-shm`` file is opened as immutable.
        """
        name = str(path)
        conn, found = cls._read_only(path)
        if found < migrations.SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"{name}: store schema version {found} is older than this "
                f"archiver's ({migrations.SCHEMA_VERSION}); upgrade it with "
                f"`archiver store migrate --store {name}`"
            )
        conn.execute("PRAGMA query_only = ON")
        return cls(conn, name, rule)

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        rule: DeadRule = DEFAULT_RULE,
        timeout: float = 30.0,
        now: datetime | None = None,
    ) -> Self:
        """Open (creating or upgrading) the store at ``path``.

        ``timeout`` is how many seconds a write waits for another process's
        write to finish. Raises :class:`StoreError` for a file that is not a
        store, is from a newer archiver, or cannot be opened.
        """
        name = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"{name}: cannot open the store: {exc}") from exc
        try:
            migrations.refuse_unknown(conn, name)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed check survives a power cut, not just kill -9;
            # batching keeps the cost to one fsync per batch.
            conn.execute("PRAGMA synchronous = FULL")
            migrations.migrate(conn, name, now or clock_now())
        except sqlite3.Error as exc:
            conn.close()
            raise StoreError(f"{name}: cannot open the store: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, name, rule)

    @staticmethod
    def schema_version(path: Path) -> int:
        """The schema version of the store at ``path``, read without changing it."""
        conn, found = SQLiteStore._read_only(path)
        conn.close()
        return found

    @staticmethod
    def _read_only(path: Path) -> tuple[sqlite3.Connection, int]:
        """A read-only connection to the store at ``path``, and its schema version.

        A WAL store on a read-only filesystem that holds no ``-shm`` file
        cannot be opened ``mode=ro``; it is opened as immutable instead.
        """
        name = str(path)
        last: sqlite3.Error | None = None
        for flags in ("mode=ro", "immutable=1"):
            try:
                conn = sqlite3.connect(
                    f"{path.resolve().as_uri()}?{flags}",
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                )
            except sqlite3.Error as exc:
                last = exc
                continue
            try:
                return conn, migrations.refuse_unknown(conn, name)
            except sqlite3.OperationalError as exc:
                conn.close()
                last = exc
            except sqlite3.Error as exc:
                conn.close()
                raise StoreError(f"{name}: cannot open the store: {exc}") from exc
            except BaseException:
                conn.close()
                raise
        raise StoreError(f"{name}: cannot open the store: {last}") from last

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction under the lock; sqlite3 errors become StoreError."""
        with self._lock:
            conn = self._conn
            try:
                # IMMEDIATE takes the write lock up front: a deferred
                # transaction that later tries to write can fail with
                # "database is locked" without waiting out the busy timeout.
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"{self._name}: {exc}") from exc

    # Runs

    def begin_run(
        self, run_id: str, started: datetime, options: Mapping[str, object]
    ) -> Run:
        with self._transaction(write=True) as conn:
            if conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone():
                raise StoreError(f"{self._name}: run {run_id} is already recorded")
            conn.execute(
                f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                (
                    run_id,
                    to_text(started),
                    None,
                    json.dumps(dict(options), sort_keys=True, default=str),
                    None,
                    None,
                    str(RunStatus.RUNNING),
                ),
            )
        return self._need_run(run_id)

    def finish_run(
        self,
        run_id: str,
        finished: datetime,
        counts: Mapping[str, int],
        conclusive: bool,
        status: RunStatus = RunStatus.COMPLETED,
    ) -> Run:
        with self._transaction(write=True) as conn:
            updated = conn.execute(
                "UPDATE runs SET finished = ?, counts = ?, conclusive = ?, status = ? "
                "WHERE id = ?",
                (
                    to_text(finished),
                    json.dumps(dict(counts), sort_keys=True),
                    int(conclusive),
                    str(status),
                    run_id,
                ),
            )
            if updated.rowcount == 0:
                raise StoreError(f"{self._name}: no run {run_id} to finish")
        return self._need_run(run_id)

    def run(self, run_id: str) -> Run | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?",  # noqa: S608
                (run_id,),
            ).fetchone()
        return row_run(row) if row else None

    def unfinished_runs(self) -> tuple[Run, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs WHERE status = ? ORDER BY started",  # noqa: S608
                (str(RunStatus.RUNNING),),
            ).fetchall()
        return tuple(row_run(row) for row in rows)

    def runs(self) -> tuple[Run, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {RUN_COLUMNS} FROM runs ORDER BY started, id"  # noqa: S608
            ).fetchall()
        return tuple(row_run(row) for row in rows)

    def _need_run(self, run_id: str) -> Run:
        found = self.run(run_id)
        if found is None:  # pragma: no cover - written in the same call
            raise StoreError(f"{self._name}: run {run_id} vanished")
        return found

    # Articles and citations

    def record_articles(
        self, articles: Iterable[Article], seen: datetime
    ) -> tuple[ArticleChange, ...]:
        changes: list[ArticleChange] = []
        when = to_text(seen)
        with self._transaction(write=True) as conn:
            for article in articles:
                key = str(article.path)
                row = conn.execute(
                    "SELECT linked_sha256 FROM articles WHERE path = ?", (key,)
                ).fetchone()
                conn.execute(
                    UPSERT_ARTICLE,
                    (
                        key,
                        article.url,
                        article.title,
                        maybe_text(article.published),
                        article.sha256,
                        when,
                        when,
                    ),
                )
                linked = None if row is None or row[0] is None else str(row[0])
                if linked != article.sha256:
                    changes.append(
                        ArticleChange(article=article, previous_sha256=linked)
                    )
        return tuple(changes)

    def record_citations(
        self,
        links: Iterable[Target | Unfetched],
        seen: datetime,
        *,
        articles: Iterable[str] = (),
    ) -> None:
        cited: dict[str, list[tuple[str, Citation]]] = {name: [] for name in articles}
        fetchable: dict[str, bool] = {}
        for link in links:
            fetchable[link.url] = fetchable.get(link.url, False) or isinstance(
                link, Target
            )
            for citation in link.citations:
                cited.setdefault(citation.article, []).append((link.url, citation))
        with self._transaction(write=True) as conn:
            known = {str(row[0]) for row in conn.execute("SELECT path FROM articles")}
            unknown = sorted(set(cited) - known)
            if unknown:
                raise StoreError(
                    f"{self._name}: citations name {len(unknown)} article(s) not "
                    f"recorded with record_articles, e.g. {unknown[0]}"
                )
            when = to_text(seen)
            conn.executemany(
                UPSERT_URL, [(url, when, int(ok)) for url, ok in fetchable.items()]
            )
            for article, pairs in cited.items():
                conn.execute("DELETE FROM citations WHERE article = ?", (article,))
                conn.executemany(INSERT_CITATION, citation_rows(article, pairs))

    def mark_archived(self, articles: Iterable[str]) -> None:
        with self._transaction(write=True) as conn:
            conn.executemany(
                "UPDATE articles SET linked_sha256 = sha256 WHERE path = ?",
                [(str(article),) for article in articles],
            )

    def withdraw(self, articles: Iterable[str], at: datetime) -> None:
        with self._transaction(write=True) as conn:
            conn.executemany(
                "UPDATE articles SET withdrawn = ? "
                "WHERE path = ? AND withdrawn IS NULL",
                [(to_text(at), str(article)) for article in articles],
            )

    def citations(self, urls: Iterable[str]) -> dict[str, tuple[Citation, ...]]:
        found: dict[str, tuple[Citation, ...]] = {}
        with self._transaction(write=False) as conn:
            for url in urls:
                rows = conn.execute(
                    f"SELECT {CITATION_COLUMNS} FROM citations "  # noqa: S608
                    f"WHERE url = ? AND {_CITING_NOW} ORDER BY article, seq",
                    (url,),
                ).fetchall()
                found[url] = tuple(row_citation(row) for row in rows)
        return found

    def articles(self) -> tuple[StoredArticle, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY path"  # noqa: S608
            ).fetchall()
        return tuple(row_article(row) for row in rows)

    def all_citations(self) -> dict[str, tuple[Citation, ...]]:
        found: dict[str, list[Citation]] = {}
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"SELECT url, {CITATION_COLUMNS} FROM citations "  # noqa: S608
                f"WHERE {_CITING_NOW} ORDER BY url, article, seq"
            ).fetchall()
        for row in rows:
            found.setdefault(str(row[0]), []).append(row_citation(row[1:]))
        return {url: tuple(cited) for url, cited in found.items()}

    # Checks

    def record_checks(
        self,
        run_id: str,
        statuses: Sequence[LinkStatus],
        at: datetime | None = None,
    ) -> int:
        checks = [status_check(run_id, status, at) for status in statuses]
        added = 0
        with self._transaction(write=True) as conn:
            row = conn.execute(
                "SELECT started FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"{self._name}: no run {run_id}: call begin_run first")
            night = from_text(str(row[0]))
            streaks: dict[str, Streak | None] = {}
            stale: set[str] = set()
            for check in checks:
                fetchable = check.outcome not in _UNFETCHABLE
                conn.execute(
                    UPSERT_URL, (check.url, to_text(check.checked), int(fetchable))
                )
                inserted = conn.execute(INSERT_CHECK, check_row(check))
                if inserted.rowcount == 0:
                    continue  # this run already has a check for the URL: keep it
                added += 1
                if check.url not in streaks:
                    streaks[check.url] = self._streak(conn, check.url)
                previous = streaks[check.url]
                if previous is not None and check.checked < previous.checked:
                    stale.add(check.url)
                else:
                    streaks[check.url] = advance(previous, check, night)
            for url, streak in streaks.items():
                if streak is not None and url not in stale:
                    conn.execute("DELETE FROM url_states WHERE url = ?", (url,))
                    conn.execute(INSERT_STREAK, streak_row(streak))
            for url in stale:
                migrations.replay(conn, url)
        return added

    def checked_in_run(self, run_id: str) -> set[str]:
        with self._transaction(write=False) as conn:
            rows = conn.execute("SELECT url FROM checks WHERE run_id = ?", (run_id,))
            return {str(row[0]) for row in rows}

    def history(self, url: str) -> tuple[Check, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                SELECT_CHECKS + "WHERE url = ? ORDER BY checked", (url,)
            ).fetchall()
        return tuple(row_check(row) for row in rows)

    def all_checks(self) -> tuple[Check, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(SELECT_CHECKS + "ORDER BY url, checked").fetchall()
        return tuple(row_check(row) for row in rows)

    def last_good(self, url: str) -> ArchivedCopy | None:
        return self._capture(
            "WHERE url = ? AND outcome = 'alive' AND warc_file IS NOT NULL "
            "ORDER BY checked DESC LIMIT 1",
            (url,),
        )

    def first_capture(self, url: str, digest: str) -> ArchivedCopy | None:
        return self._capture(
            "WHERE url = ? AND outcome = 'alive' AND warc_file IS NOT NULL "
            "AND payload_digest = ? AND revisit_uri IS NULL ORDER BY checked LIMIT 1",
            (url, digest),
        )

    def last_digest(self, url: str) -> str | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(
                "SELECT payload_digest FROM checks WHERE url = ? AND outcome = 'alive' "
                "AND payload_digest IS NOT NULL ORDER BY checked DESC LIMIT 1",
                (url,),
            ).fetchone()
        return str(row[0]) if row else None

    def _capture(self, where: str, params: tuple[str, ...]) -> ArchivedCopy | None:
        with self._transaction(write=False) as conn:
            row = conn.execute(SELECT_CHECKS + where, params).fetchone()
        if row is None:
            return None
        check = row_check(row)
        if check.record is None:  # pragma: no cover - the query demands a record
            return None
        return ArchivedCopy(
            url=check.url,
            run_id=check.run_id,
            checked=check.checked,
            record=check.record,
        )

    # Verdicts and planning

    def _streak(self, conn: sqlite3.Connection, url: str) -> Streak | None:
        row = conn.execute(SELECT_STREAKS + "WHERE url = ?", (url,)).fetchone()
        return row_streak(row) if row else None

    def state(self, url: str) -> UrlState | None:
        with self._transaction(write=False) as conn:
            streak = self._streak(conn, url)
        return url_state(streak, self.rule) if streak else None

    def states(
        self, verdicts: Collection[Verdict] | None = None
    ) -> tuple[UrlState, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(SELECT_STREAKS + "ORDER BY url").fetchall()
        found = (url_state(row_streak(row), self.rule) for row in rows)
        return tuple(s for s in found if verdicts is None or s.verdict in verdicts)

    def dead_since(self, url: str) -> datetime | None:
        found = self.state(url)
        return found.dead_since if found else None

    def due_urls(
        self,
        now: datetime,
        alive_every: timedelta,
        suspect_every: timedelta,
        limit: int,
    ) -> tuple[str, ...]:
        with self._transaction(write=False) as conn:
            urls = conn.execute(
                "SELECT url, first_seen FROM urls WHERE fetchable = 1"
            ).fetchall()
            streaks = {
                str(row[0]): row_streak(row)
                for row in conn.execute(SELECT_STREAKS).fetchall()
            }
        candidates = [
            (str(url), from_text(str(first_seen)), streaks.get(str(url)))
            for url, first_seen in urls
        ]
        return due(candidates, now, alive_every, suspect_every, self.rule, limit)
