"""The one clock every time a run records comes from.

A night's start, each check's time, every ``WARC-Date``, the store's times,
the manifest's and the report's all read :func:`now`, so a program that
installs another clock (the tests play thirty nights in a minute) moves them
together, and a capture can never carry a date from another clock than its
check. There is deliberately no option or setting that backdates a run: when
something was seen is evidence, and it is the machine's time.

Two readings stay on the machine's own clock: a server's ``Retry-After``
date and the browser's interception certificate, which are compared with
clocks outside this process.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


def system() -> datetime:
    """The machine's time, in UTC."""
    return datetime.now(UTC)


_current: Clock = system


def now() -> datetime:
    """The time by the installed clock (the machine's unless one was installed)."""
    return _current()


def starting_at(start: datetime) -> Clock:
    """A clock that reads ``start`` the first time, then runs as the real one.

    Durations inside a run stay real (a check is later than its night's
    start, a retry later than its first attempt), only the origin moves.
    The origin is the first reading, not the clock's making, so however long
    the program takes to load, the first time it records (a night's start,
    and so its run id) is exactly ``start``.
    """
    if start.tzinfo is None:
        raise ValueError(f"naive time {start.isoformat()}: give a timezone")
    at = start.astimezone(UTC)
    origin: list[float] = []

    def read() -> datetime:
        if not origin:
            origin.append(time.monotonic())
        return at + timedelta(seconds=time.monotonic() - origin[0])

    return read


@contextlib.contextmanager
def installed(clock: Clock) -> Iterator[None]:
    """Make ``clock`` the process's clock until the block ends."""
    global _current
    before, _current = _current, clock
    try:
        yield
    finally:
        _current = before
