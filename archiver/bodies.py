"""Where a response body lives while a run holds it: in memory, or a spool file.

Most bodies are a few kilobytes: kept in memory, they cost no file, no worker
thread to write it and none to read it back (a fifth of a crawl's time was
spent spooling them). A body longer than :data:`MEMORY_LIMIT` streams to a
spool file instead, so a large download never sits in memory whole. Every
stage reads a body and lets go of one through these two functions, so none
of them cares which it is.
"""

from __future__ import annotations

import io
from typing import BinaryIO, Final

from archiver.models import Body

MEMORY_LIMIT: Final = 128 * 1024  # bytes of a body kept in memory at most


def open_body(body: Body) -> BinaryIO:
    """The body's bytes as stored (still content-encoded), from the start."""
    if body.path is None:
        return io.BytesIO(body.data)
    return body.path.open("rb")


def discard(body: Body) -> None:
    """Let go of the body: its spool file, if it has one, is removed."""
    if body.path is not None:
        body.path.unlink(missing_ok=True)
