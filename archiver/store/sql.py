"""The store's queries, written once for both databases it runs on.

:class:`SQLStore` implements every method of :class:`archiver.store.base.Store`
over a narrow :class:`Connection`, so SQLite (:mod:`archiver.store.sqlite`)
and PostgreSQL (:mod:`archiver.store.postgres`) answer the same questions with
the same statements and fold checks with the same rules
(:mod:`archiver.store.history`). What differs between the two is only how a
connection is opened, how a transaction begins, how tables are listed and how
text is compared; that is a :class:`Dialect`, and the driver's own errors,
which each subclass turns into :class:`StoreError` in :meth:`_transaction`.

The shared SQL uses ``?`` placeholders (sqlite3's); the PostgreSQL connection
rewrites them for psycopg. Times are ISO-8601 text (:mod:`archiver.store.rows`),
so no column type needs converting on either side.
"""

from __future__ import annotations

import hashlib
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from itertools import groupby
from operator import itemgetter
from types import TracebackType
from typing import Final, Protocol, Self, cast

from archiver.errors import StoreError
from archiver.models import (
    ArchiveAnswer,
    Article,
    Citation,
    LinkStatus,
    Outcome,
    Target,
    Unfetched,
)
from archiver.store.history import (
    ArchivedCopy,
    ArticleChange,
    Check,
    CitationSpan,
    DeadRule,
    Mark,
    Run,
    RunStatus,
    StoredArticle,
    Streak,
    Tally,
    UrlState,
    Verdict,
    advance,
    due,
    url_state,
)
from archiver.store.rows import (
    ARTICLE_COLUMNS,
    CHECK_COLUMNS,
    CITATION_COLUMNS,
    HELD_CITATIONS,
    INSERT_CHECK,
    INSERT_CITATION,
    INSERT_STREAK,
    MEMENTO_COLUMNS,
    REMOVE_CITATION,
    RUN_COLUMNS,
    SELECT_CHECKS,
    SELECT_SPANS,
    SELECT_STREAKS,
    STREAK_COLUMNS,
    UPSERT_ARTICLE,
    UPSERT_MEMENTO,
    UPSERT_URL,
    Row,
    check_row,
    citation_rows,
    from_text,
    maybe_text,
    maybe_time,
    memento_row,
    optional_text,
    row_article,
    row_check,
    row_citation,
    row_memento,
    row_run,
    row_span,
    row_streak,
    status_check,
    streak_row,
    to_text,
)

_UNFETCHABLE: Final = frozenset({Outcome.SKIPPED, Outcome.INVALID})

# A citation counts while its article still has it (a dropped one is kept,
# dated, for the history) and the article is among the inputs.
_CITING_NOW: Final = (
    "removed IS NULL AND article IN (SELECT path FROM articles WHERE withdrawn IS NULL)"
)


class Cursor(Protocol):
    """What the store reads back from a statement."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Row | None: ...
    def fetchall(self) -> list[Row]: ...


class Connection(Protocol):
    """The part of a DB-API connection the store uses, with ``?`` placeholders."""

    @property
    def in_transaction(self) -> bool: ...
    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Dialect:
    """Everything the two databases spell differently, in one place."""

    name: str
    begin_read: tuple[str, ...]  # statements that open a reading transaction
    begin_write: tuple[str, ...]  # ... a writing one, holding off other writers
    list_tables: str  # one column: the names of the store's tables
    # PostgreSQL compares text by the database's locale unless told otherwise;
    # SQLite compares bytes. Reports sort by URL and path, so both must agree.
    text_collation: str | None = None
    # The run ids of a URL's checks joined in time order, as an aggregate:
    # SQLite's group_concat takes the rows in the order its index gives them
    # (checks_folded: url, checked, run_id); PostgreSQL's string_agg is told.
    joined_runs: str = "group_concat(run_id, char(31))"

    def ddl(self, statement: str) -> str:
        """A CREATE or ALTER statement of the migrations, in this dialect."""
        if self.text_collation is None:
            return statement
        return re.sub(r"\bTEXT\b", f'TEXT COLLATE "{self.text_collation}"', statement)


@dataclass(frozen=True, slots=True)
class Table:
    """One table as ``archiver store copy`` moves it: every column, in order."""

    name: str
    columns: str

    @property
    def select(self) -> str:
        return f"SELECT {self.columns} FROM {self.name}"  # noqa: S608 - constants

    @property
    def insert(self) -> str:
        marks = ", ".join("?" for _ in self.columns.split(","))
        return f"INSERT INTO {self.name} ({self.columns}) VALUES ({marks})"  # noqa: S608


# Parents before children, so foreign keys hold row by row while copying.
TABLES: Final = (
    Table(
        "articles",
        "path, url, title, published, sha256, linked_sha256, first_seen, "
        "last_seen, withdrawn",
    ),
    Table("urls", "url, first_seen, fetchable"),
    Table(
        "citations",
        "article, url, seq, kind, element, attribute, anchor_text, title, "
        "wrapped_by, added, removed",
    ),
    Table("runs", RUN_COLUMNS),
    Table("checks", CHECK_COLUMNS),
    Table("url_states", STREAK_COLUMNS),
    Table("memento_answers", MEMENTO_COLUMNS),
    Table("withdrawals", "article, withdrawn, returned"),
)


@dataclass(frozen=True, slots=True)
class TableSum:
    """A table's row count and a digest of its rows, whatever order they come in."""

    rows: int
    sha256: str


def table_sum(rows: Iterable[Row]) -> TableSum:
    """Count and digest rows as values: text, integers and NULLs, sorted.

    Each row is written as JSON and the lines sorted as bytes before hashing,
    so the digest of a table does not depend on either database's row order
    or collation, only on what is in it.
    """
    lines = sorted(
        json.dumps(list(row), ensure_ascii=False, separators=(",", ":")).encode()
        for row in rows
    )
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line + b"\n")
    return TableSum(rows=len(lines), sha256=digest.hexdigest())


