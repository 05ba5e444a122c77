"""What a link-rot report says, as frozen values: figures only, no formatting.

Also :class:`ReportOptions`, what a report is asked for.

:func:`archiver.report.figures.build` computes a :class:`Report` from the
store's history; each format module (``json_``, ``csv_``, ``markdown``,
``html``) only lays one out. The definitions of the figures are written down
in the README ("archiver report") and must change with the code here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from archiver.report.stats import Proportion
from archiver.store.history import DeadRule

DEFAULT_COLLECTION = "archive"


class Group(StrEnum):
    """Where a report puts a link now; every checked link is in exactly one group.

    ``DEAD`` and ``SUSPECT`` are the store's verdicts; the others go by the
    latest check, so a page that answered once and has hidden behind a bot
    wall since counts as blocked, not as alive.
    """

    ALIVE = "alive"
    DEAD = "dead"  # confirmed: failed K checks over D days (the store's rule)
    SUSPECT = "suspect"  # failing, not yet for long enough
    BLOCKED = "blocked"  # latest check blocked (401, 403, 451, a bot wall ...)
    INCONCLUSIVE = "inconclusive"  # latest check an error (timeout, 5xx ...)


# Iterating an Enum is slow, and counts are made once per article and row.
_GROUPS: Final = tuple(Group)
_GROUP_NAMES: Final = tuple((group, str(group)) for group in Group)


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """How many distinct links are in each group."""

    alive: int = 0
    dead: int = 0
    suspect: int = 0
    blocked: int = 0
    inconclusive: int = 0

    @classmethod
    def of(cls, groups: Iterable[Group]) -> Counts:
        tally = dict.fromkeys(_GROUPS, 0)
        for group in groups:
            tally[group] += 1
        return cls(**{name: tally[group] for group, name in _GROUP_NAMES})

    @property
    def checked(self) -> int:
        return self.alive + self.dead + self.suspect + self.blocked + self.inconclusive

    @property
    def unsure(self) -> int:
        """Blocked or inconclusive: links we cannot currently vouch for either way."""
        return self.blocked + self.inconclusive

    @property
    def dead_share(self) -> float | None:
        return share(self.dead, self.checked)

    @property
    def unsure_share(self) -> float | None:
        return share(self.unsure, self.checked)


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide (not 0 %)."""
    return part / whole if whole else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy:
    """An archived response: where it is on disk and how to replay it."""

    checked: datetime  # the check that captured it
    run_id: str
    warc_file: str  # relative to nightly's --out folder: "<run id>/<file name>"
    offset: int
    replay: str  # "<base>/<collection>/<14-digit timestamp>/<url>" (pywb)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadCitation:
    """One place where an article cites a dead link: one row for an editor."""

    article: str
    article_title: str
    article_url: str | None
    published: datetime | None
    url: str
    kind: str
    text: str  # anchor or alt text
    outcome: str  # of the latest check that found it dead
    reason: str
    detail: str
    http_status: int | None
    dead_since: datetime | None  # first failing check of the current streak
    dead_since_run: str | None
    failures: int
    last_checked: datetime
    last_good: Copy | None  # the newest capture from when it was alive


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenCitation:
    """A citation of a link neither alive nor dead: suspect, blocked or inconclusive.

    Listed so that a bot wall in front of a deleted post, or a link failing
    towards death, is seen before it is confirmed, not only counted.
    """

    article: str
    article_title: str
    article_url: str | None
    url: str
    kind: str  # link, image, embed, own page ...
    text: str
    group: str  # suspect, blocked or inconclusive
    outcome: str  # of the latest check
    reason: str
    detail: str
    http_status: int | None
    failing_since: datetime | None  # first failing check of the current streak
    failures: int
    last_checked: datetime
    last_good: Copy | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleFigures:
    """One article: the state of its links, and its dead citations."""

    path: str
    title: str
    url: str | None
    published: datetime | None
    counts: Counts
    drifted: int
    dead: tuple[DeadCitation, ...]
    unsettled: tuple[OpenCitation, ...] = ()  # suspect, blocked, inconclusive


@dataclass(frozen=True, slots=True, kw_only=True)
class RotRow:
    """Links grouped by article year or by cited domain."""

    key: str  # a year ("2015"), "unknown", or a host name
    counts: Counts


