"""``archiver store``: look after the history store itself."""

from __future__ import annotations

from pathlib import Path

import click

from archiver.cli.options import (
    CONTEXT_SETTINGS,
    DEFAULT_OUT,
    config_option,
    nightly_config,
)
from archiver.cli.types import StoreParam
from archiver.store.base import STORE_NAME, copy_store, migrate_store
from archiver.store.location import StoreLocation


@click.group("store", context_settings=CONTEXT_SETTINGS)
def store_cmd() -> None:
    """Look after the history store (archiver nightly's memory)."""


@store_cmd.command("migrate", context_settings=CONTEXT_SETTINGS)
@config_option(nightly_config("store"))
@click.option(
    "--store",
    type=StoreParam(),
    default=DEFAULT_OUT / STORE_NAME,
    show_default=True,
    help="History store to upgrade: a SQLite file or a postgresql:// URL.",
)
def migrate_cmd(store: StoreLocation) -> None:
    """Upgrade the store to this archiver's schema, in place.

    archiver nightly does this by itself when it opens an older store;
    archiver report only reads, so it asks for this instead. Prints the
    versions before and after. A PostgreSQL database with no tables gets
    them (the database itself must exist: createdb).

    Example:

        archiver store migrate --store warcs/archiver.sqlite3
    """
    before, now = migrate_store(store)
    if before == now:
        click.echo(f"{store}: already at schema version {now}")
    else:
        click.echo(f"{store}: schema version {before} -> {now}")


@store_cmd.command("copy", context_settings=CONTEXT_SETTINGS)
@click.argument("source", type=StoreParam(), metavar="SOURCE")
@click.argument("target", type=StoreParam(), metavar="TARGET")
def copy_cmd(source: StoreLocation, target: StoreLocation) -> None:
    """Copy the whole history in SOURCE into the new, empty store TARGET.

    How a SQLite history moves to PostgreSQL (or back). SOURCE is only read
    and must be of the current schema (archiver store migrate first).
    TARGET gets the tables if it has none, and must hold no history: a copy
    never merges two. It is written in one transaction, committed only when
    every table read back has SOURCE's row count and checksum, so a failed
    copy leaves TARGET empty. Prints each table's rows and checksum. Stop
    nightly while copying, then point its --store at TARGET.

    Example:

        archiver store copy warcs/archiver.sqlite3 postgresql://archiver@db.example/archive
    """
    if isinstance(source, Path) and not source.is_file():
        # Opening it would make an empty store, then call it too old.
        raise click.UsageError(f"SOURCE {source}: no such store file")
    result = copy_store(source, target)
    for table, found in result.tables.items():
        click.echo(f"{table}: {found.rows} rows, sha256 {found.sha256}")
    click.echo(f"{source} -> {target}: copied, counts and checksums verified")
