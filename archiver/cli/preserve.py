"""``archiver preserve``: one archiving pass over articles and URLs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from archiver.cli.options import (
    CONTEXT_SETTINGS,
    DEFAULT_OUT,
    FetchChoices,
    RunChoices,
    check_inputs,
    fetch_options,
    preserve_settings,
    run_options,
    split_arguments,
    wrapper_rules,
)
from archiver.cli.progress import choose_reporter, exit_code, summary_lines
from archiver.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from archiver.browser.settings import BrowserSettings
    from archiver.run.preserve import Gathered


@click.command("preserve", context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, metavar="[PATH_OR_URL]...")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT,
    show_default=True,
    help="Folder for WARC files, manifest.jsonl and dead-links.csv.",
)
@fetch_options
@run_options
@click.option("--dry-run", is_flag=True, help="List the URLs found; fetch nothing.")
@click.option(
    "--fail-on-dead",
    is_flag=True,
    help=f"Exit {int(ExitCode.DEAD_LINKS)} when any link is dead.",
)
def preserve_cmd(
    paths: tuple[str, ...],
    out: Path,
    dry_run: bool,
    fail_on_dead: bool,
    fetching: FetchChoices,
    running: RunChoices,
    browsing: BrowserSettings,
) -> None:
    """Archive every URL the articles cite; report which are dead.

    Each argument is an article file, a folder of them (searched
    recursively) or an http(s) URL to preserve as it is; the default is
    seeds/. Writes WARC files, manifest.jsonl and dead-links.csv into --out.

    Example:

        archiver preserve seeds/ --out warcs/ --per-host 2
    """
    from archiver.run.preserve import gather, preserve

    inputs, urls = split_arguments(paths)
    rules = wrapper_rules(running.unwrap_specs)
    settings = preserve_settings(inputs, out, fetching, running, browsing)
    nothing = check_inputs(inputs, urls=urls)
    if nothing is not None:
        raise UsageError(nothing)
    reporter = choose_reporter("auto")
    gathered = gather(inputs, reporter, urls=urls, rules=rules)
    if dry_run:
        _print_plan(gathered)
        return
    with reporter:
        summary = preserve(settings, gathered, reporter)
    for line in summary_lines(summary, proxy=settings.client.proxy):
        click.echo(line)
    sys.exit(exit_code(summary, fail_on_dead))


def _print_plan(gathered: Gathered) -> None:
    for target in gathered.plan.targets:
        click.echo(
            json.dumps(
                {
                    "url": target.url,
                    "kind": str(target.kind),
                    "articles": sorted({c.article for c in target.citations}),
                    "fetch": True,
                },
                ensure_ascii=False,
            )
        )
    for item in gathered.plan.unfetched:
        click.echo(
            json.dumps(
                {
                    "url": item.url,
                    "articles": sorted({c.article for c in item.citations}),
                    "fetch": False,
                    "outcome": str(item.rejection.outcome),
                    "reason": item.rejection.reason,
                },
                ensure_ascii=False,
            )
        )
