"""The ``archiver`` command line: thin commands over the library.

Each command (one module each in this package) turns its options into
settings and calls the run. The one ``except ArchiverError`` in :func:`main`
prints the error as one line and exits with that error's code; anything else
is a bug, told as one line naming a crash log that holds the traceback.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

import click

from archiver.cli.crashlog import write_crash_log
from archiver.cli.extract import extract_cmd
from archiver.cli.fix import fix_cmd
from archiver.cli.nightly import nightly_cmd
from archiver.cli.options import CONTEXT_SETTINGS
from archiver.cli.package import package_cmd
from archiver.cli.preserve import preserve_cmd
from archiver.cli.report import report_cmd
from archiver.cli.status import status_cmd
from archiver.cli.store import store_cmd
from archiver.cli.worker import worker_cmd
from archiver.errors import ArchiverError, ExitCode, Interrupted


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="archiver")
def cli() -> None:
    """Preserve every link and image cited in a body of articles.

    Articles are files with a timestamp line, a markdown title link to the
    article's own URL, a ------ rule and the body as HTML.
    """


for _command in (
    preserve_cmd,
    nightly_cmd,
    extract_cmd,
    package_cmd,
    report_cmd,
    fix_cmd,
    store_cmd,
    worker_cmd,
    status_cmd,
):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point for the ``archiver`` script and ``python -m archiver``.

    Every failure a user can cause or meet (bad input, a full disk, a held
    lock, Ctrl-C) ends here as one line and an exit code, also when trio
    delivers it inside an exception group; anything else is a bug: one line
    and a crash log (:mod:`archiver.cli.crashlog`), exit 70.
    """
    # Outside the crawl (which stops gracefully by itself), SIGTERM stops the
    # process as Ctrl-C does, rather than killing it mid-write.
    signal.signal(signal.SIGTERM, _terminate)
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="archiver",
            standalone_mode=False,
        )
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # a bare command asks for its help: it is not a mistake to name
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(f"archiver: error: {usage_line(exc)}", err=True)
        sys.exit(int(ExitCode.USAGE))
    except click.ClickException as exc:
        # Final only in click's annotations; show() reads it back.
        exc.message = one_line(exc.message)  # type: ignore[misc]
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        _interrupted()
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        # SIGTERM's handler exits; inside trio that exit arrives in a group.
        stop = next((e for e in _leaves(exc) if isinstance(e, SystemExit)), None)
        if stop is not None:
            _ignore_further_signals()
            sys.exit(stop.code)
        if any(isinstance(leaf, KeyboardInterrupt) for leaf in _leaves(exc)):
            _interrupted()
        known = next((e for e in _leaves(exc) if isinstance(e, ArchiverError)), None)
        if known is not None:
            said = "" if isinstance(known, Interrupted) else "error: "
            click.echo(f"archiver: {said}{one_line(str(known))}", err=True)
            sys.exit(int(known.exit_code))
        system = next((e for e in _leaves(exc) if isinstance(e, OSError)), None)
        if system is not None:
            where = f"{system.filename}: " if system.filename else ""
            reason = f"{where}{system.strerror or system}"
            click.echo(f"archiver: error: {one_line(reason)}", err=True)
            sys.exit(int(ExitCode.FAILURE))
        _crashed(exc, list(argv) if argv is not None else sys.argv[1:])
    sys.exit(code if isinstance(code, int) else 0)


def usage_line(exc: click.UsageError) -> str:
    """click's own usage error (a value out of range, an unknown option) as one line.

    click would print its usage line, a hint and the error on three lines,
    unlike every other mistake the CLI reports; its message already names
    the option (``Invalid value for '--workers': ...``), so that message,
    with where the help is, is the line.
    """
    message = one_line(exc.format_message()).rstrip(".")
    if exc.ctx is None:
        return message
    return f"{message} (see '{exc.ctx.command_path} --help')"


def one_line(message: str) -> str:
    """``message`` with control characters escaped (``\\r``, ``\\x1b``).

    Messages quote what the user gave (a path, a URL, a setting), and a line
    break or terminal escape in it would split the one line or forge another.
    """
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in message)


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``'s (nested) groups, or ``exc`` itself.

    A signal handler's exit can also land in trio's own scheduler, between
    two tasks; trio then ends the run with TrioInternalError caused by it.
    That error stands for its cause, so the cause is the leaf.
    """
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    trio = sys.modules.get("trio")  # not imported here: no trio, no such error
    if (
        trio is not None
        and isinstance(exc, trio.TrioInternalError)
        and exc.__cause__ is not None
    ):
        return _leaves(exc.__cause__)
    return [exc]


def _crashed(exc: BaseException, argv: list[str]) -> NoReturn:
    """A bug: say so on one line, with where its traceback was written."""
    leaf = _leaves(exc)[0]
    log = write_crash_log(exc, ["archiver", *argv])
    where = f"details in {log}" if log is not None else "no crash log could be written"
    click.echo(
        f"archiver: internal error ({type(leaf).__name__}: {one_line(str(leaf))}); "
        f"files written so far are valid and the next run resumes; {where}",
        err=True,
    )
    sys.exit(int(ExitCode.INTERNAL))


def _interrupted() -> NoReturn:
    _ignore_further_signals()
    click.echo("archiver: interrupted", err=True)
    sys.exit(int(ExitCode.INTERRUPTED))


def _terminate(signum: int, frame: FrameType | None) -> None:
    _ignore_further_signals()
    click.echo("archiver: terminated", err=True)
    sys.exit(int(ExitCode.TERMINATED))


def _ignore_further_signals() -> None:
    """On the way out, another Ctrl-C must not cut the exit short.

    Nor may what the signal left half done print a traceback as it is
    collected: a trio run stopped in its scheduler leaves a coroutine that
    complains when freed ("Exception ignored in ..."), after the one line.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    sys.unraisablehook = _unheard


def _unheard(unraisable: sys.UnraisableHookArgs) -> None:
    """An exception no code can catch, on the way out after a signal: dropped."""
