"""``archiver nightly``: the cron job, with a history store."""

from __future__ import annotations

import contextlib
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from archiver.cli.options import (
    CONTEXT_SETTINGS,
    DEFAULT_INPUT,
    DEFAULT_OUT,
    FetchChoices,
    RunChoices,
    check_inputs,
    fetch_options,
    lease_option,
    load_config,
    log_format_option,
    preserve_settings,
    run_options,
    wrapper_rules,
)
from archiver.cli.progress import (
    JsonReporter,
    choose_reporter,
    exit_code,
    summary_lines,
)
from archiver.cli.types import StoreParam, Whole, days
from archiver.errors import UsageError
from archiver.models import Outcome
from archiver.store.base import STORE_NAME
from archiver.store.history import DeadRule
from archiver.store.location import StoreLocation

if TYPE_CHECKING:
    from archiver.browser.settings import BrowserSettings
    from archiver.run.nightly import NightlyResult


@click.command("nightly", context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    is_eager=True,
    expose_value=False,
    callback=load_config,
    help="Settings file; every key is an option's long name.  "
    "[default: archiver.toml, if present]",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Root folder: one subfolder per run, and the store.",
)
@click.option(
    "--store",
    type=StoreParam(),
    help="History store: a SQLite file, or a postgresql:// URL.  "
    "[default: OUT/archiver.sqlite3]",
)
@click.option(
    "--alive-every",
    type=days(),
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help="Re-check a link that was alive (or dead) after this many days.",
)
@click.option(
    "--suspect-every",
    type=days(),
    default=1.0,
    show_default=True,
    metavar="DAYS",
    help="Re-check a link that failed, but is not yet confirmed dead, this often.",
)
@click.option(
    "--max-rechecks",
    type=Whole(lowest=0, highest=10**9),
    default=2000,
    show_default=True,
    help="Known links re-checked in one run at most (new links always are).",
)
@click.option(
    "--dead-after-failures",
    type=Whole(lowest=1, highest=1_000_000),
    default=3,
    show_default=True,
    help="A link is confirmed dead after failing this many checks ...",
)
@click.option(
    "--dead-after-days",
    type=days(),
    default=3.0,
    show_default=True,
    metavar="DAYS",
    help="... spanning at least this many days; until then it is 'suspect'.",
)
@log_format_option
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the log lines to this file (then they are JSON).",
)
@click.option(
    "--workers",
    type=Whole(lowest=0, highest=256),
    default=0,
    show_default=True,
    help="Share the night among this many worker processes (a postgresql:// "
    "--store only); 0: this process fetches everything.",
)
@lease_option(
    "With --workers: how long a host stays a worker's once its "
    "heartbeats stop (a dead worker's hosts pass on after this).",
)
@fetch_options
@run_options
def nightly_cmd(
    paths: tuple[Path, ...],
    out: Path,
    store: StoreLocation | None,
    alive_every: float,
    suspect_every: float,
    max_rechecks: int,
    dead_after_failures: int,
    dead_after_days: float,
    log_format: str,
    log_file: Path | None,
    workers: int,
    lease: float,
    fetching: FetchChoices,
    running: RunChoices,
    browsing: BrowserSettings,
) -> None:
    """The cron job: archive new articles' links and re-check known ones.

    Reads the articles in PATHS (default seeds/), fetches every link of an
    article that is new or changed and the known links whose re-check is
    due, and records every check in the store, which remembers when a link
    died and where its last good copy is. Each run writes its WARC files and
    manifest into OUT/<run id>/. Two runs never overlap, and a run after a
    crash repairs what the crash left and finishes its work.

    Example (crontab):

        17 3 * * *  cd /srv/archive && .venv/bin/archiver nightly --log-file nightly.log
    """
    from archiver.run.nightly import NightlySettings, run_nightly

    # Everything is checked before the store or a run folder is made, so a
    # mistyped path leaves nothing behind (no run left "running").
    inputs = paths or (DEFAULT_INPUT,)
    settings = NightlySettings(
        preserve=preserve_settings(inputs, out, fetching, running, browsing),
        store=store or out / STORE_NAME,
        rule=DeadRule(
            failures=dead_after_failures, span=timedelta(days=dead_after_days)
        ),
        alive_every=timedelta(days=alive_every),
        suspect_every=timedelta(days=suspect_every),
        max_rechecks=max_rechecks,
        rules=wrapper_rules(running.unwrap_specs),
        workers=workers,
        lease=lease,
    )
    nothing = check_inputs(inputs)
    with contextlib.ExitStack() as stack:
        streams: list[TextIO] = [sys.stderr]
        if log_file is not None:
            try:
                # The README's crontab line logs into warcs/, which a fresh
                # install does not have yet.
                log_file.parent.mkdir(parents=True, exist_ok=True)
                streams.append(
                    stack.enter_context(log_file.open("a", encoding="utf-8"))
                )
            except OSError as exc:
                raise UsageError(f"--log-file {log_file}: {exc.strerror}") from exc
        if nothing is not None:
            click.echo(f"archiver: warning: {nothing}", err=True)
        reporter = choose_reporter(log_format, streams)
        with reporter:
            result = run_nightly(settings, reporter)
        summary = result.summary
        for line in _nightly_lines(result, settings.preserve.client.proxy):
            click.echo(line)
        if isinstance(reporter, JsonReporter):
            reporter.event(
                "summary",
                run=result.run_id,
                urls=len(summary.statuses),
                **{str(o): summary.count(o) for o in Outcome},
                offline=summary.offline,
                seconds=round(summary.elapsed, 1),
                withdrawn_articles=len(result.withdrawn),
                returned_articles=len(result.returned),
            )
    sys.exit(exit_code(summary, fail_on_dead=False))


def _nightly_lines(result: NightlyResult, proxy: str | None) -> list[str]:
    return [
        f"run: {result.run_id} ({result.folder})",
        f"articles: {result.new_articles} new, {result.changed_articles} changed; "
        f"{result.rechecked} known links re-checked",
        *_article_lines("withdrawn", "article(s) whose file is gone", result.withdrawn),
        *_article_lines("returned", "withdrawn article(s) back", result.returned),
        *(
            f"recovered crashed run {r.run_id}: {r.files} WARC file(s), "
            f"{r.bytes_cut} uncommitted bytes cut"
            for r in result.recovered
        ),
        *summary_lines(result.summary, proxy=proxy),
    ]


def _article_lines(label: str, what: str, paths: tuple[str, ...]) -> list[str]:
    """One line naming how many articles, and the first: the log names them all."""
    if not paths:
        return []
    return [f"{label}: {len(paths)} {what}, e.g. {paths[0]}"]
