"""Research-grade figures: shares with n and 95 % intervals, and their raw rows.

Modelled on Pew Research Center (2024), "When Online Content Disappears":
how many of our own article pages are gone, apart from the links they cite;
how many articles of each publication year cite at least one dead link; and
the dead share by kind of link and by reason. Every share is given as k of
n with a Wilson score interval (:mod:`.stats`), over denominators the README
defines ("Research figures").

:func:`records` lays every link in scope out as rows (the ``links-csv``
export) and :func:`figures` computes every figure from those rows alone, so
what the report prints can be recounted from what it exports. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC

from archiver.models import KIND_PRIORITY, Citation, LinkKind
from archiver.report.model import (
    UNCHECKED,
    DeadShare,
    Group,
    LinkRecord,
    ReasonShare,
    Research,
    YearShare,
)
from archiver.report.stats import Proportion
from archiver.report.timeline import LinkLife
from archiver.store.history import StoredArticle

UNKNOWN_YEAR = "unknown"
OUTBOUND = "outbound"  # the key of the links, images and embeds together
_SETTLED = frozenset({str(Group.ALIVE), str(Group.DEAD)})
_FAILING = frozenset({Group.DEAD, Group.SUSPECT})


def records(
    articles: Mapping[str, StoredArticle],
    cited: Mapping[str, tuple[Citation, ...]],
    lives: Mapping[str, LinkLife],
) -> tuple[LinkRecord, ...]:
    """One row per article, link and kind in scope, by article, link and kind.

    A link an article cites twice the same way (two anchors) is one row; as a
    link and as an image, two.
    """
    keys = {
        (c.article, url, str(c.kind)) for url, every in cited.items() for c in every
    }
    rows = []
    for path, url, kind in sorted(keys):
        article = articles[path]
        life = lives.get(url)
        dead = life.last_dead if life is not None and life.group in _FAILING else None
        rows.append(
            LinkRecord(
                article=path,
                article_url=article.url,
                published=article.published,
                url=url,
                kind=kind,
                group=UNCHECKED if life is None else str(life.group),
                verdict="" if life is None else str(life.verdict),
                outcome="" if life is None else str(life.latest.outcome),
                reason="" if life is None else life.latest.reason,
                http_status=None if life is None else life.latest.http_status,
                dead_reason="" if dead is None else dead.reason,
                checks=0 if life is None else life.checks,
                first_checked=None if life is None else life.first_checked,
                last_checked=None if life is None else life.latest.checked,
            )
        )
    return tuple(rows)


def dead_share(key: str, groups: Mapping[str, str]) -> DeadShare:
    """The dead share of distinct links, given each one's group."""
    checked = [g for g in groups.values() if g != UNCHECKED]
    settled = [g for g in checked if g in _SETTLED]
    dead = sum(1 for g in checked if g == Group.DEAD)
    return DeadShare(
        key=key,
        cited=len(groups),
        checked=Proportion(dead, len(checked)),
        settled=Proportion(dead, len(settled)),
    )


def figures(rows: Iterable[LinkRecord]) -> Research:
    """Every research figure, from the export's rows alone."""
    rows = tuple(rows)
    by_kind: dict[str, dict[str, str]] = {str(kind): {} for kind in KIND_PRIORITY}
    every: dict[str, str] = {}
    outbound: dict[str, str] = {}
    dead_reason: dict[str, str] = {}
    for row in rows:
        by_kind.setdefault(row.kind, {})[row.url] = row.group
        every[row.url] = row.group
        if row.kind != LinkKind.ARTICLE:
            outbound[row.url] = row.group
        if row.group == Group.DEAD:
            dead_reason[row.url] = row.dead_reason
    checked = sum(1 for g in every.values() if g != UNCHECKED)
    dead = len(dead_reason)
    reasons = Counter(dead_reason.values())
    return Research(
        own_pages=dead_share(str(LinkKind.ARTICLE), by_kind[LinkKind.ARTICLE]),
        outbound=dead_share(OUTBOUND, outbound),
        by_kind=tuple(dead_share(kind, urls) for kind, urls in by_kind.items()),
        by_year=_by_year(rows),
        by_reason=tuple(
            ReasonShare(
                reason=reason,
                of_dead=Proportion(n, dead),
                of_checked=Proportion(n, checked),
            )
            for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    )


def _by_year(rows: tuple[LinkRecord, ...]) -> tuple[YearShare, ...]:
    """Per publication year (UTC): articles with a dead outbound link.

    The article's own page is left out: an article whose page is gone is
    counted by ``own_pages``, and here only what it cites counts.
    """
    years: dict[str, str] = {}
    checked: set[str] = set()
    with_dead: set[str] = set()
    for row in rows:
        if row.kind == LinkKind.ARTICLE:
            continue
        published = row.published
        years[row.article] = (
            str(published.astimezone(UTC).year) if published else UNKNOWN_YEAR
        )
        if row.group != UNCHECKED:
            checked.add(row.article)
        if row.group == Group.DEAD:
            with_dead.add(row.article)
    found = []
    for year in sorted(set(years.values()), key=lambda y: (y == UNKNOWN_YEAR, y)):
        mine = {a for a, y in years.items() if y == year}
        found.append(
            YearShare(
                key=year,
                articles=len(mine),
                with_dead=Proportion(len(mine & with_dead), len(mine & checked)),
            )
        )
    return tuple(found)
