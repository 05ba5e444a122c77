"""The ``archiver`` script's first code: a signal while it loads ends quietly.

Loading the program (click, trio, httpx, warcio, lxml) takes a noticeable
moment, and Python's default Ctrl-C handler would end it with a
``KeyboardInterrupt`` traceback from deep inside an import. Until
:func:`archiver.cli.main.main` installs its own handling, SIGINT and SIGTERM
end the process with one line and their exit codes; nothing has been
written yet, so there is nothing to put right. This module imports only the
standard library, so the window before it is as short as Python allows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType

# ExitCode's values, without importing the program this module protects.
_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
_SAID = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}


def _while_loading(signum: int, frame: FrameType | None) -> None:
    os.write(2, f"archiver: {_SAID[signal.Signals(signum)]}\n".encode())
    # os._exit: a SystemExit raised inside an import could be caught by the
    # module being imported; nothing is open that needs closing.
    os._exit(_CODES[signal.Signals(signum)])


@contextlib.contextmanager
def quiet_while_loading() -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM end the process with one line."""
    before = {signum: signal.signal(signum, _while_loading) for signum in _CODES}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def run() -> None:
    """Load the command line with signals quiet, then run it."""
    with quiet_while_loading():
        from archiver.cli.main import main
    main(sys.argv[1:])
