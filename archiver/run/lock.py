"""One run at a time per output folder and per store, so cron never stacks two.

The lock is an advisory ``flock`` on a file in the folder: the kernel drops it
when the process dies, even by ``kill -9``, so a crash never leaves a stale
lock behind. The file holds the owner's pid for the error message. A store
in PostgreSQL is locked in the database instead, with the same guarantees
(:func:`archiver.store.postgres.nightly_lock`).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archiver.errors import ArchiveWriteError, RunLocked
from archiver.store.location import PostgresURL, StoreLocation

LOCK_NAME = ".archiver.run.lock"
STORE_LOCK_SUFFIX = ".lock"


@contextmanager
def run_lock(folder: Path) -> Iterator[Path]:
    """Hold the folder's lock for the block; :class:`RunLocked` if another has it."""
    with _held(folder / LOCK_NAME, f"{folder}: another archiver run") as path:
        yield path


@contextmanager
def store_lock(store: StoreLocation) -> Iterator[None]:
    """Hold a history store's lock: one nightly run per store, whatever its root.

    Two roots may share one ``--store``; without this a second night would
    take the first, still running, for a crashed one and recover it. A
    SQLite store's lock is a file beside it; a PostgreSQL store's is an
    advisory lock in its database, so it holds across machines too.
    """
    who = f"{store}: another archiver nightly run"
    if isinstance(store, PostgresURL):
        from archiver.store.postgres import nightly_lock

        with nightly_lock(store, who):
            yield
        return
    with _held(store.with_name(store.name + STORE_LOCK_SUFFIX), who):
        yield


@contextmanager
def _held(path: Path, who: str) -> Iterator[Path]:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot create the run lock: {exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise RunLocked(
                f"{who} (pid {owner}) is writing here; "
                "this one exits without doing anything"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
