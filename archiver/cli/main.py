"""The ``archiver`` command line: thin commands over the library.

Each command (one module each in this package) turns its options into
settings and calls the run. The one ``except ArchiverError`` in :func:`main`
prints the error as one line and exits with that error's code; anything else
is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from archiver.cli.extract import extract_cmd
from archiver.cli.nightly import nightly_cmd
from archiver.cli.options import CONTEXT_SETTINGS
from archiver.cli.package import package_cmd
from archiver.cli.preserve import preserve_cmd
from archiver.cli.report import report_cmd
from archiver.errors import ArchiverError


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="archiver")
def cli() -> None:
    """Preserve every link and image cited in a body of articles.

    Articles are files with a timestamp line, a markdown title link to the
    article's own URL, a ------ rule and the body as HTML.
    """


for _command in (preserve_cmd, nightly_cmd, extract_cmd, package_cmd, report_cmd):
    cli.add_command(_command)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point for the ``archiver`` script and ``python -m archiver``."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="archiver")
    except ArchiverError as exc:
        click.echo(f"archiver: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
