"""``archiver package``: a run folder (or all nightly runs) as one WACZ file."""

from __future__ import annotations

import os
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
    # A string, not a Path: Path("dir/") forgets the slash that says "folder".
    type=click.Path(path_type=str),
    help="WACZ file to write, or a folder to write it into (an existing "
    "one, or a name ending in /).  [default: RUN_DIR/<folder name>.wacz]",
)
@click.option("--title", help="The package's title.  [default: the folder's name]")
def package_cmd(run_dir: Path, out: str | None, title: str | None) -> None:
    """Package a run folder as one WACZ file for ReplayWeb.page or pywb.

    The WACZ holds the folder's WARC files, an index, a page list of every
    link found alive (titled by article title or anchor text), and
    manifest.jsonl and dead-links.csv under logs/. Prints the file's path.
    Given the root of nightly runs, it packs all their run folders together.

    Example:

        archiver package warcs/ --out run.wacz
    """
    click.echo(str(package.package(run_dir, _target(run_dir, out), title=title)))


def _target(run_dir: Path, out: str | None) -> Path | None:
    """The WACZ file ``--out`` names: inside it when it is (or reads as) a folder."""
    if out is None:
        return None
    target = Path(out)
    if out.endswith(("/", os.sep)) or target.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return target / (run_dir.resolve().name + package.WACZ_SUFFIX)
    return target
