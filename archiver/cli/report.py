"""``archiver report``: the link-rot audit, read from the history store."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import click

from archiver import report
from archiver.cli.options import (
    CONTEXT_SETTINGS,
    config_option,
    existing_store,
    history_store_option,
    nightly_config,
    parse_time,
)
from archiver.cli.types import WebURL, Whole, days
from archiver.errors import UsageError
from archiver.files import replace_text
from archiver.store.base import open_store
from archiver.store.location import StoreLocation


@click.command("report", context_settings=CONTEXT_SETTINGS)
@config_option(nightly_config("store"))
@history_store_option
@click.option(
    "--format",
    "form",
    type=click.Choice(list(report.FORMATS)),
    default="html",
    show_default=True,
    help="html: one self-contained page; md: Markdown; csv: one row per dead "
    "citation; json: the documented schema; links-csv: every link in scope, "
    "one row each, to recount the research figures.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="File to write, - for standard output.  [default: report.html for "
    "html, standard output for the others]",
)
@click.option(
    "--since",
    metavar="DATE",
    callback=parse_time,
    help="Report what changed from DATE on (ISO 8601, UTC unless it says): "
    "runs, newly dead, revived, dead links and drift since then.",
)
@click.option(
    "--domain",
    "domains",
    metavar="HOST",
    multiple=True,
    help="Only links to HOST or its subdomains (repeatable).",
)
@click.option(
    "--article",
    "articles",
    metavar="PATH",
    multiple=True,
    help="Only the article at PATH (as nightly was given it), the articles "
    "under folder PATH, or those whose path ends in PATH (repeatable).",
)
@click.option(
    "--collection",
    default=report.DEFAULT_COLLECTION,
    show_default=True,
    help="pywb collection named in replay addresses.",
)
@click.option(
    "--replay-base",
    metavar="URL",
    type=WebURL(relative=True),
    default="",
    help="Put before each replay address, e.g. https://archive.example.org, "
    "making it a link.  [default: none: /COLLECTION/TIMESTAMP/URL]",
)
@click.option(
    "--dead-after-failures",
    type=Whole(lowest=1, highest=1_000_000),
    help="Confirm a link dead after this many failed checks ...  "
    "[default: as the latest nightly run]",
)
@click.option(
    "--dead-after-days",
    type=days(),
    metavar="DAYS",
    help="... spanning at least this many days.  [default: as the latest nightly run]",
)
def report_cmd(
    store: StoreLocation,
    form: str,
    out: Path | None,
    since: datetime | None,
    domains: tuple[str, ...],
    articles: tuple[str, ...],
    collection: str,
    replay_base: str,
    dead_after_failures: int | None,
    dead_after_days: float | None,
) -> None:
    """Link-rot audit of the archive, from the history store.

    Headline figures and their trend over runs, rot by article year and by
    cited domain, every dead link with its anchor text, since when it is
    dead, its last good copy and a replay address, and links whose content
    changed. Only reads the store, so it can run while nightly does.

    Example:

        archiver report --format csv --since 2026-01-01 > dead.csv
    """
    existing_store(store)
    options = report.ReportOptions(
        filters=report.Filters(since=since, domains=domains, articles=articles),
        dead_after_failures=dead_after_failures,
        dead_after=None if dead_after_days is None else timedelta(days=dead_after_days),
        collection=collection,
        replay_base=replay_base,
        store=str(store),
    )
    with open_store(store, read_only=True) as opened:
        text = report.render(report.make(opened, options), form)
    target = out or (Path("report.html") if form == "html" else Path("-"))
    if str(target) == "-":
        click.echo(text, nl=False)
        return
    try:
        replace_text(target, text)
    except OSError as exc:
        raise UsageError(f"--out {target}: {exc.strerror or exc}") from exc
    click.echo(str(target))