class SQLStore(ABC):
    """Every :class:`~archiver.store.base.Store` method, over a :class:`Connection`.

    Subclasses open the connection and provide :meth:`_transaction`: one
    transaction, under a lock so that the connection is used by one thread
    at a time, with the driver's errors turned into :class:`StoreError`.
    """

    rule: DeadRule
    dialect: Dialect  # set by each subclass: how its database spells things

    def __init__(self, name: str, rule: DeadRule) -> None:
        self._name = name  # for errors: its path, or its URL, password masked
        self.rule = rule

    @abstractmethod
    def _transaction(self, write: bool) -> AbstractContextManager[Connection]:
        """One transaction on the driver's connection, its errors as StoreError."""

    @abstractmethod
    def close(self) -> None:
        """Close the driver's connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

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
                # Back from an absence: the absence ends, and stays on record.
                conn.execute(
                    "UPDATE withdrawals SET returned = ? "
                    "WHERE article = ? AND returned IS NULL",
                    (when, key),
                )
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
            rows = conn.execute("SELECT path FROM articles").fetchall()
            known = {str(row[0]) for row in rows}
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
                _replace_citations(conn, article, citation_rows(article, pairs), when)

    def mark_archived(self, articles: Iterable[str]) -> None:
        with self._transaction(write=True) as conn:
            conn.executemany(
                "UPDATE articles SET linked_sha256 = sha256 WHERE path = ?",
                [(str(article),) for article in articles],
            )

    def withdraw(self, articles: Iterable[str], at: datetime) -> None:
        rows = [(to_text(at), str(article)) for article in articles]
        with self._transaction(write=True) as conn:
            conn.executemany(
                "INSERT INTO withdrawals (article, withdrawn, returned) "
                "SELECT path, ?, NULL FROM articles "
                "WHERE path = ? AND withdrawn IS NULL",
                rows,
            )
            conn.executemany(
                "UPDATE articles SET withdrawn = ? "
                "WHERE path = ? AND withdrawn IS NULL",
                rows,
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
            absences = conn.execute(
                "SELECT article, withdrawn, returned FROM withdrawals "
                "ORDER BY article, withdrawn"
            ).fetchall()
        away: dict[str, list[tuple[datetime, datetime | None]]] = {}
        for article, gone, back in absences:
            away.setdefault(str(article), []).append(
                (from_text(str(gone)), maybe_time(back))
            )
        return tuple(
            replace(found, away=tuple(away.get(found.path, ())))
            for found in map(row_article, rows)
        )

    def citation_spans(self) -> tuple[CitationSpan, ...]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(SELECT_SPANS).fetchall()
        return tuple(row_span(row) for row in rows)

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
        with self._transaction(write=True) as conn:
            return self._add_checks(conn, run_id, statuses, at)

    def _add_checks(
        self,
        conn: Connection,
        run_id: str,
        statuses: Sequence[LinkStatus],
        at: datetime | None,
    ) -> int:
        """:meth:`record_checks` inside a writing transaction the caller holds.

        So a caller with more to write in the same transaction (a worker
        marking its frontier rows done, :mod:`archiver.store.cluster`) commits
        both or neither.
        """
        checks = [status_check(run_id, status, at) for status in statuses]
        # A batch costs a handful of statements, not a few per check: on a
        # database server each statement is a round trip.
        row = conn.execute(
            "SELECT started FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"{self._name}: no run {run_id}: call begin_run first")
        night = from_text(str(row[0]))
        conn.executemany(
            UPSERT_URL,
            [
                (c.url, to_text(c.checked), int(c.outcome not in _UNFETCHABLE))
                for c in checks
            ],
        )
        # A URL this run already has a check for keeps it (the first one).
        done = {
            str(found[0])
            for found in _where_url_in(
                conn,
                "SELECT url FROM checks WHERE run_id = ? AND ",
                (run_id,),
                {c.url for c in checks},
            )
        }
        new: list[Check] = []
        for check in checks:
            if check.url not in done:
                done.add(check.url)
                new.append(check)
        conn.executemany(INSERT_CHECK, [check_row(c) for c in new])
        streaks: dict[str, Streak | None] = dict.fromkeys(c.url for c in new)
        for found in _where_url_in(conn, SELECT_STREAKS + "WHERE ", (), streaks):
            streaks[str(found[0])] = row_streak(found)
        stale: set[str] = set()
        for check in new:
            previous = streaks[check.url]
            if previous is not None and check.checked < previous.checked:
                stale.add(check.url)
            else:
                streaks[check.url] = advance(previous, check, night)
        folded = [
            streak
            for url, streak in streaks.items()
            if streak is not None and url not in stale
        ]
        conn.executemany(
            "DELETE FROM url_states WHERE url = ?", [(s.url,) for s in folded]
        )
        conn.executemany(INSERT_STREAK, [streak_row(s) for s in folded])
        for url in stale:
            replay(conn, url)
        return len(new)

    def checked_in_run(self, run_id: str) -> set[str]:
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                "SELECT url FROM checks WHERE run_id = ?", (run_id,)
            ).fetchall()
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

    def marks(self, urls: Collection[str]) -> Iterator[tuple[str, list[Mark]]]:
        for rows in self._batches(_SELECT_MARKS, "ORDER BY url, checked", urls):
            # The database's rows as they come, each already a Mark: a year of
            # nights is millions of them, too many to build anything per row.
            for url, marks in groupby(cast("list[Mark]", rows), key=itemgetter(0)):
                yield url, list(marks)

    def _batches(
        self, select: str, tail: str, urls: Collection[str]
    ) -> Iterator[list[Row]]:
        """``select`` (ending ``WHERE``) for ``urls``, one read per batch of them.

        Each batch is its own short transaction and is handed on before the
        next is read, so a report over a whole history never holds all of
        its rows at once.
        """
        ordered = sorted(urls)
        for start in range(0, len(ordered), _IN_LIST):
            chunk = ordered[start : start + _IN_LIST]
            holes = ", ".join("?" for _ in chunk)
            with self._transaction(write=False) as conn:
                rows = conn.execute(
                    f"{select}url IN ({holes}) {tail}", chunk
                ).fetchall()
            yield rows  # the transaction ended: none is held while it is used

    def tallies(self, urls: Collection[str]) -> Iterator[Tally]:
        select = _SELECT_TALLIES.format(runs=self.dialect.joined_runs)
        for rows in self._batches(select, "GROUP BY url ORDER BY url", urls):
            for row in rows:
                yield Tally(
                    url=str(row[0]),
                    checks=int(str(row[1])),
                    alive_records=int(str(row[2])),
                    dead=int(str(row[3])),
                    blocked=int(str(row[4])),
                    first_checked=str(row[5]),
                    last_checked=str(row[6]),
                    last_alive=optional_text(row[7]),
                    first_dead=optional_text(row[8]),
                    runs=str(row[9]),
                    low_text=optional_text(row[10]),
                    high_text=optional_text(row[11]),
                    low_type=optional_text(row[12]),
                    high_type=optional_text(row[13]),
                    low_payload=optional_text(row[14]),
                    high_payload=optional_text(row[15]),
                    payloads=int(str(row[16])),
                )

    def checks_at(
        self, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Check]:
        ordered = sorted(set(keys))
        found: dict[tuple[str, str], Check] = {}
        with self._transaction(write=False) as conn:
            for start in range(0, len(ordered), _IN_LIST):
                chunk = ordered[start : start + _IN_LIST]
                # Joined to a VALUES list, so each key is one primary-key lookup
                # (a row-value IN scans the table in SQLite); both databases
                # name a VALUES list's columns column1, column2.
                pairs = ", ".join("(?, ?)" for _ in chunk)
                rows = conn.execute(
                    f"SELECT {_CHECK_COLUMNS_OF_C} FROM (VALUES {pairs}) AS k "  # noqa: S608
                    "JOIN checks c ON c.run_id = k.column2 AND c.url = k.column1",
                    [part for key in chunk for part in key],
                ).fetchall()
                for row in rows:
                    check = row_check(row)
                    found[check.url, check.run_id] = check
        return found

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

    def state(self, url: str) -> UrlState | None:
        with self._transaction(write=False) as conn:
            streak = _streak(conn, url)
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

    # Web archives' answers, kept for ``archiver fix``

    def memento_answers(self, urls: Iterable[str]) -> tuple[ArchiveAnswer, ...]:
        with self._transaction(write=False) as conn:
            rows = _where_url_in(
                conn,
                f"SELECT {MEMENTO_COLUMNS} FROM memento_answers WHERE ",  # noqa: S608
                (),
                set(urls),
            )
        found = sorted(
            (row_memento(row) for row in rows),
            key=lambda a: (a.url, a.archive, a.wanted is not None, a.wanted),
        )
        return tuple(found)

    def record_memento_answers(self, answers: Iterable[ArchiveAnswer]) -> None:
        rows = [memento_row(answer) for answer in answers]
        if not rows:
            return
        with self._transaction(write=True) as conn:
            conn.executemany(UPSERT_MEMENTO, rows)

    # Whole tables, for ``archiver store copy``

    def dump(self) -> dict[str, list[Row]]:
        """Every row of every table, read in one transaction (one consistent copy)."""
        with self._transaction(write=False) as conn:
            return {t.name: conn.execute(t.select).fetchall() for t in TABLES}

    def sums(self) -> dict[str, TableSum]:
        """Each table's row count and digest, read in one transaction."""
        with self._transaction(write=False) as conn:
            return {
                t.name: table_sum(conn.execute(t.select).fetchall()) for t in TABLES
            }

    def load(self, tables: Mapping[str, Sequence[Row]]) -> dict[str, TableSum]:
        """Fill an empty store with ``tables`` (from :meth:`dump`), in one transaction.

        Refuses a store that holds any row: a copy never merges two histories.
        Before committing, each table is read back and must have the count and
        digest of what was given; otherwise nothing is written. Returns them.
        """
        expected = {t.name: table_sum(tables.get(t.name, ())) for t in TABLES}
        with self._transaction(write=True) as conn:
            counts = {t.name: _count(conn, t.name) for t in TABLES}
            held = {name: n for name, n in counts.items() if n > 0}
            if held:
                what = ", ".join(f"{n} {table}" for table, n in held.items())
                raise StoreError(
                    f"{self._name}: not empty ({what}); copy only into a new store"
                )
            for table in TABLES:
                rows = tables.get(table.name, ())
                if rows:
                    conn.executemany(table.insert, rows)
            found = {
                t.name: table_sum(conn.execute(t.select).fetchall()) for t in TABLES
            }
            wrong = [name for name, s in expected.items() if found[name] != s]
            if wrong:
                raise StoreError(
                    f"{self._name}: copied tables differ from the source "
                    f"({', '.join(wrong)}); nothing was written"
                )
        return found


