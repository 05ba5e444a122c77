"""The report's lists: each article's dead and unsettled citations, and drift.

For every row, where the last good copy is (run folder, WARC file, offset)
and the address pywb replays it at, ready to paste into the article.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

from archiver.models import Citation
from archiver.report.model import (
    ArticleFigures,
    Copy,
    Counts,
    DeadCitation,
    Drift,
    Group,
    OpenCitation,
    ReportOptions,
)
from archiver.report.timeline import LinkLife, RunIndex
from archiver.store.history import Check, StoredArticle

_UNSETTLED: Final = frozenset({Group.SUSPECT, Group.BLOCKED, Group.INCONCLUSIVE})


def replay_address(base: str, collection: str, when: datetime, url: str) -> str:
    """pywb's address of the capture of ``url`` closest to ``when``."""
    stamp = when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return f"{base.rstrip('/')}/{collection}/{stamp}/{url}"


def copy_of(check: Check | None, options: ReportOptions) -> Copy | None:
    if check is None or check.record is None:
        return None
    return Copy(
        checked=check.checked,
        run_id=check.run_id,
        warc_file=f"{check.run_id}/{check.record.warc_file}",
        offset=check.record.offset,
        replay=replay_address(
            options.replay_base, options.collection, check.checked, check.url
        ),
    )


def _since(run_id: str | None, index: RunIndex, since: datetime | None) -> bool:
    """The run is on or after ``since`` (always, without a ``since``)."""
    if since is None:
        return True
    return run_id is not None and run_id in index and index[run_id][1] >= since


def article(
    article: StoredArticle,
    pairs: list[tuple[str, Citation]],
    lives: Mapping[str, LinkLife],
    index: RunIndex,
    options: ReportOptions,
) -> ArticleFigures:
    urls = {url for url, _ in pairs}
    dead = []
    for url, citation in sorted(pairs, key=lambda pair: pair[0]):
        life = lives[url]
        last = life.last_dead
        if life.group is not Group.DEAD or last is None:
            continue
        if not _since(life.dead_since_run, index, options.filters.since):
            continue
        dead.append(
            DeadCitation(
                article=article.path,
                article_title=article.title,
                article_url=article.url,
                published=article.published,
                url=url,
                kind=str(citation.kind),
                text=citation.text,
                outcome=str(last.outcome),
                reason=last.reason,
                detail=last.detail,
                http_status=last.http_status,
                dead_since=life.streak.failing_since,
                dead_since_run=life.dead_since_run,
                failures=life.streak.failures,
                last_checked=life.streak.checked,
                last_good=copy_of(life.last_copy, options),
            )
        )
    unsettled = [
        OpenCitation(
            article=article.path,
            article_title=article.title,
            article_url=article.url,
            url=url,
            kind=str(citation.kind),
            text=citation.text,
            group=str(life.group),
            outcome=str(life.latest.outcome),
            reason=life.latest.reason,
            detail=life.latest.detail,
            http_status=life.latest.http_status,
            failing_since=life.streak.failing_since,
            failures=life.streak.failures,
            last_checked=life.latest.checked,
            last_good=copy_of(life.last_copy, options),
        )
        for url, citation in sorted(pairs, key=lambda pair: pair[0])
        if (life := lives[url]).group in _UNSETTLED
    ]
    return ArticleFigures(
        path=article.path,
        title=article.title,
        url=article.url,
        published=article.published,
        counts=Counts.of(lives[url].group for url in urls),
        drifted=sum(1 for url in urls if lives[url].drifted),
        dead=tuple(dead),
        unsettled=tuple(unsettled),
    )


def drift(
    lives: Mapping[str, LinkLife],
    cited: Mapping[str, tuple[Citation, ...]],
    index: RunIndex,
    options: ReportOptions,
) -> tuple[Drift, ...]:
    found = []
    for url in sorted(lives):
        life = lives[url]
        first = copy_of(life.baseline, options)
        latest = copy_of(life.last_copy, options)
        since, compared = life.current_since, life.compared
        if not life.drifted or first is None or latest is None or since is None:
            continue
        if compared is None:  # pragma: no cover - drifted implies a baseline
            continue
        if not _since(since.run_id, index, options.filters.since):
            continue
        found.append(
            Drift(
                url=url,
                articles=tuple(sorted({c.article for c in cited[url]})),
                first=first,
                latest=latest,
                versions=life.versions,
                changed=since.checked,
                changed_run=since.run_id,
                compared=str(compared),
            )
        )
    return tuple(found)
