"""The editor's work list: each dead citation with the replacement to use, ranked.

Two steps, because the second may need the web and this package reads the
store only. :func:`dead_citations` finds every confirmed-dead citation by
an article not withdrawn, with our own copy where we have one: the capture
nearest to and before the article's publication (else the first after it),
as a real ``response`` record, a ``revisit`` being resolved to the response
that holds its body, so ``warcio extract FILE OFFSET`` prints the page.
:func:`questions` says which links have no copy of ours, for the caller to
ask web archives (Memento) about; :func:`build` then picks each
replacement and ranks the articles. No I/O here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from archiver.models import (
    Citation,
    LinkKind,
    MementoFailure,
    MementoFinding,
    Outcome,
    Placement,
    RecordRef,
)
from archiver.report.figures import recorded_rule
from archiver.report.model import DEFAULT_COLLECTION, Group
from archiver.report.source import StoreData
from archiver.report.timeline import LinkLife, RunIndex, fold
from archiver.store.history import Check, DeadRule, StoredArticle
from archiver.urls import normalise

# How much a dead citation weighs, by where it sits: what a reader meets
# first counts most, boilerplate hardly at all.
WEIGHTS: Final[Mapping[Placement, float]] = {
    Placement.OWN_PAGE: 3.0,
    Placement.LEAD_IMAGE: 3.0,
    Placement.IN_TEXT: 2.0,
    Placement.MEDIA: 1.0,
    Placement.FOOTER: 0.25,
}
RECENCY_HALF_LIFE_YEARS: Final = 2.0
NEAR_ENOUGH: Final = timedelta(days=30)  # a Memento this close to publication
_BY_KIND: Final = {
    LinkKind.ARTICLE: Placement.OWN_PAGE,
    LinkKind.LINK: Placement.IN_TEXT,
    LinkKind.IMAGE: Placement.MEDIA,
    LinkKind.EMBED: Placement.MEDIA,
}


class Source(StrEnum):
    """Where a replacement comes from."""

    OURS = "ours"  # a capture in our own WARC files
    MEMENTO = "memento"  # a capture a web archive holds
    NEEDS_RESEARCH = "needs-research"  # nobody has a copy we know of


class Confidence(StrEnum):
    """How sure we are the replacement shows what the article cited."""

    HIGH = "high"  # our capture from before the article was published
    MEDIUM = "medium"  # ours after publication, or an archive's near it
    LOW = "low"  # an archive's capture far from publication
    NONE = "none"  # no replacement


@dataclass(frozen=True, slots=True, kw_only=True)
class FixOptions:
    """What the fix list is asked for: the rule, replay addresses and weights."""

    dead_after_failures: int | None = None  # None: as the latest run recorded
    dead_after: timedelta | None = None
    replay_base: str = ""  # BASE/TIMESTAMP/URL; "" for /COLLECTION/TIMESTAMP/URL
    collection: str = DEFAULT_COLLECTION
    # article path -> normalised URL -> its most prominent place in the article
    placements: Mapping[str, Mapping[str, Placement]] = field(default_factory=dict)
    views: Mapping[str, int] | None = None  # article URL or path -> views
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnCopy:
    """One of our captures, as a response record that holds the page itself."""

    captured: datetime  # when we saw the page (the check's time)
    run_id: str
    warc_file: str  # relative to nightly's --out: "<run id>/<file name>"
    offset: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadCitation:
    """A dead link where one article cites it, with our best copy of it."""

    article: StoredArticle
    url: str
    citation: Citation
    life: LinkLife
    own: OwnCopy | None
    own_before: bool  # ``own`` is from before the article's publication

    @property
    def when(self) -> datetime | None:
        """The moment the replacement should show: the article's publication."""
        return self.article.published


