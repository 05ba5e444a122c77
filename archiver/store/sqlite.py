"""The history store in one SQLite file: the default :class:`archiver.store.base.Store`.

WAL mode lets reports read while a run writes; foreign keys are on; a busy
timeout makes a second writer wait instead of failing. Every write method is
one transaction (the queries are :class:`archiver.store.sql.SQLStore`'s,
shared with PostgreSQL). One lock serialises calls, so the connection may be
handed between threads (trio's worker threads are not always the same
thread), but it is never used by two at once. Every sqlite3 error leaves as a
:class:`StoreError` naming the file.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Final, Self

from archiver.clock import now as clock_now
from archiver.errors import StoreError
from archiver.store import migrations
from archiver.store.history import DEFAULT_RULE, DeadRule
from archiver.store.sql import Cursor, Dialect, SQLStore

DIALECT: Final = Dialect(
    name="sqlite",
    begin_read=("BEGIN",),
    # IMMEDIATE takes the write lock up front: a deferred transaction that
    # later tries to write can fail with "database is locked" without waiting
    # out the busy timeout, and two processes upgrading one file would both
    # apply the same step.
    begin_write=("BEGIN IMMEDIATE",),
    list_tables="SELECT name FROM sqlite_master WHERE type = 'table'",
)


class SQLiteConnection:
    """A sqlite3 connection seen through :class:`archiver.store.sql.Connection`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.raw = conn

    @property
    def in_transaction(self) -> bool:
        return self.raw.in_transaction

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        cursor: Cursor = self.raw.execute(sql, tuple(params))
        return cursor

    def executemany(self, sql: str, rows: Sequence[Sequence[object]]) -> None:
        self.raw.executemany(sql, [tuple(row) for row in rows])


class SQLiteStore(SQLStore):
    """The store in one SQLite file; open it with :meth:`open`."""

    dialect = DIALECT

    def __init__(self, conn: sqlite3.Connection, name: str, rule: DeadRule) -> None:
        super().__init__(name, rule)
        self._conn = SQLiteConnection(conn)
        self._lock = threading.Lock()

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
            migrations.refuse_unknown(SQLiteConnection(conn), DIALECT, name)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a committed check survives a power cut, not just kill -9;
            # batching keeps the cost to one fsync per batch.
            conn.execute("PRAGMA synchronous = FULL")
            migrations.migrate(
                SQLiteConnection(conn), DIALECT, name, now or clock_now()
            )
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
                return conn, migrations.refuse_unknown(
                    SQLiteConnection(conn), DIALECT, name
                )
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
            self._conn.raw.close()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[SQLiteConnection]:
        """One transaction under the lock; sqlite3 errors become StoreError."""
        with self._lock:
            conn = self._conn
            try:
                for begin in DIALECT.begin_write if write else DIALECT.begin_read:
                    conn.execute(begin)
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"{self._name}: {exc}") from exc
