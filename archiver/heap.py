"""Give the C heap's free pages back to the system, where the C library can.

A long run's peak memory was not all in use: at the end of a 100,000-URL
crawl glibc's main arena held 78 MB, of which 37 MB freed but kept. Each
response allocates and frees short-lived buffers (TLS records, bodies,
parser trees) between long-lived objects (the plan, the requisites book),
so the freed space sits in holes glibc never returns on its own: it only
shrinks the heap from its top. ``malloc_trim`` also hands back the whole
pages inside those holes (``madvise``), which is what :func:`release`
asks for. The run calls it where a phase has just dropped its garbage
(after planning, after the crawl, after the manifest) and every few
seconds while it crawls.

Only glibc has ``malloc_trim``: elsewhere (musl, macOS, Windows)
:func:`release` does nothing and says so, and the run is the same, only
its peak memory higher.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

# How often a crawl gives its free pages back. One trim of a heap of some
# 80 MB takes a millisecond or two of CPU: a few per second would be noise.
RELEASE_EVERY = 2.0  # seconds


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where there is none."""
    try:
        # The symbols the interpreter is linked with (the C library among
        # them), looked up without a search that would start subprocesses.
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, TypeError, AttributeError):  # not glibc, or not POSIX
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    found: Callable[[int], int] = trim
    return found


def release() -> bool:
    """Return the heap's free pages to the system; whether anything was returned.

    False also where the C library cannot (no ``malloc_trim``).
    """
    trim = _malloc_trim()
    return trim is not None and trim(0) == 1


def available() -> bool:
    """Whether :func:`release` can do anything on this system."""
    return _malloc_trim() is not None
