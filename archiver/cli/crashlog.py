"""A bug ends as one line and a crash log, not as a traceback on the terminal.

A user who meets a bug needs to know that it is one, that their files are
safe (every file is written as a crash would leave it, and the next run
repairs and resumes), and where the details are for a report. The traceback
goes into a file under the XDG state folder, where it survives the terminal
and can be attached to an issue; a maintainer reads it there.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

from archiver.version import __version__


def state_folder() -> Path:
    """``$XDG_STATE_HOME/archiver``, by the XDG rule ``~/.local/state`` when unset."""
    base = os.environ.get("XDG_STATE_HOME", "")
    # The XDG rule: a relative value is invalid and is ignored.
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state"
    return root / "archiver"


# ``scheme://user:password@host``: a store URL may carry a password.
_PASSWORD = re.compile(r"(://[^/:@\s]*:)[^/@\s]*@")


def write_crash_log(exc: BaseException, argv: list[str]) -> Path | None:
    """Write ``exc``'s traceback, the command and versions; the log's path.

    Tried in the state folder, then in the system's temporary folder; None
    when neither can be written (a full disk), so the caller still ends on
    one line.
    """
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.log"
    command = _PASSWORD.sub(r"\1***@", " ".join(argv))
    text = "".join(
        [
            f"archiver {__version__} on Python {sys.version.split()[0]}\n",
            f"command: {command}\n\n",
            *traceback.format_exception(exc),
        ]
    )
    for folder in (state_folder(), Path(tempfile.gettempdir())):
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8", errors="backslashreplace") as out:
                out.write(text)
        except OSError:
            continue
        return path
    return None
