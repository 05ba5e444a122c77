"""The history store in a PostgreSQL database, for a history a server should keep.

The same tables, migrations and queries as the SQLite store
(:class:`archiver.store.sql.SQLStore`); what is PostgreSQL's own is here and
in :data:`DIALECT`, and each difference is there to make the two behave alike:

* Every write method is one transaction that first takes a transaction-level
  advisory lock, so writers to one store take turns as they do on SQLite
  (``BEGIN IMMEDIATE``); a fold of checks into ``url_states`` never races
  another. ``lock_timeout`` is SQLite's busy timeout.
* A read is one ``REPEATABLE READ, READ ONLY`` transaction: several queries
  see one snapshot, as in SQLite's WAL mode, and never wait for a writer.
* Text columns compare as bytes (``COLLATE "C"``), as SQLite's do, so the
  database's locale cannot reorder URLs in a report.
* The tables live in the connection's current schema (``public`` unless the
  URL sets ``options=-csearch_path%3D...``), so one database may hold several
  stores; the advisory locks are keyed by that schema.

Driver: psycopg 3's synchronous API, one connection per store, called from
trio worker threads by :class:`archiver.store.writer.StoreWriter`, which
already makes every call take its turn. A pool would hand that one thread a
connection at a time and add nothing, so there is none; the database itself
is never created here (``createdb``), since that takes rights a store should
not need. Every psycopg error leaves as a one-line :class:`StoreError` naming
the store by its URL with the password masked.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final, Self

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from archiver.clock import now as clock_now
from archiver.errors import RunLocked, StoreError
from archiver.models import LinkStatus
from archiver.store import migrations
from archiver.store.history import DEFAULT_RULE, DeadRule
from archiver.store.location import PostgresURL
from archiver.store.sql import Cursor, Dialect, SQLStore, one_line

# Advisory lock keys: a class (ours, "arc" and a number) and the schema's hash.
_WRITE_LOCK: Final = 0x61726301  # held by each writing transaction
_MIGRATE_LOCK: Final = 0x61726302  # held while opening runs the migrations
_NIGHTLY_LOCK: Final = 0x61726303  # held by a nightly run for the whole night
_SCHEMA_KEY: Final = "hashtext(coalesce(current_schema(), ''))"
_LOCK_WRITES: Final = f"SELECT pg_advisory_xact_lock({_WRITE_LOCK}, {_SCHEMA_KEY})"
_LOCK_MIGRATIONS: Final = f"SELECT pg_advisory_lock({_MIGRATE_LOCK}, {_SCHEMA_KEY})"
_UNLOCK_NIGHTLY: Final = f"SELECT pg_advisory_unlock({_NIGHTLY_LOCK}, {_SCHEMA_KEY})"
_UNLOCK_MIGRATIONS: Final = f"SELECT pg_advisory_unlock({_MIGRATE_LOCK}, {_SCHEMA_KEY})"

DIALECT: Final = Dialect(
    name="postgresql",
    begin_read=("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",),
    begin_write=("BEGIN", _LOCK_WRITES),
    list_tables=(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema()"
    ),
    text_collation="C",
    joined_runs="string_agg(run_id, chr(31) ORDER BY checked, run_id)",
)

_HOLDER: Final = (
    "SELECT a.application_name FROM pg_locks l "  # noqa: S608 - our constants
    "JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted "
    f"AND l.classid = {_NIGHTLY_LOCK}::oid "
    f"AND l.objid = {_SCHEMA_KEY}::oid AND l.objsubid = 2 "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

CONNECT_TIMEOUT: Final = 10  # seconds, unless the URL says (a server that is down)


def _placeholders(sql: str) -> str:
    """The shared SQL's ``?`` placeholders as psycopg's ``%s``.

    A ``%`` of the SQL itself is doubled, since parameters are always passed;
    the shared statements have no ``?`` inside a string literal.
    """
    return sql.replace("%", "%%").replace("?", "%s")


class PostgresConnection:
    """A psycopg connection seen through :class:`archiver.store.sql.Connection`."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        self.raw = conn

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        return self.raw.execute(_placeholders(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(_placeholders(sql), [tuple(row) for row in rows])


def connect(
    location: PostgresURL, *, purpose: str = "store", timeout: float = 30.0
) -> psycopg.Connection[tuple[Any, ...]]:
    """An autocommit connection to ``location``; any failure is one StoreError line.

    The session is named after this process (``application_name``), so
    ``pg_stat_activity`` and a refused nightly run can say who holds a store.
    ``timeout`` is how long a statement waits for a lock (SQLite's busy timeout).
    """
    name = str(location)
    try:
        params = conninfo_to_dict(location.url)
    except psycopg.Error as exc:
        detail = location.scrub(one_line(exc))
        raise StoreError(f"{name}: not a PostgreSQL URL: {detail}") from exc
    extra: dict[str, Any] = {}
    if "connect_timeout" not in params:
        extra["connect_timeout"] = CONNECT_TIMEOUT
    if "application_name" not in params:
        extra["application_name"] = (
            f"archiver {purpose}, pid {os.getpid()} on {socket.gethostname()}"
        )[:63]
    try:
        conn = psycopg.connect(location.url, autocommit=True, **extra)
    except psycopg.Error as exc:
        detail = location.scrub(one_line(exc))
        raise StoreError(f"{name}: cannot open the store: {detail}") from exc
    try:
        conn.execute(f"SET lock_timeout = {int(timeout * 1000)}")
    except psycopg.Error as exc:
        conn.close()
        raise StoreError(f"{name}: cannot open the store: {one_line(exc)}") from exc
    return conn


class PostgresStore(SQLStore):
    """The store in a PostgreSQL database; open it with :meth:`open`."""

    dialect = DIALECT

    def __init__(
        self, conn: psycopg.Connection[tuple[Any, ...]], name: str, rule: DeadRule
    ) -> None:
        super().__init__(name, rule)
        self._conn = PostgresConnection(conn)
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        location: PostgresURL,
        *,
        rule: DeadRule = DEFAULT_RULE,
        timeout: float = 30.0,
        now: datetime | None = None,
    ) -> Self:
        """Open the store in ``location``'s database, creating or upgrading its tables.

        The database must exist. Raises :class:`StoreError` for a URL that
        is not one, a server that cannot be reached, a database that is
        missing or holds other tables, or a store from a newer archiver.
        """
        name = str(location)
        conn = connect(location, timeout=timeout)
        try:
            # The session lock keeps a second process from creating the same
            # tables at once (CREATE TABLE IF NOT EXISTS can still collide).
            conn.execute(_LOCK_MIGRATIONS)
            try:
                migrations.migrate(
                    PostgresConnection(conn), DIALECT, name, now or clock_now()
                )
            finally:
                conn.execute(
                    f"SELECT pg_advisory_unlock({_MIGRATE_LOCK}, {_SCHEMA_KEY})"
                )
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"{name}: cannot open the store: {one_line(exc)}") from exc
        except BaseException:
            conn.close()
            raise
        return cls(conn, name, rule)

    @classmethod
    def open_read_only(
        cls, location: PostgresURL, *, rule: DeadRule = DEFAULT_RULE
    ) -> Self:
        """Open the store for reading only: the session cannot write.

        As for SQLite, a store of an older schema is refused (one line naming
        ``archiver store migrate``) rather than upgraded behind the reader's back.
        """
        name = str(location)
        conn = connect(location, purpose="reader")
        try:
            conn.execute("SET default_transaction_read_only = on")
            found = migrations.refuse_unknown(PostgresConnection(conn), DIALECT, name)
        except psycopg.Error as exc:
            conn.close()
            raise StoreError(f"{name}: cannot open the store: {one_line(exc)}") from exc
        except BaseException:
            conn.close()
            raise
        if found == 0:
            conn.close()
            raise StoreError(
                f"{name}: no history store here yet (archiver nightly makes it)"
            )
        if found < migrations.SCHEMA_VERSION:
            conn.close()
            raise StoreError(
                f"{name}: store schema version {found} is older than this "
                f"archiver's ({migrations.SCHEMA_VERSION}); upgrade it with "
                f"`archiver store migrate --store {name}`"
            )
        return cls(conn, name, rule)

    @staticmethod
    def schema_version(location: PostgresURL) -> int:
        """The schema version of the store at ``location``, read without changing it."""
        conn = connect(location, purpose="reader")
        try:
            return migrations.refuse_unknown(
                PostgresConnection(conn), DIALECT, str(location)
            )
        except psycopg.Error as exc:
            raise StoreError(f"{location}: {one_line(exc)}") from exc
        finally:
            conn.close()

    def close(self) -> None:
        with self._lock:
            self._conn.raw.close()

    @contextmanager
    def writing(self) -> Iterator[PostgresConnection]:
        """A writing transaction, for :mod:`archiver.store.cluster`'s own tables."""
        with self._transaction(write=True) as conn:
            yield conn

    @contextmanager
    def reading(self) -> Iterator[PostgresConnection]:
        """A reading transaction (one snapshot), for :mod:`archiver.store.cluster`."""
        with self._transaction(write=False) as conn:
            yield conn

    def add_checks(
        self, conn: PostgresConnection, run_id: str, statuses: Sequence[LinkStatus]
    ) -> int:
        """:meth:`record_checks` inside a transaction of :meth:`writing`."""
        return self._add_checks(conn, run_id, statuses, None)

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[PostgresConnection]:
        """One transaction under the lock; psycopg errors become StoreError."""
        with self._lock:
            conn = self._conn
            try:
                for begin in DIALECT.begin_write if write else DIALECT.begin_read:
                    conn.execute(begin)
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction and not conn.raw.broken:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except psycopg.Error as exc:
                if conn.in_transaction and not conn.raw.broken:
                    conn.execute("ROLLBACK")
                raise StoreError(f"{self._name}: {one_line(exc)}") from exc