_IN_LIST: Final = 500  # URLs per IN (...): far below either database's limit
# Read from the index checks_folded alone (migration 6), never the table.
_SELECT_MARKS: Final = (
    "SELECT url, run_id, checked, outcome, CASE WHEN warc_file IS NOT NULL AND "
    "warc_offset IS NOT NULL THEN payload_digest END, CASE WHEN warc_file IS NOT "
    "NULL AND warc_offset IS NOT NULL THEN 1 ELSE 0 END, text_digest, content_type "
    "FROM checks WHERE "
)


# One row per URL, from checks_folded alone; the aggregate joining run ids
# is the dialect's (``{runs}``).
_SELECT_TALLIES: Final = (
    "SELECT url, COUNT(*), "
    "SUM(CASE WHEN outcome = 'alive' AND warc_file IS NOT NULL "
    "AND warc_offset IS NOT NULL THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN outcome = 'dead' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN outcome = 'blocked' THEN 1 ELSE 0 END), "
    "MIN(checked), MAX(checked), "
    "MAX(CASE WHEN outcome = 'alive' THEN checked END), "
    "MIN(CASE WHEN outcome = 'dead' THEN checked END), {runs}, "
    "MIN(CASE WHEN outcome = 'alive' THEN COALESCE(text_digest, '') END), "
    "MAX(CASE WHEN outcome = 'alive' THEN COALESCE(text_digest, '') END), "
    "MIN(CASE WHEN outcome = 'alive' THEN COALESCE(content_type, '') END), "
    "MAX(CASE WHEN outcome = 'alive' THEN COALESCE(content_type, '') END), "
    "MIN(CASE WHEN outcome = 'alive' THEN payload_digest END), "
    "MAX(CASE WHEN outcome = 'alive' THEN payload_digest END), "
    "COUNT(CASE WHEN outcome = 'alive' THEN payload_digest END) "
    "FROM checks WHERE "
)


