"""Replace a file whole or not at all: what every index, manifest and report needs.

A reader (pywb, a spreadsheet, a browser, the next run) must never see half
a file, whatever stops the writer: a full disk, Ctrl-C, kill -9, a power
cut. So the new content goes to a temporary file beside the target, is
synced, and is renamed over the target (atomic on POSIX); on any failure,
interruption included, the temporary file is removed and the target is left
as it was.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


@contextlib.contextmanager
def replacing(target: Path, *, newline: str = "\n") -> Iterator[TextIO]:
    """A UTF-8 text stream whose content replaces ``target`` when the block ends.

    Raises the ``OSError`` of a failed write, sync or rename, for the caller
    to name in its own terms.
    """
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline=newline) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def replace_text(target: Path, text: str, *, newline: str = "\n") -> None:
    """Replace ``target`` with ``text``, whole or not at all."""
    with replacing(target, newline=newline) as stream:
        stream.write(text)