@contextmanager
def nightly_lock(location: PostgresURL, who: str) -> Iterator[None]:
    """Hold the store's nightly lock: one nightly run per store, on any machine.

    A session advisory lock on a connection of its own, held until the block
    ends; the server drops it when this process dies, even by ``kill -9``,
    so a crash never leaves a stale lock. :class:`RunLocked` names the holder.
    """
    conn = connect(location, purpose="nightly")
    try:
        try:
            row = conn.execute(
                f"SELECT pg_try_advisory_lock({_NIGHTLY_LOCK}, {_SCHEMA_KEY})"
            ).fetchone()
            held = bool(row and row[0])
            holder = "?" if held else _holder(conn)
        except psycopg.Error as exc:
            raise StoreError(f"{location}: {one_line(exc)}") from exc
        if not held:
            raise RunLocked(
                f"{who} ({holder}) is writing here; "
                "this one exits without doing anything"
            )
        try:
            yield
        finally:
            # Closing the session would release it too, but only once the
            # server has noticed; unlocking first frees it before we return.
            with contextlib.suppress(psycopg.Error):
                conn.execute(_UNLOCK_NIGHTLY)
    finally:
        conn.close()


def _holder(conn: psycopg.Connection[tuple[Any, ...]]) -> str:
    """Who holds the nightly lock, as its session named itself."""
    row = conn.execute(_HOLDER).fetchone()
    text = str(row[0]) if row and row[0] else ""
    return text.split(", ", 1)[-1] if text.startswith("archiver ") else text or "?"