@dataclass(frozen=True, slots=True, kw_only=True)
class Replacement:
    """What to put in place of a dead link."""

    url: str  # "" when it needs research
    captured: datetime | None
    source: Source
    confidence: Confidence
    archive: str = ""  # the TimeGate a Memento came from
    warc_file: str = ""  # our own copy's response record
    warc_offset: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadInterval:
    """When the link died, as far as anyone saw: last alive, then first dead."""

    last_alive: datetime | None
    last_alive_by: str  # "ours", an archive's TimeGate, or "" when never seen
    first_dead: datetime | None  # our first failing check of the current streak
    before_monitoring: bool  # our first check already failed: never alive to us

    def describe(self) -> str:
        """One phrase for a spreadsheet cell."""
        dead = _day(self.first_dead)
        if self.last_alive is None:
            if self.before_monitoring:
                return (
                    f"dead before monitoring began (first checked dead {dead}); "
                    "never seen alive"
                )
            return f"dead since {dead}"
        alive = _day(self.last_alive)
        who = "us" if self.last_alive_by == "ours" else self.last_alive_by
        said = f"between {alive} (last seen alive, by {who}) and {dead} (first dead)"
        return (
            f"{said}; dead before monitoring began" if self.before_monitoring else said
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class FixRow:
    """One line of the work list."""

    rank: int  # the article's place in the list, from 1
    article: StoredArticle
    url: str
    kind: str
    text: str
    placement: Placement
    weight: float
    reason: str
    http_status: int | None
    replacement: Replacement
    dead: DeadInterval
    memento_failures: tuple[MementoFailure, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFix:
    """One article's place in the list and why."""

    rank: int
    article: StoredArticle
    score: float
    views: int | None
    rows: tuple[FixRow, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class FixList:
    generated: datetime
    articles: tuple[ArticleFix, ...]
    memento_asked: bool
    memento_failures: tuple[MementoFailure, ...]

    @property
    def rows(self) -> tuple[FixRow, ...]:
        return tuple(row for article in self.articles for row in article.rows)


Question = tuple[str, datetime]  # (URL, the moment wanted)


def dead_citations(data: StoreData, options: FixOptions) -> tuple[DeadCitation, ...]:
    """Every citation of a confirmed-dead link by an article not withdrawn."""
    recorded = recorded_rule(data.runs)
    rule = DeadRule(
        failures=options.dead_after_failures or recorded.failures,
        span=recorded.span if options.dead_after is None else options.dead_after,
    )
    index: RunIndex = {run.id: (n, run.started) for n, run in enumerate(data.runs)}
    articles = {a.path: a for a in data.articles if a.withdrawn is None}
    checks: dict[str, list[Check]] = {}
    for check in data.checks:
        checks.setdefault(check.url, []).append(check)
    originals = _originals(data.checks)
    found = []
    for url in sorted(data.citations):
        life = fold(checks.get(url, ()), index, rule)
        if life is None or life.group is not Group.DEAD:
            continue
        for citation in data.citations[url]:
            article = articles.get(citation.article)
            if article is None:
                continue
            own, before = _own_copy(checks[url], originals, article.published)
            found.append(
                DeadCitation(
                    article=article,
                    url=url,
                    citation=citation,
                    life=life,
                    own=own,
                    own_before=before,
                )
            )
    return tuple(found)


def questions(dead: Iterable[DeadCitation], now: datetime) -> set[Question]:
    """What to ask web archives: links with no copy of ours, at publication time."""
    return {(d.url, d.when or now) for d in dead if d.own is None}


def build(
    dead: Sequence[DeadCitation],
    findings: Mapping[Question, MementoFinding],
    options: FixOptions,
    *,
    memento_asked: bool = False,
) -> FixList:
    """The ranked work list: articles by weighted dead citations, then rows."""
    by_article: dict[str, list[FixRow]] = {}
    for d in dead:
        finding = findings.get((d.url, d.when or options.now))
        place = options.placements.get(d.article.path, {}).get(
            d.url, _BY_KIND.get(d.citation.kind, Placement.MEDIA)
        )
        row = FixRow(
            rank=0,
            article=d.article,
            url=d.url,
            kind=str(d.citation.kind),
            text=d.citation.text,
            placement=place,
            weight=WEIGHTS[place],
            reason=d.life.last_dead.reason if d.life.last_dead else "",
            http_status=d.life.last_dead.http_status if d.life.last_dead else None,
            replacement=_replacement(d, finding, options),
            dead=_interval(d.life, finding),
            memento_failures=finding.failures if finding else (),
        )
        by_article.setdefault(d.article.path, []).append(row)
    scored = []
    for rows in by_article.values():
        article = rows[0].article
        views = _views(article, options.views)
        score = sum(r.weight for r in rows) * _recency(article.published, options.now)
        if views is not None:
            score *= 1 + math.log10(1 + views)
        scored.append((score, article, views, rows))
    scored.sort(key=lambda s: (-s[0], -len(s[3]), _newest_first(s[1]), s[1].path))
    ranked = []
    for rank, (score, article, views, rows) in enumerate(scored, start=1):
        ordered = sorted(rows, key=lambda r: (-r.weight, r.url))
        ranked.append(
            ArticleFix(
                rank=rank,
                article=article,
                score=round(score, 4),
                views=views,
                rows=tuple(replace(r, rank=rank) for r in ordered),
            )
        )
    failures = {
        (f.archive, f.problem): f
        for finding in findings.values()
        for f in finding.failures
    }
    return FixList(
        generated=options.now,
        articles=tuple(ranked),
        memento_asked=memento_asked,
        memento_failures=tuple(failures[key] for key in sorted(failures)),
    )


def replay_address(base: str, collection: str, when: datetime, url: str) -> str:
    """pywb's address of our capture: BASE/TIMESTAMP/URL."""
    stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    prefix = base.rstrip("/") if base else f"/{collection}"
    return f"{prefix}/{stamp}/{url}"


def _originals(checks: Iterable[Check]) -> dict[tuple[str, str], Check]:
    """Full responses (not revisits) by (URL, WARC-Date) and by (URL, digest)."""
    found: dict[tuple[str, str], Check] = {}
    for check in checks:
        record = check.record
        if check.outcome is not Outcome.ALIVE or record is None:
            continue
        if record.revisit_of is not None:
            continue
        if record.date:
            found.setdefault((check.url, "date:" + record.date), check)
        if record.payload_digest:
            found.setdefault((check.url, "digest:" + record.payload_digest), check)
    return found


def _resolved(
    check: Check, originals: Mapping[tuple[str, str], Check]
) -> tuple[Check, RecordRef] | None:
    """The check whose record holds the body, and that record: itself, or the
    response it revisits; None when that response is not in the store."""
    record = check.record
    if record is None:
        return None
    target = record.revisit_of
    if target is None:
        return check, record
    original = originals.get((target.uri, "date:" + target.date))
    if original is None and record.payload_digest:
        original = originals.get((target.uri, "digest:" + record.payload_digest))
    if original is None or original.record is None:
        return None
    return original, original.record


def _own_copy(
    checks: Sequence[Check],
    originals: Mapping[tuple[str, str], Check],
    published: datetime | None,
) -> tuple[OwnCopy | None, bool]:
    """Our capture nearest to and before ``published``, else the first after it."""
    usable = [
        (check, found)
        for check in sorted(checks, key=lambda c: c.checked)
        if check.outcome is Outcome.ALIVE
        and (found := _resolved(check, originals)) is not None
    ]
    if not usable:
        return None, False
    before = [pair for pair in usable if published and pair[0].checked <= published]
    check, (original, record) = before[-1] if before else usable[0]
    # The time we saw this content under this URL: the response's own check
    # when it is of the same URL, else the revisit's (pywb resolves it).
    seen = original if original.url == check.url else check
    return (
        OwnCopy(
            captured=seen.checked,
            run_id=seen.run_id,
            warc_file=f"{original.run_id}/{record.warc_file}",
            offset=record.offset,
        ),
        bool(before),
    )


def _replacement(
    d: DeadCitation, finding: MementoFinding | None, options: FixOptions
) -> Replacement:
    if d.own is not None:
        return Replacement(
            url=replay_address(
                options.replay_base, options.collection, d.own.captured, d.url
            ),
            captured=d.own.captured,
            source=Source.OURS,
            confidence=Confidence.HIGH if d.own_before else Confidence.MEDIUM,
            warc_file=d.own.warc_file,
            warc_offset=d.own.offset,
        )
    when = d.when or options.now
    candidates = (finding.nearest, finding.last_alive) if finding else ()
    alive = [
        m
        for m in candidates
        if m is not None and m.status is not None and 200 <= m.status < 300
    ]
    if alive:
        best = min(alive, key=lambda m: abs(m.captured - when))
        near = d.when is not None and abs(best.captured - when) <= NEAR_ENOUGH
        return Replacement(
            url=best.url,
            captured=best.captured,
            source=Source.MEMENTO,
            confidence=Confidence.MEDIUM if near else Confidence.LOW,
            archive=best.archive,
        )
    return Replacement(
        url="", captured=None, source=Source.NEEDS_RESEARCH, confidence=Confidence.NONE
    )


def _interval(life: LinkLife, finding: MementoFinding | None) -> DeadInterval:
    ours = life.streak.last_alive
    theirs = finding.last_alive if finding is not None else None
    last, by = ours, "ours" if ours is not None else ""
    if theirs is not None and (last is None or theirs.captured > last):
        last, by = theirs.captured, theirs.archive
    return DeadInterval(
        last_alive=last,
        last_alive_by=by,
        first_dead=life.streak.failing_since,
        before_monitoring=ours is None,
    )


def _recency(published: datetime | None, now: datetime) -> float:
    """1 for an article published today, halving towards 0.5 every two years."""
    if published is None:
        return 0.5
    years = max((now - published).total_seconds(), 0.0) / (365.25 * 86400)
    return 0.5 + 0.5 * math.pow(0.5, years / RECENCY_HALF_LIFE_YEARS)


def _newest_first(article: StoredArticle) -> float:
    return -article.published.timestamp() if article.published else math.inf


def _views(article: StoredArticle, views: Mapping[str, int] | None) -> int | None:
    if views is None:
        return None
    url = normalise(article.url) if article.url else None
    for key in (url, article.url, article.path):
        if isinstance(key, str) and key in views:
            return views[key]
    return 0


def _day(when: datetime | None) -> str:
    return when.astimezone(UTC).date().isoformat() if when else "unknown"
