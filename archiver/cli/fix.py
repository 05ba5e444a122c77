"""``archiver fix``: the editor's work list, with a replacement for each dead link.

The options become one :class:`FixSettings` here, once. The list itself is
:mod:`archiver.report.fix` (reads the store only); where links sit comes
from the article files (:mod:`archiver.articles.placement`), captures we
lack from web archives (:mod:`archiver.crawl.memento`, imported only when
asked, so ``--help`` stays quick), and patched copies are written by
:mod:`archiver.articles.patch` into a folder of their own.

The archives' answers are kept in the store (``memento_answers``), so a
second run asks about nothing it was already told: an answer naming a
capture is kept until ``--memento-refresh``, one that the archive holds
nothing is asked again after :data:`NEGATIVE_FOR` (archives keep ingesting
older captures). A failed or partial answer is never kept. The store is
read read-only, as ``archiver report`` reads it; the new answers are then
written in one short transaction of their own. A store that cannot be
written (a read-only mount, a copy without write rights) still gives the
whole list: the answers are only not kept, and stderr says so in one line.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path, PurePath
from typing import Final, Literal

import click

from archiver.articles import seeds
from archiver.cli.options import (
    CONTEXT_SETTINGS,
    config_option,
    existing_store,
    history_store_option,
    nightly_config,
)
from archiver.cli.types import Text, WebURL, Whole, days, is_web_url, seconds
from archiver.clock import now as clock_now
from archiver.errors import InputError, StoreError, UsageError
from archiver.files import replace_text
from archiver.models import ArchiveAnswer, MementoFinding, Placement
from archiver.report import DEFAULT_COLLECTION, fix as fixlist, source
from archiver.report.fixout import render_csv, render_json
from archiver.store.base import open_store
from archiver.store.location import StoreLocation
from archiver.urls import normalise

DEFAULT_TIMEGATE: Final = "https://web.archive.org/web/"  # the Internet Archive's
NEGATIVE_FOR: Final = timedelta(days=30)  # "holds nothing" is asked again after
MAX_PRIORITY_ROWS: Final = 10_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class FixSettings:
    """Everything ``archiver fix`` was asked, checked: built once from click."""

    store: StoreLocation
    form: str  # csv or json
    out: Path | None  # None: standard output
    patched: Path | None  # folder for patched copies of the articles
    mode: Literal["beside", "replace"]  # archiver.articles.patch.PatchMode
    replay_base: str
    collection: str
    views: Mapping[str, int] | None  # from --priority
    memento: bool
    timegates: tuple[str, ...]
    memento_timeout: float
    memento_per_host: int
    memento_retries: int
    memento_refresh: bool  # ask again even what the store keeps an answer to
    allow_private: bool
    dead_after_failures: int | None
    dead_after: timedelta | None


@click.command("fix", context_settings=CONTEXT_SETTINGS)
@config_option(nightly_config("store"))
@history_store_option
@click.option(
    "--format",
    "form",
    type=click.Choice(["csv", "json"]),
    default="csv",
    show_default=True,
    help="csv: one row per dead citation, ranked; json: the same as a patch.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default="-",
    show_default=True,
    help="File to write, - for standard output.",
)
@click.option(
    "--patched",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write a patched copy of each article into this folder "
    "(the originals are never touched).",
)
@click.option(
    "--patch-mode",
    type=click.Choice(["beside", "replace"]),
    default="beside",
    show_default=True,
    help="beside: keep the dead link and add an 'archived copy' link after it; "
    "replace: rewrite the dead link to the replacement.",
)
@click.option(
    "--replay-base",
    metavar="URL",
    type=WebURL(relative=True),
    default="",
    help="Replay our captures at URL/TIMESTAMP/LINK (pywb, with its collection: "
    "https://archive.example.org/archive).  [default: /COLLECTION]",
)
@click.option(
    "--collection",
    type=Text(),
    default=DEFAULT_COLLECTION,
    show_default=True,
    help="pywb collection named in replay addresses without --replay-base.",
)
@click.option(
    "--priority",
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV of url,views (article URL or file): weigh articles by traffic.",
)
@click.option(
    "--memento/--no-memento",
    default=True,
    show_default=True,
    help="Ask web archives (Memento TimeGates) about dead links we hold no copy of.",
)
@click.option(
    "--memento-timegate",
    "timegates",
    metavar="URL",
    multiple=True,
    help="A TimeGate base, asked as URL + LINK (repeatable, in order).  "
    f"[default: {DEFAULT_TIMEGATE}]",
)
@click.option(
    "--memento-timeout",
    type=seconds(most=600, positive=True),
    default=20.0,
    show_default=True,
    help="Connect/read timeout for each archive request, in seconds.",
)
@click.option(
    "--memento-per-host",
    type=Whole(lowest=1, highest=16),
    default=2,
    show_default=True,
    help="Archive requests in flight at once to any one archive host.",
)
@click.option(
    "--memento-retries",
    type=Whole(lowest=1, highest=10),
    default=3,
    show_default=True,
    help="Attempts per archive request, the first included.",
)
@click.option(
    "--memento-refresh",
    is_flag=True,
    help="Ask the archives again about every link, even those whose answers "
    "the store keeps (a capture found, or nothing held, in the last "
    f"{NEGATIVE_FOR.days} days).",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let archive requests reach non-public addresses (a local archive).",
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
def fix_cmd(
    store: StoreLocation,
    form: str,
    out: Path,
    patched: Path | None,
    patch_mode: str,
    replay_base: str,
    collection: str,
    priority: Path | None,
    memento: bool,
    timegates: tuple[str, ...],
    memento_timeout: float,
    memento_per_host: int,
    memento_retries: int,
    memento_refresh: bool,
    allow_private: bool,
    dead_after_failures: int | None,
    dead_after_days: float | None,
) -> None:
    """The editor's work list: each dead link with the replacement to use.

    For every dead citation (confirmed dead, in an article not withdrawn):
    our capture nearest to and before the article's publication, else the
    nearest capture a web archive holds (Memento), else "needs research".
    Articles are ranked by their dead citations, weighted by where each sits
    (lead image and text above footers) and by how recent the article is.

    Example:

        archiver fix --replay-base https://archive.example.org/archive
        --patched fixed/ --out fixes.csv
    """
    existing_store(store)
    gates = tuple(check_timegate(gate) for gate in timegates)
    settings = FixSettings(
        store=store,
        form=form,
        out=None if str(out) == "-" else out,
        patched=patched,
        mode="replace" if patch_mode == "replace" else "beside",
        replay_base=replay_base,
        collection=collection,
        views=read_priority(priority) if priority is not None else None,
        memento=memento,
        timegates=gates or (DEFAULT_TIMEGATE,),
        memento_timeout=memento_timeout,
        memento_per_host=memento_per_host,
        memento_retries=memento_retries,
        memento_refresh=memento_refresh,
        allow_private=allow_private,
        dead_after_failures=dead_after_failures,
        dead_after=None if dead_after_days is None else timedelta(days=dead_after_days),
    )
    run(settings)


def run(settings: FixSettings) -> None:
    """Read the store, ask the archives, write the list (and the patched copies)."""
    try:
        opened = open_store(settings.store, read_only=True)
    except StoreError as exc:
        if not isinstance(settings.store, Path):
            raise  # a server that is down or refuses: a store error, as for report
        # Not a store, or one an older archiver wrote: the file given is wrong.
        raise UsageError(f"--store {exc}") from exc
    now = clock_now()
    with opened:
        data = source.read(opened)
        dead = fixlist.dead_citations(data, _options(settings, {}, now))
        asked = fixlist.questions(dead, now)
        kept: tuple[ArchiveAnswer, ...] = ()
        if settings.memento and asked and not settings.memento_refresh:
            kept = opened.memento_answers({url for url, _ in asked})
    places = {
        path: found
        for path in sorted({d.article.path for d in dead})
        if (found := _placements(Path(path))) is not None
    }
    options = _options(settings, places, now)
    findings: dict[fixlist.Question, MementoFinding] = {}
    if settings.memento and asked:
        findings, new = _ask_archives(settings, asked, kept, now)
        if new:
            _keep(settings.store, new)
    fixes = fixlist.build(dead, findings, options, memento_asked=bool(findings))
    for failure in fixes.memento_failures:
        click.echo(
            f"archiver: memento: {failure.archive}: {failure.problem}: "
            f"{failure.detail}",
            err=True,
        )
    text = render_csv(fixes) if settings.form == "csv" else render_json(fixes)
    if settings.patched is not None:
        write_patched(fixes, settings.patched, settings.mode)
    if settings.out is None:
        click.echo(text, nl=False)
        return
    try:
        replace_text(settings.out, text)
    except OSError as exc:
        raise UsageError(f"--out {settings.out}: {exc.strerror or exc}") from exc
    click.echo(str(settings.out))


def _options(
    settings: FixSettings,
    places: Mapping[str, Mapping[str, Placement]],
    now: datetime,
) -> fixlist.FixOptions:
    return fixlist.FixOptions(
        dead_after_failures=settings.dead_after_failures,
        dead_after=settings.dead_after,
        replay_base=settings.replay_base,
        collection=settings.collection,
        placements=places,
        views=settings.views,
        now=now,
    )


def _placements(path: Path) -> dict[str, Placement] | None:
    """Where each link sits in the article; None if its file cannot be read."""
    from archiver.articles.placement import placements  # bs4: not for --help

    try:
        return placements(seeds.read(path))
    except InputError:
        return None


def _ask_archives(
    settings: FixSettings,
    asked: set[fixlist.Question],
    kept: Sequence[ArchiveAnswer],
    now: datetime,
) -> tuple[dict[fixlist.Question, MementoFinding], tuple[ArchiveAnswer, ...]]:
    """Memento lookups for the links we hold no copy of: one trio run.

    Answers the store keeps, and that are still fresh, stand in for asking.
    An article with no publication time asks about ``now`` (the latest
    capture); its answer is kept as "the latest" (``wanted`` None), so the
    next run, at another ``now``, finds it. Returns the findings, and the
    new whole answers to keep.
    """
    import trio

    from archiver.crawl import memento
    from archiver.crawl.retry import RetryPolicy

    memento_settings = memento.MementoSettings(
        timegates=settings.timegates,
        timeout=settings.memento_timeout,
        per_host=settings.memento_per_host,
        retry=RetryPolicy(attempts=settings.memento_retries, base=0.5, max_wait=10),
        allow_private=settings.allow_private,
    )
    questions = {
        memento.Question(url=url, when=when): (url, when) for url, when in asked
    }
    fresh = {
        (a.archive, a.url, a.wanted): a
        for a in kept
        if a.holds or now - a.asked < NEGATIVE_FOR
    }
    known: dict[tuple[str, memento.Question], ArchiveAnswer] = {}
    for question in questions:
        wanted = None if question.when == now else question.when
        for gate in settings.timegates:
            answer = fresh.get((gate, question.url, wanted))
            if answer is not None:
                known[(gate, question)] = answer
    missing = {
        q.url for q in questions for g in settings.timegates if (g, q) not in known
    }
    if missing:
        # Archives can be slow to answer: say what is going on, on stderr.
        click.echo(
            f"archiver: asking {len(settings.timegates)} web archive(s) about "
            f"{len(missing)} dead link(s) we hold no copy of"
            + (f" ({len(known)} answer(s) kept in the store)" if known else ""),
            err=True,
        )
    else:
        click.echo(
            f"archiver: memento: every answer about {len(questions)} dead "
            "link(s) kept in the store; --memento-refresh asks again",
            err=True,
        )
    found = trio.run(memento.ask, list(questions), memento_settings, known)
    new = tuple(
        replace(a, wanted=None) if a.wanted == now else a for a in found.answers
    )
    return {questions[q]: finding for q, finding in found.findings.items()}, new


def _keep(store: StoreLocation, answers: Sequence[ArchiveAnswer]) -> None:
    """Write the archives' new answers into the store, or say why they are not.

    Only here does ``archiver fix`` write: the list is already made, so a
    store that cannot be written costs the next run its answers, not this one.
    """
    try:
        with open_store(store) as writable:
            writable.record_memento_answers(answers)
    except StoreError as exc:
        click.echo(
            f"archiver: memento: {len(answers)} answer(s) not kept in the "
            f"store (they are asked again next time): {exc}",
            err=True,
        )


def write_patched(fixes: fixlist.FixList, folder: Path, mode: str) -> None:
    """A patched copy of each article with a replacement, under ``folder``.

    The copy's path is the article's path as nightly was given it, under
    ``folder`` (an absolute one loses its root). A copy that would land on
    an original is refused before anything is written.
    """
    from archiver.articles.patch import PatchMode, patched  # bs4: not for --help

    jobs = []
    for article in fixes.articles:
        replacements = {
            row.url: row.replacement.url
            for row in article.rows
            if row.replacement.url and row.placement is not Placement.OWN_PAGE
        }
        if not replacements:
            continue
        original = Path(article.article.path)
        target = folder / copy_path(original)
        if target.resolve() == original.resolve():
            raise UsageError(f"--patched {folder}: would overwrite {original}")
        jobs.append((original, target, article.article.url, replacements))
    for original, target, url, replacements in jobs:
        try:
            text = seeds.read(original).text
        except InputError as exc:
            click.echo(f"archiver: not patched: {exc}", err=True)
            continue
        copy = patched(text, url, replacements, PatchMode(mode))
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            replace_text(target, copy.text, newline="")
        except OSError as exc:
            raise UsageError(f"--patched {folder}: {exc.strerror or exc}") from exc


def copy_path(original: PurePath) -> PurePath:
    """Where an article's copy goes below ``--patched``: its path, kept inside.

    An absolute path loses its root, and ``..`` and ``.`` parts are dropped,
    so ``../shared/a.txt`` (as nightly may have been given it) becomes
    ``shared/a.txt`` under the folder, never a file beside or above it.
    """
    parts = original.parts[1:] if original.is_absolute() else original.parts
    return PurePath(*(part for part in parts if part not in ("..", ".")))


def check_timegate(gate: str) -> str:
    """A TimeGate base: an http(s) URL with a host, to which the link is appended.

    A base given without its final ``/`` (``https://web.archive.org/web``)
    gets one, since ``.../webhttp://...`` names nothing; a query form
    (``...?url=``) is kept as given.
    """
    if not is_web_url(gate):
        raise UsageError(f"--memento-timegate {gate}: not an http(s) URL")
    return gate if gate.endswith(("/", "=")) else gate + "/"


def read_priority(path: Path) -> dict[str, int]:
    """``--priority FILE``: url,views rows (a header row is allowed).

    A URL is normalised as the store names articles' URLs; anything else in
    the first column (an article's file path) is kept as written.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as stream:
            rows = list(csv.reader(stream))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"--priority {path}: cannot read: {reason}") from exc
    views: dict[str, int] = {}
    for number, row in enumerate(rows[:MAX_PRIORITY_ROWS], start=1):
        if not row or not "".join(row).strip():
            continue
        if number == 1 and [c.strip().lower() for c in row[:2]] == ["url", "views"]:
            continue
        if len(row) < 2:
            raise UsageError(f"--priority {path}: line {number}: expected url,views")
        key, count = row[0].strip(), row[1].strip()
        if not count.isdigit():
            raise UsageError(
                f"--priority {path}: line {number}: views {count!r} "
                "is not a whole number"
            )
        url = normalise(key)
        views[url if isinstance(url, str) else key] = int(count)
    return views