_CHECK_COLUMNS_OF_C: Final = ", ".join(
    f"c.{name.strip()}" for name in CHECK_COLUMNS.split(",")
)


def _where_url_in(
    conn: Connection, select: str, params: tuple[object, ...], urls: Collection[str]
) -> list[Row]:
    """Rows of ``select`` (ending in ``WHERE ... AND`` or ``WHERE``) for these URLs."""
    ordered = sorted(urls)
    rows: list[Row] = []
    for start in range(0, len(ordered), _IN_LIST):
        chunk = ordered[start : start + _IN_LIST]
        marks = ", ".join("?" for _ in chunk)
        rows += conn.execute(f"{select}url IN ({marks})", (*params, *chunk)).fetchall()
    return rows


def _replace_citations(
    conn: Connection, article: str, rows: Sequence[Row], when: str
) -> None:
    """Make ``rows`` the article's citations from ``when`` on, keeping the past.

    A citation the article still has keeps its row (and the time it was
    first cited); one it no longer has is marked removed at ``when``, never
    deleted, so the nights it was cited still count it; a new one is added.
    """
    wanted = {tuple(row[1:]) for row in rows}
    kept: set[tuple[object, ...]] = set()
    gone: list[Row] = []
    for held in conn.execute(HELD_CITATIONS, (article,)).fetchall():
        key = tuple(held[:-1])
        if key in wanted and key not in kept:
            kept.add(key)
        else:
            gone.append((when, article, held[0], held[1], held[-1]))
    conn.executemany(REMOVE_CITATION, gone)
    conn.executemany(
        INSERT_CITATION,
        [(*row, when) for row in rows if tuple(row[1:]) not in kept],
    )


