"""``archiver store``: look after the history store itself."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli.options import CONTEXT_SETTINGS, DEFAULT_OUT
from archiver.store.base import STORE_NAME, migrate_store


@click.group("store", context_settings=CONTEXT_SETTINGS)
def store_cmd() -> None:
    """Look after the history store (archiver nightly's memory)."""


@store_cmd.command("migrate", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUT / STORE_NAME,
    show_default=True,
    help="History store to upgrade.",
)
def migrate_cmd(store: Path) -> None:
    """Upgrade the store to this archiver's schema, in place.

    archiver nightly does this by itself when it opens an older store;
    archiver report only reads, so it asks for this instead. Prints the
    versions before and after.

    Example:

        archiver store migrate --store warcs/archiver.sqlite3
    """
    before, now = migrate_store(store)
    if before == now:
        click.echo(f"{store}: already at schema version {now}")
    else:
        click.echo(f"{store}: schema version {before} -> {now}")
