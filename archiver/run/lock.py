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
    """Hold the lock file at ``path`` for the block, making its folder if need be.

    A run refused or failed before it wrote anything (another run holds the
    store, the store cannot be reached) leaves nothing it made behind: the
    lock file and the folders made for it go again, an empty folder at a
    time. Unlinking a lock file is safe because a lock is only taken on the
    file still at ``path``: whoever opened the old one before it went
    opens the path again.
    """
    made = _missing_folders(path.parent)
    existed = path.exists()
    try:
        fd = _locked(path, who)
    except BaseException:
        _remove_made(None, made)
        raise
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    except BaseException:
        _remove_made(None if existed else path, made)
        raise
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _locked(path: Path, who: str) -> int:
    """A descriptor of the file at ``path``, holding its ``flock``."""
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ArchiveWriteError(
                f"{path}: cannot create the run lock: {exc}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise RunLocked(
                f"{who} (pid {owner}) is writing here; "
                "this one exits without doing anything"
            ) from None
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            return fd
        os.close(fd)  # a refused run removed the file we opened: open anew


def _missing_folders(folder: Path) -> list[Path]:
    """``folder`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _remove_made(lock: Path | None, folders: list[Path]) -> None:
    """Remove the lock file and the folders this run made, while they are empty."""
    try:
        if lock is not None:
            lock.unlink(missing_ok=True)
        for folder in folders:
            folder.rmdir()
    except OSError:
        pass  # no longer empty (or not ours to remove): it stays