def _count(conn: Connection, table: str) -> int:
    row = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()  # noqa: S608
    return int(str(row[0])) if row else 0


def _streak(conn: Connection, url: str) -> Streak | None:
    row = conn.execute(SELECT_STREAKS + "WHERE url = ?", (url,)).fetchone()
    return row_streak(row) if row else None


_REPLAY_HEAD = (
    "SELECT c.url, c.run_id, c.checked, c.outcome, c.reason, c.detail, "
    "c.http_status, c.final_url, c.attempts, c.content_type, c.length, "
    "c.truncated, c.payload_digest, c.warc_file, c.warc_offset, c.revisit_uri, "
    "c.revisit_date, "
)
_REPLAY_TAIL = "r.started FROM checks c JOIN runs r ON r.id = c.run_id "
_REPLAY = _REPLAY_HEAD + "c.text_digest, " + _REPLAY_TAIL
_REPLAY_BEFORE_TEXTS = _REPLAY_HEAD + "NULL, " + _REPLAY_TAIL
_ORDER = "ORDER BY c.url, c.checked, r.started"
# url_states as schema versions 2 to 4 had it: without ``content``.
_INSERT_STREAK_V2 = (
    "INSERT INTO url_states (url, checked, night, outcome, conclusive, failures, "
    "failing_since, first_failure_night, last_failure_night, ended_failures, "
    "ended_first_night, ended_last_night, last_alive, digest, drifted) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def replay(conn: Connection, url: str | None = None, *, texts: bool = True) -> None:
    """Rebuild ``url_states`` from the stored checks: every URL's, or ``url``'s.

    Used to fill the table when it is created, and when a check arrives out of
    order (older than the latest one), where folding forward would be wrong.
    ``texts=False`` is for a store still below schema version 5, whose tables
    have no main-text digests yet (:func:`replay_before_texts`).
    """
    select = _REPLAY if texts else _REPLAY_BEFORE_TEXTS
    if url is None:
        conn.execute("DELETE FROM url_states")
        rows = conn.execute(select + _ORDER).fetchall()
    else:
        conn.execute("DELETE FROM url_states WHERE url = ?", (url,))
        rows = conn.execute(select + "WHERE c.url = ? " + _ORDER, (url,)).fetchall()
    streaks: dict[str, Streak] = {}
    for row in rows:
        check = row_check(row[:-1])
        night = from_text(str(row[-1]))
        streaks[check.url] = advance(streaks.get(check.url), check, night)
    if texts:
        found = [streak_row(s) for s in streaks.values()]
        insert = INSERT_STREAK
    else:
        found = [streak_row(s)[:-1] for s in streaks.values()]
        insert = _INSERT_STREAK_V2
    if found:
        conn.executemany(insert, found)


def replay_before_texts(conn: Connection) -> None:
    """:func:`replay` for the migration that made ``url_states`` (version 2)."""
    replay(conn, texts=False)


def one_line(error: BaseException) -> str:
    """A driver's message on one line: libpq's span several, indented."""
    return " ".join(str(error).split()) or type(error).__name__
