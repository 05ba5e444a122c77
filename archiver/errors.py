"""The exception tree and the exit codes it maps to.

Link states (a 404, a refused private address, a malformed URL) are values,
never exceptions. These classes are for situations a caller must decide about:

* ArchiverError         base; a one-line message naming the file, URL or option
  + UsageError          bad option or argument                                -> 2
  + InputError          one article unreadable; the run reports and skips it
  + ArchiveWriteError   a WARC file cannot be written; closed files stay valid -> 1
  + NetworkUnavailable  this machine itself seems offline; nothing marked dead -> 5
  + RunLocked           another run is writing to the same folder              -> 4
  + StoreError          the history store cannot be used                       -> 1

``cli.main`` has the one ``except ArchiverError`` that prints the message and
exits with the class's code.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes; the README's table is checked against this enum."""

    OK = 0  # the run completed, whatever state the links are in
    FAILURE = 1  # the run could not complete (a WARC file could not be written)
    USAGE = 2  # bad option, argument or input path
    DEAD_LINKS = 3  # --fail-on-dead was given and dead links were found
    LOCKED = 4  # another run holds the output folder's lock
    NETWORK_UNAVAILABLE = 5  # no host could be reached: the machine looks offline
    INTERNAL = 70  # a bug: one line, the traceback in a crash log (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (SIGINT): stopped; the files written are valid
    TERMINATED = 143  # SIGTERM: stopped the same way


class ArchiverError(Exception):
    """Base of every error the CLI reports as one line and an exit code."""

    exit_code: ClassVar[ExitCode] = ExitCode.FAILURE


class UsageError(ArchiverError):
    """An option, argument or path given by the user cannot be used."""

    exit_code = ExitCode.USAGE


class InputError(ArchiverError):
    """One article cannot be read or parsed; the run skips it and goes on."""

    exit_code = ExitCode.USAGE


class ArchiveWriteError(ArchiverError):
    """A WARC file or manifest cannot be written (disk full, permissions)."""

    exit_code = ExitCode.FAILURE


class WorkersFailed(ArchiverError):
    """A shared night's workers kept failing with hosts left: the night is not done."""

    exit_code = ExitCode.FAILURE


class NetworkUnavailable(ArchiverError):
    """Every host failed at the network level: the fault is ours, not the web's."""

    exit_code = ExitCode.NETWORK_UNAVAILABLE


class StoreError(ArchiverError):
    """The history store cannot be opened, upgraded, read or written."""

    exit_code = ExitCode.FAILURE


class Interrupted(ArchiverError):
    """Ctrl-C (SIGINT) stopped the run; what it did is written and valid."""

    exit_code = ExitCode.INTERRUPTED


class Terminated(Interrupted):
    """SIGTERM (a service manager, ``kill``) stopped the run, as Ctrl-C does."""

    exit_code = ExitCode.TERMINATED


class RunLocked(ArchiverError):
    """Another run holds the lock on the output folder: this one must not start."""

    exit_code = ExitCode.LOCKED
