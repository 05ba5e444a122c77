"""The payloads already archived, by digest: what a revisit record points at.

A run remembers the first capture of every payload it writes, and those of
earlier runs it is told about, so the same bytes are written once. Held in
a dict, that was some 400 bytes per response (digest, URI, date, record ID):
40 MB over a hundred thousand URLs, for a lookup that finds something for
few of them. They live in a private temporary SQLite database instead
(SQLite's own: on disk, removed when closed, a page cache of 2 MB), so the
memory stays the same however many responses a run writes.
"""

from __future__ import annotations

import sqlite3
import weakref

from archiver.errors import ArchiveWriteError
from archiver.models import Capture


class Captures:
    """First captures by payload digest, on disk.

    Used from the one thread that writes records (and before it starts, from
    the run's own): never from two threads at once.
    """

    def __init__(self) -> None:
        try:
            # "": a private temporary database on disk, deleted when closed.
            self._db = sqlite3.connect(
                "", check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode = OFF")
            self._db.execute("PRAGMA synchronous = OFF")
            self._db.execute(
                "CREATE TABLE capture (digest TEXT PRIMARY KEY, uri TEXT NOT NULL,"
                " date TEXT NOT NULL, record_id TEXT) WITHOUT ROWID"
            )
        except sqlite3.Error as exc:
            raise ArchiveWriteError(f"cannot keep payload digests: {exc}") from exc
        self._closing = weakref.finalize(self, self._db.close)

    def get(self, digest: str) -> Capture | None:
        row = self._db.execute(
            "SELECT uri, date, record_id FROM capture WHERE digest = ?", (digest,)
        ).fetchone()
        return (
            None if row is None else Capture(uri=row[0], date=row[1], record_id=row[2])
        )

    def put(self, digest: str, capture: Capture, *, replace: bool = True) -> None:
        """Say ``capture`` holds ``digest``; with ``replace=False`` the first stays."""
        verb = "REPLACE" if replace else "IGNORE"
        try:
            self._db.execute(
                f"INSERT OR {verb} INTO capture VALUES (?, ?, ?, ?)",  # noqa: S608
                (digest, capture.uri, capture.date, capture.record_id),
            )
        except sqlite3.Error as exc:  # the temporary disk is full, or gone
            raise ArchiveWriteError(f"cannot keep payload digests: {exc}") from exc

    def close(self) -> None:
        self._closing()
