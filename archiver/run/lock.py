"""One run at a time per output folder, so cron never stacks two nights.

The lock is an advisory ``flock`` on a file in the folder: the kernel drops it
when the process dies, even by ``kill -9``, so a crash never leaves a stale
lock behind. The file holds the owner's pid for the error message.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from archiver.errors import ArchiveWriteError, RunLocked

LOCK_NAME = ".archiver.run.lock"


@contextmanager
def run_lock(folder: Path) -> Iterator[Path]:
    """Hold the folder's lock for the block; :class:`RunLocked` if another has it."""
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot create the run lock: {exc}") from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise RunLocked(
                f"{folder}: another archiver run (pid {owner}) is writing here; "
                "this one exits without doing anything"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock
