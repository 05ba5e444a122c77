"""``archiver package``: a run folder (or all nightly runs) as one WACZ file."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli.options import CONTEXT_SETTINGS
from archiver.run import package


@click.command("package", context_settings=CONTEXT_SETTINGS)
@click.argument(
    "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="WACZ file to write.  [default: RUN_DIR/<folder name>.wacz]",
)
@click.option("--title", help="The package's title.  [default: the folder's name]")
def package_cmd(run_dir: Path, out: Path | None, title: str | None) -> None:
    """Package a run folder as one WACZ file for ReplayWeb.page or pywb.

    The WACZ holds the folder's WARC files, an index, a page list of every
    link found alive (titled by article title or anchor text), and
    manifest.jsonl and dead-links.csv under logs/. Prints the file's path.
    Given the root of nightly runs, it packs all their run folders together.

    Example:

        archiver package warcs/ --out run.wacz
    """
    click.echo(str(package.package(run_dir, out, title=title)))
