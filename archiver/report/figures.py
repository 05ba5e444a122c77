"""The report's figures, computed from the store's history: no I/O, no formatting.

Scope first: the articles the filters keep, and the links they cite now (on
the domains kept). Each of those links' checks is folded run by run
(:mod:`.timeline`); every figure is then a count over the folded links. The
README ("archiver report") defines each figure; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from urllib.parse import urlsplit

from archiver.clock import now as clock_now
from archiver.models import Citation
from archiver.report import listing, research
from archiver.report.model import (
    ArticleFigures,
    Counts,
    Group,
    Headline,
    Report,
    ReportOptions,
    RotRow,
    RunPoint,
)
from archiver.report.source import StoreData
from archiver.report.timeline import (
    LinkLife,
    RunIndex,
    Spell,
    each_night,
    fold,
    night_of,
)
from archiver.store.history import (
    DEFAULT_RULE,
    Check,
    CitationSpan,
    DeadRule,
    Run,
    StoredArticle,
)

UNKNOWN_YEAR = "unknown"

# The URLs of the report's scope, folded: :func:`archiver.report.marks.lives`.
LifeSource = Callable[[Collection[str], RunIndex, DeadRule], dict[str, LinkLife]]


def build(
    data: StoreData, options: ReportOptions, lives_of: LifeSource | None = None
) -> Report:
    """Every figure of the report, for the links and runs the filters keep.

    ``lives_of`` folds the links in scope (reading their checks from the
    store); without it they are folded from ``data.checks``, the whole
    history in memory, which is how the tests check the two agree.
    """
    filters = options.filters
    recorded = recorded_rule(data.runs)
    rule = DeadRule(
        failures=options.dead_after_failures or recorded.failures,
        span=recorded.span if options.dead_after is None else options.dead_after,
    )
    runs = data.runs
    index: RunIndex = {run.id: (n, run.started) for n, run in enumerate(runs)}
    wanted = [a for a in data.articles if _wanted(a.path, filters.articles)]
    # A withdrawn article (its file gone from the inputs) is no longer cited.
    articles = {a.path: a for a in wanted if a.withdrawn is None}
    withdrawn = len(wanted) - len(articles)
    cited = _cited(data.citations, articles, filters.domains)
    spells = _spells(data.spans, {a.path: a for a in wanted}, runs, filters.domains)
    if lives_of is not None:
        ever = lives_of(cited.keys() | spells.keys(), index, rule)
    else:
        ever = _fold_all(data.checks, cited.keys() | spells.keys(), index, rule)
    lives = {url: life for url, life in ever.items() if url in cited}
    by_article: dict[str, list[tuple[str, Citation]]] = {}
    for url, citations in cited.items():
        if url in lives:
            for citation in citations:
                by_article.setdefault(citation.article, []).append((url, citation))
    figures = tuple(
        listing.article(articles[path], by_article[path], lives, index, options)
        for path in sorted(by_article)
    )
    window = _window(runs, filters.since)
    links = research.records(articles, cited, lives)
    trend = _trend(ever, spells, runs, filters.since)
    return Report(
        generated=options.generated or clock_now(),
        store=options.store,
        rule=rule,
        filters=filters,
        collection=options.collection,
        replay_base=options.replay_base,
        headline=replace(
            _headline(lives, figures, runs, window),
            withdrawn_articles=withdrawn,
            fixed=sum(point.fixed for point in trend),
        ),
        trend=trend,
        by_year=_by_year(articles, by_article, lives),
        by_domain=_by_domain(lives),
        articles=figures,
        research=research.figures(links),
        links=links,
        drift=listing.drift(lives, cited, index, options),
    )


def _fold_all(
    every: Iterable[Check], urls: Collection[str], index: RunIndex, rule: DeadRule
) -> dict[str, LinkLife]:
    checks: dict[str, list[Check]] = {}
    for check in every:
        if check.url in urls:
            checks.setdefault(check.url, []).append(check)
    return {
        url: life
        for url, history in checks.items()
        if (life := fold(history, index, rule)) is not None
    }


def recorded_rule(runs: Iterable[Run]) -> DeadRule:
    """The dead rule the latest run recorded in its options; else the default."""
    for run in reversed(tuple(runs)):
        failures = run.options.get("dead_after_failures")
        days = run.options.get("dead_after_days")
        if isinstance(failures, int) and isinstance(days, int | float):
            return DeadRule(failures=failures, span=timedelta(days=days))
    return DEFAULT_RULE


def host_of(url: str) -> str:
    """The host name a link points at, lower case, without port."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _wanted(path: str, wanted: tuple[str, ...]) -> bool:
    """The article is named by a filter: the same path, a folder or a tail of it."""
    if not wanted:
        return True
    parts = PurePath(path).parts
    for name in wanted:
        given = PurePath(name).parts
        if given and (parts[: len(given)] == given or parts[-len(given) :] == given):
            return True
    return False


def _domain_wanted(host: str, domains: tuple[str, ...]) -> bool:
    """A host is kept when it is a filter's domain or one of its subdomains."""
    if not domains:
        return True
    for domain in domains:
        domain = domain.lower().removeprefix("*.").strip(".")
        if host == domain or host.endswith("." + domain):
            return True
    return False


def _cited(
    citations: Mapping[str, tuple[Citation, ...]],
    articles: Mapping[str, StoredArticle],
    domains: tuple[str, ...],
) -> dict[str, tuple[Citation, ...]]:
    """Links in scope, each with its citations by articles in scope."""
    found = {}
    for url, every in citations.items():
        if domains and not _domain_wanted(host_of(url), domains):
            continue
        kept = tuple(c for c in every if c.article in articles)
        if kept:
            found[url] = kept
    return found


