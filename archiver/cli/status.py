"""``archiver status``: how far a shared night has got, per worker and per host."""

from __future__ import annotations

import click

from archiver.cli.options import (
    CONTEXT_SETTINGS,
    config_option,
    nightly_config,
)
from archiver.cli.types import StoreParam, Text
from archiver.errors import UsageError
from archiver.store.location import StoreLocation


@click.command("status", context_settings=CONTEXT_SETTINGS)
@config_option(nightly_config("store"))
@click.option(
    "--store",
    type=StoreParam(),
    help="The shared history store: a postgresql:// URL (required).",
)
@click.option(
    "--run",
    "run_id",
    type=Text(),
    help="A night's run id.  [default: the latest shared night]",
)
def status_cmd(store: StoreLocation | None, run_id: str | None) -> None:
    """Print a shared night's URLs planned, claimed and done, per worker and host.

    Reads the store only, so it may run on any machine, while the night
    goes on. A host is waiting (nobody took it yet), claimed, drained (its
    worker has fetched it all and is committing), finished, or expired (its
    worker stopped beating: the next worker to look takes it). A worker is
    seen some seconds ago, left (done), or gone: silent for longer than its
    --lease, so killed or cut off from the store.

    Example:

        archiver status --store postgresql://archiver@db.example/archive
    """
    from archiver.run.sharing import require_shared
    from archiver.store.cluster import progress
    from archiver.store.postgres import PostgresStore

    if store is None:
        raise UsageError("--store: a postgresql:// URL is required")
    location = require_shared(store, "--store")
    with PostgresStore.open_read_only(location) as reader:
        found = progress(reader, run_id)
    if found is None:
        if run_id is not None:
            raise UsageError(f"--run {run_id}: no shared night of that id in {store}")
        click.echo(f"{store}: no shared night yet")
        return
    click.echo(
        f"night {found.run_id} ({found.status}): {found.planned} planned, "
        f"{found.claimed} claimed, {found.done} done, "
        f"{len(found.hosts)} hosts, {len(found.workers)} workers"
    )
    for worker in found.workers:
        if worker.finished:
            state = "left"
        elif worker.gone:
            state = f"gone: no heartbeat for {worker.seen:.0f}s, past its lease"
        else:
            state = f"seen {worker.seen:.0f}s ago"
        click.echo(
            f"worker {worker.worker}: {worker.done} done, {worker.hosts} hosts held, "
            f"{state} ({worker.folder})"
        )
    for host in found.hosts:
        by = f" by {host.worker}" if host.worker else ""
        click.echo(f"host {host.host}: {host.done}/{host.urls} done, {host.state}{by}")