@dataclass(frozen=True, slots=True, kw_only=True)
class RunPoint:
    """The state of the links just after one run."""

    run_id: str
    started: datetime
    status: str
    conclusive: bool | None
    checks: int  # checks this run recorded, of links in the report
    counts: Counts
    newly_dead: int  # links this run confirmed dead
    revived: int  # confirmed dead links this run found alive again
    # Links no article cited any more from this run on: fixed when they were
    # dead or suspect then, else removed (alive, or their articles withdrawn).
    fixed: int = 0
    removed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Drift:
    """A link alive now whose content differs from its first compared capture.

    An HTML page is compared by its main text, anything else by its bytes
    (``compared``: "main-text" or "payload", archiver.store.history.Basis).
    """

    url: str
    articles: tuple[str, ...]
    first: Copy  # the first capture compared (on the basis ``compared``)
    latest: Copy
    versions: int  # distinct contents captured
    changed: datetime  # the check that captured the current content first
    changed_run: str
    compared: str = "payload"


@dataclass(frozen=True, slots=True, kw_only=True)
class Headline:
    counts: Counts
    articles: int  # articles with at least one checked link
    articles_with_dead: int
    drifted: int
    window: tuple[str, ...]  # the runs "newly dead" and "revived" look at
    newly_dead: tuple[str, ...]
    revived: tuple[str, ...]
    withdrawn_articles: int = 0  # files gone from the inputs: not counted above
    fixed: int = 0  # dead or suspect links editors took out, over the trend's runs

    @property
    def articles_with_dead_share(self) -> float | None:
        return share(self.articles_with_dead, self.articles)


UNCHECKED = "unchecked"  # a link's group in the export before its first check


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkRecord:
    """One link as one article cites it (one kind): a row of the per-link export.

    Every link in scope, checked or not, so that anyone can recount the
    research figures with denominators of their own choosing.
    """

    article: str
    article_url: str | None
    published: datetime | None
    url: str
    kind: str  # article (its own page), link, image, embed
    group: str  # a Group, or UNCHECKED
    verdict: str  # the store's verdict under the report's rule; "" if unchecked
    outcome: str  # of the latest check; "" if unchecked
    reason: str
    http_status: int | None
    dead_reason: str  # dead or suspect: the latest check that found it dead
    checks: int
    first_checked: datetime | None
    last_checked: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadShare:
    """Dead links among some distinct links, over two denominators.

    ``checked``: dead ÷ links checked at least once (blocked, inconclusive
    and suspect links count as not dead). ``settled``: dead ÷ links alive or
    dead now (the unsure left out). The truth for the unsure lies between.
    """

    key: str
    cited: int  # distinct links cited, checked or not
    checked: Proportion
    settled: Proportion


@dataclass(frozen=True, slots=True, kw_only=True)
class YearShare:
    """Articles of one publication year with at least one dead outbound link."""

    key: str  # a year ("2015") or "unknown"
    articles: int  # articles citing at least one outbound link
    with_dead: Proportion  # of articles with at least one checked outbound link


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonShare:
    """Dead links whose latest dead check gave one reason (``http-404`` ...)."""

    reason: str
    of_dead: Proportion  # of every dead link
    of_checked: Proportion  # of every link checked


@dataclass(frozen=True, slots=True, kw_only=True)
class Research:
    """Figures with n and 95 % Wilson intervals, as in Pew Research Center (2024).

    "When Online Content Disappears": our own article pages apart from the
    links they cite, articles with a dead link by year, and dead shares by
    kind and by reason. Computed from the per-link export alone.
    """

    own_pages: DeadShare
    outbound: DeadShare  # links, images and embeds: what articles cite
    by_kind: tuple[DeadShare, ...]
    by_year: tuple[YearShare, ...]
    by_reason: tuple[ReasonShare, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Filters:
    """What the report is limited to; empty means everything."""

    since: datetime | None = None
    domains: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    generated: datetime
    store: str
    rule: DeadRule
    filters: Filters
    collection: str
    replay_base: str
    headline: Headline
    trend: tuple[RunPoint, ...]
    by_year: tuple[RotRow, ...]
    by_domain: tuple[RotRow, ...]
    articles: tuple[ArticleFigures, ...]
    research: Research
    links: tuple[LinkRecord, ...]  # every link in scope, for the export
    drift: tuple[Drift, ...] = field(default=())

    @property
    def dead_citations(self) -> tuple[DeadCitation, ...]:
        return tuple(row for article in self.articles for row in article.dead)

    @property
    def unsettled_citations(self) -> tuple[OpenCitation, ...]:
        return tuple(row for article in self.articles for row in article.unsettled)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportOptions:
    """How to make a report: its filters, rule and replay addresses."""

    filters: Filters = field(default_factory=Filters)
    # The dead rule's parts; None takes the part the latest run recorded.
    dead_after_failures: int | None = None
    dead_after: timedelta | None = None
    collection: str = DEFAULT_COLLECTION
    replay_base: str = ""  # e.g. "https://archive.example.org"; "" for a path
    store: str = ""  # how the store is named in the report
    generated: datetime | None = None  # None: now