def _spells(
    spans: Iterable[CitationSpan],
    articles: Mapping[str, StoredArticle],
    runs: tuple[Run, ...],
    domains: tuple[str, ...],
) -> dict[str, list[Spell]]:
    """Each link in scope, with the runs in which an article in scope cited it.

    From what the store recorded (each citation's added and removed times),
    not from what is cited today, so the trend's past nights stay as they
    were printed. An article stops citing on the night its file was found
    gone, without that being a fix, and cites again from the night it came
    back (each absence is kept, so a later report counts the same nights).
    """
    starts = [run.started for run in runs]
    found: dict[str, list[Spell]] = {}
    for span in spans:
        source = articles.get(span.article)
        if source is None or (
            domains and not _domain_wanted(host_of(span.url), domains)
        ):
            continue
        for start, end, dropped in _present(span, source.away):
            found.setdefault(span.url, []).append(
                Spell(
                    start=night_of(start, starts),
                    end=None if end is None else night_of(end, starts),
                    dropped=dropped,
                )
            )
    return found


def _present(
    span: CitationSpan, away: tuple[tuple[datetime, datetime | None], ...]
) -> list[tuple[datetime, datetime | None, bool]]:
    """The stretches of ``span`` its article was there: (from, until, dropped).

    A stretch cut short by the article's absence is not dropped (not a fix);
    only the one ending where the citation itself was removed is.
    """
    stretches: list[tuple[datetime, datetime | None, bool]] = []
    start: datetime | None = span.added
    end = span.removed
    for gone, back in sorted(away):
        if start is None or (end is not None and gone >= end):
            break
        if back is not None and back <= start:
            continue  # an absence over before this citation began
        if gone > start:
            stretches.append((start, gone, False))
        start = back if back is None or back > start else start
    if start is not None and (end is None or start < end):
        stretches.append((start, end, True))
    return stretches


def _window(runs: tuple[Run, ...], since: datetime | None) -> frozenset[int]:
    """The runs whose changes are "new": those since ``since``, else the last."""
    if since is not None:
        return frozenset(n for n, run in enumerate(runs) if run.started >= since)
    return frozenset({len(runs) - 1}) if runs else frozenset()


def _headline(
    lives: Mapping[str, LinkLife],
    articles: tuple[ArticleFigures, ...],
    runs: tuple[Run, ...],
    window: frozenset[int],
) -> Headline:
    newly_dead = [
        url
        for url, life in lives.items()
        if life.group is Group.DEAD and life.confirmed_dead_in[-1] in window
    ]
    revived = [
        url
        for url, life in lives.items()
        if life.revived_in
        and life.revived_in[-1] in window
        and not (
            life.confirmed_dead_in and life.confirmed_dead_in[-1] > life.revived_in[-1]
        )
    ]
    return Headline(
        counts=Counts.of(life.group for life in lives.values()),
        articles=sum(1 for a in articles if a.counts.checked),
        articles_with_dead=sum(1 for a in articles if a.counts.dead),
        drifted=sum(1 for life in lives.values() if life.drifted),
        window=tuple(runs[n].id for n in sorted(window)),
        newly_dead=tuple(sorted(newly_dead)),
        revived=tuple(sorted(revived)),
    )


def _trend(
    lives: Mapping[str, LinkLife],
    spells: Mapping[str, list[Spell]],
    runs: tuple[Run, ...],
    since: datetime | None,
) -> tuple[RunPoint, ...]:
    nights = each_night(lives, spells, len(runs))
    return tuple(
        RunPoint(
            run_id=run.id,
            started=run.started,
            status=str(run.status),
            conclusive=run.conclusive,
            checks=nights.checks[n],
            counts=nights.counts[n],
            newly_dead=nights.newly_dead[n],
            revived=nights.revived[n],
            fixed=nights.fixed[n],
            removed=nights.removed[n],
        )
        for n, run in enumerate(runs)
        if since is None or run.started >= since
    )


def _rows(
    groups: Mapping[str, set[str]], lives: Mapping[str, LinkLife]
) -> list[RotRow]:
    return [
        RotRow(key=key, counts=Counts.of(lives[url].group for url in urls))
        for key, urls in groups.items()
    ]


def _by_year(
    articles: Mapping[str, StoredArticle],
    by_article: Mapping[str, list[tuple[str, Citation]]],
    lives: Mapping[str, LinkLife],
) -> tuple[RotRow, ...]:
    """Each link counts once in each year in which an article cites it."""
    years: dict[str, set[str]] = {}
    for path, pairs in by_article.items():
        published = articles[path].published
        key = str(published.astimezone(UTC).year) if published else UNKNOWN_YEAR
        years.setdefault(key, set()).update(url for url, _ in pairs)
    rows = _rows(years, lives)
    return tuple(sorted(rows, key=lambda r: (r.key == UNKNOWN_YEAR, r.key)))


def _by_domain(lives: Mapping[str, LinkLife]) -> tuple[RotRow, ...]:
    """Most dead links first, then most links, then by name."""
    hosts: dict[str, set[str]] = {}
    for url in lives:
        hosts.setdefault(host_of(url), set()).add(url)
    rows = _rows(hosts, lives)
    return tuple(sorted(rows, key=lambda r: (-r.counts.dead, -r.counts.checked, r.key)))
