"""The ``archiver`` command line: thin commands over the library.

Each command turns its options into settings and calls the pipeline. The one
``except ArchiverError`` in :func:`main` prints the error as one line and exits
with that error's code; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import click
from rich.console import Console

from archiver import extract, package, report, seeds
from archiver.errors import ArchiverError, ExitCode, UsageError
from archiver.history import DeadRule
from archiver.lock import run_lock
from archiver.models import FoundLink, Outcome, Rejection
from archiver.nightly import STORE_NAME, NightlyResult, NightlySettings, run_nightly
from archiver.options import (
    DEFAULT_INPUT,
    DEFAULT_OUT,
    fetch_options,
    load_config,
    parse_now,
    preserve_settings,
    run_options,
    split_arguments,
    unwrap_option,
    wrapper_rules,
)
from archiver.pipeline import (
    Gathered,
    RunSummary,
    gather,
    preserve,
)
from archiver.progress import (
    JsonReporter,
    PlainReporter,
    RichReporter,
    summary_lines,
)
from archiver.repair import Repair, repair_folder
from archiver.store import open_store
from archiver.urls import normalise

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="archiver")
def cli() -> None:
    """Preserve every link and image cited in a body of articles.

    Articles are files with a timestamp line, a markdown title link to the
    article's own URL, a ------ rule and the body as HTML.
    """


@cli.command("preserve", context_settings=CONTEXT_SETTINGS)
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
    **opts: Any,
) -> None:
    """Archive every URL the articles cite; report which are dead.

    Each argument is an article file, a folder of them (searched
    recursively) or an http(s) URL to preserve as it is; the default is
    seeds/. Writes WARC files, manifest.jsonl and dead-links.csv into --out.

    Example:

        archiver preserve seeds/ --out warcs/ --per-host 2
    """
    inputs, urls = split_arguments(paths)
    rules = wrapper_rules(opts["unwrap_specs"])
    settings = preserve_settings(inputs, out, opts)
    reporter = _reporter("auto")
    gathered = gather(inputs, reporter, urls=urls, rules=rules)
    if dry_run:
        _print_plan(gathered)
        return
    with run_lock(out), reporter:
        for repair in repair_folder(out):
            click.echo(f"archiver: {_describe(repair)}", err=True)
        summary = preserve(settings, gathered, reporter)
    for line in summary_lines(summary):
        click.echo(line)
    sys.exit(_exit_code(summary, fail_on_dead))


@cli.command("nightly", context_settings=CONTEXT_SETTINGS)
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
    type=click.Path(dir_okay=False, path_type=Path),
    help="History store (SQLite).  [default: OUT/archiver.sqlite3]",
)
@click.option(
    "--alive-every",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help="Re-check a link that was alive (or dead) after this many days.",
)
@click.option(
    "--suspect-every",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    metavar="DAYS",
    help="Re-check a link that failed, but is not yet confirmed dead, this often.",
)
@click.option(
    "--max-rechecks",
    type=click.IntRange(min=0),
    default=2000,
    show_default=True,
    help="Known links re-checked in one run at most (new links always are).",
)
@click.option(
    "--dead-after-failures",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="A link is confirmed dead after failing this many checks ...",
)
@click.option(
    "--dead-after-days",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    metavar="DAYS",
    help="... spanning at least this many days; until then it is 'suspect'.",
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "plain"]),
    default="auto",
    show_default=True,
    help="One line per event; auto: a progress bar on a terminal, JSON otherwise.",
)
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also append the log lines to this file (then they are JSON).",
)
@click.option("--now", callback=parse_now, hidden=True, help="The run's clock (tests).")
@fetch_options
@run_options
def nightly_cmd(
    paths: tuple[Path, ...],
    out: Path,
    store: Path | None,
    alive_every: float,
    suspect_every: float,
    max_rechecks: int,
    dead_after_failures: int,
    dead_after_days: float,
    log_format: str,
    log_file: Path | None,
    now: datetime | None,
    **opts: Any,
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
    settings = NightlySettings(
        preserve=preserve_settings(paths or (DEFAULT_INPUT,), out, opts),
        store=store or out / STORE_NAME,
        rule=DeadRule(
            failures=dead_after_failures, span=timedelta(days=dead_after_days)
        ),
        alive_every=timedelta(days=alive_every),
        suspect_every=timedelta(days=suspect_every),
        max_rechecks=max_rechecks,
        rules=wrapper_rules(opts["unwrap_specs"]),
        now=now,
    )
    with contextlib.ExitStack() as stack:
        streams: list[TextIO] = [sys.stderr]
        if log_file is not None:
            try:
                streams.append(
                    stack.enter_context(log_file.open("a", encoding="utf-8"))
                )
            except OSError as exc:
                raise UsageError(f"--log-file {log_file}: {exc.strerror}") from exc
        reporter = _reporter(log_format, streams)
        stack.enter_context(run_lock(out))
        with reporter:
            result = run_nightly(settings, reporter)
        summary = result.summary
        for line in _nightly_lines(result):
            click.echo(line)
        if isinstance(reporter, JsonReporter):
            reporter.event(
                "summary",
                run=result.run_id,
                urls=len(summary.statuses),
                **{str(o): summary.count(o) for o in Outcome},
                offline=summary.offline,
                seconds=round(summary.elapsed, 1),
            )
    sys.exit(_exit_code(summary, fail_on_dead=False))


def _nightly_lines(result: NightlyResult) -> list[str]:
    return [
        f"run: {result.run_id} ({result.folder})",
        f"articles: {result.new_articles} new, {result.changed_articles} changed; "
        f"{result.rechecked} known links re-checked",
        *(
            f"recovered crashed run {r.run_id}: {r.files} WARC file(s), "
            f"{r.bytes_cut} uncommitted bytes cut"
            for r in result.recovered
        ),
        *summary_lines(result.summary),
    ]


def _reporter(
    log_format: str, streams: list[TextIO] | None = None
) -> PlainReporter | RichReporter | JsonReporter:
    console = Console(stderr=True)
    to_file = streams is not None and len(streams) > 1
    if log_format == "json" or (
        log_format == "auto" and streams and (to_file or not console.is_terminal)
    ):
        return JsonReporter(streams)
    if log_format == "auto" and console.is_terminal:
        return RichReporter(console)
    return PlainReporter()


@cli.command("extract", context_settings=CONTEXT_SETTINGS)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@unwrap_option
def extract_cmd(paths: tuple[Path, ...], unwrap_specs: tuple[str, ...]) -> None:
    """Print every link found in the articles as JSON lines; fetch nothing.

    One line per link as cited (a URL cited twice is printed twice): the
    normalised URL (or, when it cannot be fetched, the URL as written with the
    outcome and reason), the URL as written, kind, article, where it was found
    and its anchor or alt text.

    Example:

        archiver extract seeds/ | jq -r .url | sort -u
    """
    rules = wrapper_rules(unwrap_specs)

    def skip(message: str) -> None:
        click.echo(f"archiver: skipped article: {message}", err=True)

    for article in seeds.read_all(paths, skip):
        for link in extract.links(article, rules):
            click.echo(json.dumps(_extract_record(link), ensure_ascii=False))


@cli.command("package", context_settings=CONTEXT_SETTINGS)
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


@cli.command("report", context_settings=CONTEXT_SETTINGS)
@click.option(
    "--store",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_OUT / STORE_NAME,
    show_default=True,
    help="History store written by archiver nightly.",
)
@click.option(
    "--format",
    "form",
    type=click.Choice(list(report.FORMATS)),
    default="html",
    show_default=True,
    help="html: one self-contained page; md: Markdown; csv: one row per dead "
    "citation; json: the documented schema.",
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
    callback=parse_now,
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
    default="",
    help="Put before each replay address, e.g. https://archive.example.org, "
    "making it a link.  [default: none: /COLLECTION/TIMESTAMP/URL]",
)
@click.option(
    "--dead-after-failures",
    type=click.IntRange(min=1),
    help="Confirm a link dead after this many failed checks ...  "
    "[default: as the latest nightly run]",
)
@click.option(
    "--dead-after-days",
    type=click.FloatRange(min=0),
    metavar="DAYS",
    help="... spanning at least this many days.  [default: as the latest nightly run]",
)
def report_cmd(
    store: Path,
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
    if not store.is_file():
        raise UsageError(f"--store {store}: no such file (archiver nightly makes it)")
    options = report.ReportOptions(
        filters=report.Filters(since=since, domains=domains, articles=articles),
        dead_after_failures=dead_after_failures,
        dead_after=None if dead_after_days is None else timedelta(days=dead_after_days),
        collection=collection,
        replay_base=replay_base,
        store=str(store),
    )
    with open_store(store) as opened:
        text = report.render(report.make(opened, options), form)
    target = out or (Path("report.html") if form == "html" else Path("-"))
    if str(target) == "-":
        click.echo(text, nl=False)
        return
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--out {target}: {exc.strerror or exc}") from exc
    click.echo(str(target))


def _extract_record(link: FoundLink) -> dict[str, object]:
    citation = link.citation
    url = normalise(link.raw, link.base)
    record: dict[str, object] = {
        "url": url if isinstance(url, str) else link.raw.strip(),
        "raw": link.raw,
        "kind": str(citation.kind),
        "article": citation.article,
        "element": citation.element,
        "attribute": citation.attribute,
        "text": citation.text,
        "title": citation.title,
        "wrapped_by": citation.wrapped_by,
    }
    if isinstance(url, Rejection):
        record["outcome"] = str(url.outcome)
        record["reason"] = url.reason
    return record


def _describe(repair: Repair) -> str:
    """One log line for a WARC file a crashed run left open."""
    if repair.removed:
        return f"removed {repair.path}: a crashed run left no whole record in it"
    return (
        f"repaired {repair.path}: kept {repair.records} whole records, cut "
        f"{repair.dropped_bytes} bytes a crashed run left half-written"
    )


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


def _exit_code(summary: RunSummary, fail_on_dead: bool) -> ExitCode:
    if summary.offline:
        return ExitCode.NETWORK_UNAVAILABLE
    if fail_on_dead and summary.count(Outcome.DEAD):
        return ExitCode.DEAD_LINKS
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point for the ``archiver`` script and ``python -m archiver``."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="archiver")
    except ArchiverError as exc:
        click.echo(f"archiver: error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
