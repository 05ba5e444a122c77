"""``archiver worker``: join the night in progress on a shared PostgreSQL store."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from archiver.cli.options import (
    CONTEXT_SETTINGS,
    DEFAULT_OUT,
    FetchChoices,
    RunChoices,
    fetch_options,
    lease_option,
    log_format_option,
    nightly_config,
    preserve_settings,
    run_options,
)
from archiver.cli.progress import (
    JsonReporter,
    choose_reporter,
    exit_code,
    summary_lines,
)
from archiver.cli.types import StoreParam, Text
from archiver.errors import UsageError
from archiver.store.location import StoreLocation

if TYPE_CHECKING:
    from archiver.browser.settings import BrowserSettings


@click.command("worker", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    is_eager=True,
    expose_value=False,
    callback=nightly_config(),
    help="Settings file; every key is an option's long name.  "
    "[default: archiver.toml, if present]",
)
@click.option(
    "--store",
    type=StoreParam(),
    help="The shared history store: a postgresql:// URL (required).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Root folder: this worker writes into OUT/<run id>/<name>/.",
)
@click.option(
    "--name",
    type=Text(ascii_only=True),
    help="This worker's name, unique among the workers of the store.  "
    "[default: this machine's name]",
)
@lease_option(
    "How long a host stays this worker's once its heartbeats stop.",
)
@log_format_option
# Eager, so it is known before archiver.toml is read (which it skips).
@click.option("--from-parent", is_flag=True, hidden=True, is_eager=True)
@fetch_options
@run_options
def worker_cmd(
    store: StoreLocation | None,
    out: Path,
    name: str | None,
    lease: float,
    log_format: str,
    from_parent: bool,
    fetching: FetchChoices,
    running: RunChoices,
    browsing: BrowserSettings,
) -> None:
    """Join the night in progress: claim hosts, fetch, and record the checks.

    A night shared by workers is started by archiver nightly --workers N
    with the same PostgreSQL --store; each worker takes whole hosts from
    the night's frontier, so --per-host holds across every worker, and
    writes its WARC files into OUT/<run id>/<name>/. It leaves when no host
    is left. A worker that dies loses its hosts once --lease has passed;
    another takes what it had not committed. Says so, and exits 0, when no
    night is in progress. Give it the night's fetch options (--allow-private,
    --per-host, --concurrency, ...) as nightly had them, or the same
    archiver.toml: each worker fetches with its own.

    Example (on a second machine):

        archiver worker --store postgresql://archiver@db.example/archive --out warcs
    """
    from archiver import clock
    from archiver.run.sharing import require_shared
    from archiver.run.worker import (
        WorkerSettings,
        default_name,
        read_orders,
        run_worker,
    )

    if from_parent:
        orders = read_orders(sys.stdin.buffer)
        with (
            clock.installed(clock.starting_at(orders.clock)),
            JsonReporter([sys.stderr]) as reporter,
        ):
            run_worker(orders.settings, reporter)
        return
    if store is None:
        raise UsageError("--store: a postgresql:// URL is required")
    settings = WorkerSettings(
        preserve=preserve_settings((), out, fetching, running, browsing),
        store=require_shared(store, "--store"),
        name=name or default_name(),
        lease=lease,
    )
    with choose_reporter(log_format, [sys.stderr]) as chosen:
        result = run_worker(settings, chosen)
    if result.run_id is None or result.summary is None:
        click.echo(f"{store}: no night in progress to join")
        return
    click.echo(f"night: {result.run_id} ({result.folder})")
    for line in summary_lines(result.summary, proxy=fetching.proxy):
        click.echo(line)
    sys.exit(exit_code(result.summary, fail_on_dead=False))
