"""The history store: what every run checked, so a nightly run can plan and report.

:class:`Store` is the whole interface the rest of the program may use, and it
has two implementations: :class:`~archiver.store.sqlite.SQLiteStore`, one
file beside the WARCs (the default, nothing to install or run), and
:class:`~archiver.store.postgres.PostgresStore`, a database on a server, for a
history that outgrows a file or is shared by machines. :func:`open_store`
picks one by the location (:mod:`archiver.store.location`: a
``postgresql://`` URL or a path). Both share their queries
(:mod:`archiver.store.sql`), their tables and migrations, and the same
contract tests hold them to the same behaviour, so the rest of the program
never asks which it has. The value types they return, and the rules for
"suspect", "dead", "revived" and "drift", live in
:mod:`archiver.store.history`; they are re-exported here.

A trio program must not call a store directly from a task (every call does
disk I/O under a lock); it goes through :class:`archiver.store.writer.StoreWriter`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Final, Protocol

from archiver.errors import StoreError
from archiver.models import (
    ArchiveAnswer,
    Article,
    Citation,
    LinkStatus,
    Target,
    Unfetched,
)
from archiver.store.history import (
    DEFAULT_RULE,
    ArchivedCopy,
    ArticleChange,
    Check,
    CitationSpan,
    DeadRule,
    Mark,
    Run,
    RunStatus,
    StoredArticle,
    Tally,
    UrlState,
    Verdict,
)
from archiver.store.location import PostgresURL, StoreLocation, store_location
from archiver.store.migrations import SCHEMA_VERSION
from archiver.store.sql import SQLStore, TableSum, table_sum
from archiver.store.sqlite import SQLiteStore

__all__ = [
    "ArchivedCopy",
    "ArticleChange",
    "Check",
    "CitationSpan",
    "CopyResult",
    "DeadRule",
    "Mark",
    "PostgresURL",
    "Run",
    "RunStatus",
    "SQLiteStore",
    "Store",
    "StoreLocation",
    "StoredArticle",
    "Tally",
    "UrlState",
    "Verdict",
    "copy_store",
    "migrate_store",
    "open_store",
    "store_location",
]

STORE_NAME: Final = "archiver.sqlite3"  # in the root folder of nightly runs


class Store(Protocol):
    """Everything the program asks of the history store, whatever database holds it.

    A protocol, not a base class, because the program must not depend on how
    a store is kept: :class:`~archiver.store.sqlite.SQLiteStore` and
    :class:`~archiver.store.postgres.PostgresStore` both implement it (their
    shared queries are in :mod:`archiver.store.sql`), and
    tests/unit/test_store.py holds both to every line of it.

    All times are timezone-aware; they come back in UTC. Each method that
    writes is one transaction: after a crash, a call either happened entirely
    or not at all.
    """

    rule: DeadRule  # what "confirmed dead" means for state, states and due_urls

    def close(self) -> None: ...
    def __enter__(self) -> Store: ...
    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    def begin_run(
        self, run_id: str, started: datetime, options: Mapping[str, object]
    ) -> Run:
        """Record a run as running; a run id already recorded is a StoreError."""
        ...

    def finish_run(
        self,
        run_id: str,
        finished: datetime,
        counts: Mapping[str, int],
        conclusive: bool,
        status: RunStatus = RunStatus.COMPLETED,
    ) -> Run:
        """Close a run; pass ``status=CRASHED`` to give up on an unfinished one."""
        ...

    def run(self, run_id: str) -> Run | None: ...

    def unfinished_runs(self) -> tuple[Run, ...]:
        """Runs still marked running, oldest first; under the run lock, crashed ones."""
        ...

    def runs(self) -> tuple[Run, ...]:
        """Every run recorded, oldest first (ties by id), whatever its status."""
        ...

    def record_articles(
        self, articles: Iterable[Article], seen: datetime
    ) -> tuple[ArticleChange, ...]:
        """Remember the articles; return those whose links must be gathered.

        An article is returned when it is new, or when its content (sha256)
        differs from the content :meth:`mark_archived` last confirmed. So an
        article whose copy a crashed run never wrote is returned again by the
        next run, not forgotten.
        """
        ...

    def mark_archived(self, articles: Iterable[str]) -> None:
        """Say that these articles' current content and links are archived.

        Call it only once the article's own record is synced to disk, after
        :meth:`record_citations`: until then the next run sees the article as
        changed and archives it (and gathers its links) again.
        """
        ...

    def record_citations(
        self,
        links: Iterable[Target | Unfetched],
        seen: datetime,
        *,
        articles: Iterable[str] = (),
    ) -> None:
        """Make these the citations of every article named in ``links`` or ``articles``.

        Pass every link of each article you gathered; name in ``articles`` an
        article that now cites nothing, to clear it. Articles must have been
        recorded first. Unfetched URLs are kept but never come due. A citation
        the article no longer has is not deleted but marked removed at
        ``seen`` (:meth:`citation_spans`), so past nights keep counting it.
        """
        ...

    def withdraw(self, articles: Iterable[str], at: datetime) -> None:
        """Record these articles as withdrawn: their files are gone from the inputs.

        Their citations stop counting (:meth:`citations`, :meth:`all_citations`)
        but are kept, with the article's row, so an article whose file returns
        (:meth:`record_articles` clears the mark) is cited again as it was.
        An article already withdrawn keeps its first withdrawal time.
        """
        ...

    def citations(self, urls: Iterable[str]) -> dict[str, tuple[Citation, ...]]:
        """Each URL's citations by articles not withdrawn (empty if none cites it)."""
        ...

    def articles(self) -> tuple[StoredArticle, ...]:
        """Every article ever recorded, withdrawn ones too, by path."""
        ...

    def citation_spans(self) -> tuple[CitationSpan, ...]:
        """Every citation ever recorded, removed ones too, by URL, article, time.

        What a report's trend counts night by night: a link is in a night's
        figures while some article cited it then, whatever it cites today.
        """
        ...

    def all_citations(self) -> dict[str, tuple[Citation, ...]]:
        """Every URL some article cites now (withdrawn ones do not), by URL.

        One read for a whole report, where :meth:`citations` asks URL by URL.
        """
        ...

    def record_checks(
        self, run_id: str, statuses: Sequence[LinkStatus], at: datetime | None = None
    ) -> int:
        """Store a batch of manifest lines as checks of ``run_id``, in one transaction.

        ``at`` is the time for statuses with no ``checked`` time. A URL the run
        already has a check for is left as first recorded. Returns how many
        checks were added.
        """
        ...

    def checked_in_run(self, run_id: str) -> set[str]:
        """URLs the run has a committed check for: what a resumed run skips."""
        ...

    def history(self, url: str) -> tuple[Check, ...]:
        """Every check of the URL, oldest first."""
        ...

    def all_checks(self) -> tuple[Check, ...]:
        """Every check of every URL, by URL and then time.

        What a report folds, night by night, into a trend; the whole history
        is read at once, so a very large store needs the memory for it.
        """
        ...

    def marks(self, urls: Collection[str]) -> Iterator[tuple[str, list[Mark]]]:
        """Each of these URLs' checks, lean, ordered by time: (url, marks), by URL.

        A URL never checked is left out. What a report folds: read in batches
        of URLs, so memory holds one batch of checks, never the whole history.
        """
        ...

    def tallies(self, urls: Collection[str]) -> Iterator[Tally]:
        """Each of these URLs' checks summed up, one :class:`Tally` each, by URL.

        A URL never checked is left out. The database does the sums, so a
        report's time does not go on the checks of links that never changed.
        """
        ...

    def checks_at(
        self, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Check]:
        """The checks with these (url, run id) keys, whole; keys not found left out."""
        ...

    def last_good(self, url: str) -> ArchivedCopy | None:
        """The latest alive check that wrote a record: the newest good copy.

        The record may be a revisit; its ``revisit_of`` names the capture that
        holds the body, and :meth:`first_capture` finds where that is.
        """
        ...

    def first_capture(self, url: str, digest: str) -> ArchivedCopy | None:
        """The earliest full response (not a revisit) of the URL with this digest.

        It is where the body is, so a revisit record for unchanged content can
        refer to it.
        """
        ...

    def last_digest(self, url: str) -> str | None:
        """Payload digest of the latest alive check that had one (drift/revisit)."""
        ...

    def state(self, url: str) -> UrlState | None:
        """The URL's verdict under :attr:`rule`; None if never checked."""
        ...

    def states(
        self, verdicts: Collection[Verdict] | None = None
    ) -> tuple[UrlState, ...]:
        """Every checked URL's state (or those with these verdicts), by URL."""
        ...

    def dead_since(self, url: str) -> datetime | None:
        """When the current failing streak began (suspect or dead), else None."""
        ...

    def memento_answers(self, urls: Iterable[str]) -> tuple[ArchiveAnswer, ...]:
        """What web archives answered about these URLs, kept; by URL and archive.

        Every kept answer is returned, however old: whether one is still
        fresh is the caller's to decide (``archiver fix``).
        """
        ...

    def record_memento_answers(self, answers: Iterable[ArchiveAnswer]) -> None:
        """Keep these answers, each replacing the one on its archive, URL, moment."""
        ...

    def due_urls(
        self,
        now: datetime,
        alive_every: timedelta,
        suspect_every: timedelta,
        limit: int,
    ) -> tuple[str, ...]:
        """Known URLs whose next check is due at ``now``, at most ``limit``.

        Suspect URLs come due ``suspect_every`` after the run that last checked
        them, everything else (alive, dead, unknown) ``alive_every`` after,
        both less :data:`archiver.store.history.SLACK`. Order: suspect first, then
        URLs never checked (a run that recorded their citations died before
        fetching them), then the rest; most overdue first within each group.
        """
        ...


def open_store(
    location: StoreLocation | str,
    *,
    rule: DeadRule = DEFAULT_RULE,
    read_only: bool = False,
) -> Store:
    """Open, creating or upgrading, the store at ``location``.

    A ``postgresql://`` URL opens :class:`PostgresStore` (the database must
    exist; its tables are made if missing); anything else is the path of a
    SQLite file, made if missing. With ``read_only`` nothing in the store
    changes: it must exist and be of the current schema.

    Raises :class:`~archiver.errors.StoreError` (one line, naming the store
    with any password masked) when it is not a store, was written by a newer
    archiver, or cannot be opened (a bad URL, a server down, a database missing).
    """
    return _open(store_location(location), rule=rule, read_only=read_only)


def _open(location: StoreLocation, *, rule: DeadRule, read_only: bool) -> SQLStore:
    if isinstance(location, PostgresURL):
        # Imported here: a SQLite user's command line never loads the driver.
        from archiver.store.postgres import PostgresStore

        if read_only:
            return PostgresStore.open_read_only(location, rule=rule)
        return PostgresStore.open(location, rule=rule)
    if read_only:
        return SQLiteStore.open_read_only(location, rule=rule)
    return SQLiteStore.open(location, rule=rule)


def migrate_store(location: StoreLocation | str) -> tuple[int, int]:
    """Upgrade the store at ``location`` to this archiver's schema, in place.

    Returns (version before, version now). Refuses, like :func:`open_store`,
    a store that is something else or is newer than this archiver. A SQLite
    file must exist; a PostgreSQL database gets its tables if it has none.
    """
    where = store_location(location)
    if isinstance(where, PostgresURL):
        from archiver.store.postgres import PostgresStore

        before = PostgresStore.schema_version(where)
        PostgresStore.open(where).close()
        return before, SCHEMA_VERSION
    if not where.is_file():
        raise StoreError(f"{where}: no such store")
    before = SQLiteStore.schema_version(where)
    SQLiteStore.open(where).close()
    return before, SCHEMA_VERSION


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What ``archiver store copy`` moved: each table's rows and digest, as verified."""

    tables: Mapping[str, TableSum]


def copy_store(source: StoreLocation | str, target: StoreLocation | str) -> CopyResult:
    """Copy every row of the store at ``source`` into the empty store at ``target``.

    How a SQLite history moves to PostgreSQL (either way works). The source
    is only read, and must be of the current schema (``archiver store
    migrate`` first); the target is created or upgraded, must hold no row,
    and is written in one transaction that commits only once every table
    read back has the source's row count and digest
    (:func:`archiver.store.sql.table_sum`). So a copy that fails, however
    it fails, leaves the target empty. The whole history passes through
    memory once.
    """
    origin, destination = store_location(source), store_location(target)
    if str(origin) == str(destination):
        raise StoreError(f"{origin}: cannot copy a store onto itself")
    with _open(origin, rule=DEFAULT_RULE, read_only=True) as reader:
        tables = reader.dump()  # one snapshot, even while a night writes
    expected = {name: table_sum(rows) for name, rows in tables.items()}
    with _open(destination, rule=DEFAULT_RULE, read_only=False) as writer:
        writer.load(tables)
        committed = writer.sums()  # read again, after the commit
    if committed != expected:  # pragma: no cover - load verified before committing
        raise StoreError(f"{destination}: the copy differs from {origin}")
    return CopyResult(tables=committed)
