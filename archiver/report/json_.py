"""The report as JSON: a stable schema for scripts (documented in the README).

Keys are always present (``null`` when there is no value) and keep this order;
``schema`` is raised only when a key changes meaning or goes away, never when
one is added.
"""

from __future__ import annotations

import json

from archiver.report.model import (
    ArticleFigures,
    Copy,
    Counts,
    DeadCitation,
    DeadShare,
    Drift,
    OpenCitation,
    Report,
    Research,
    RotRow,
    RunPoint,
)
from archiver.report.stats import CONFIDENCE, Proportion
from archiver.report.words import days, iso, ratio

SCHEMA = 1

Json = dict[str, object]


def render(report: Report) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=False) + "\n"


def document(report: Report) -> Json:
    head = report.headline
    return {
        "schema": SCHEMA,
        "generated": iso(report.generated),
        "store": report.store,
        "rule": {
            "dead_after_failures": report.rule.failures,
            "dead_after_days": days(report.rule.span),
        },
        "filters": {
            "since": iso(report.filters.since),
            "domain": list(report.filters.domains),
            "article": list(report.filters.articles),
        },
        "replay": {"collection": report.collection, "base": report.replay_base},
        "headline": {
            **counts(head.counts),
            "blocked_or_inconclusive_share": ratio(head.counts.unsure_share),
            "articles": head.articles,
            "articles_with_dead": head.articles_with_dead,
            "articles_with_dead_share": ratio(head.articles_with_dead_share),
            "withdrawn_articles": head.withdrawn_articles,
            "fixed": head.fixed,
            "drifted": head.drifted,
            "window": list(head.window),
            "newly_dead": list(head.newly_dead),
            "revived": list(head.revived),
        },
        "trend": [run(point) for point in report.trend],
        "by_year": [rot(row, "year") for row in report.by_year],
        "by_domain": [rot(row, "domain") for row in report.by_domain],
        "articles": [article(a) for a in report.articles],
        "drift": [drift(d) for d in report.drift],
        "research": research(report.research),
    }


def counts(c: Counts) -> Json:
    return {
        "links_checked": c.checked,
        "alive": c.alive,
        "dead": c.dead,
        "suspect": c.suspect,
        "blocked": c.blocked,
        "inconclusive": c.inconclusive,
        "dead_share": ratio(c.dead_share),
    }


def run(point: RunPoint) -> Json:
    return {
        "run": point.run_id,
        "started": iso(point.started),
        "status": point.status,
        "conclusive": point.conclusive,
        "checks": point.checks,
        **counts(point.counts),
        "newly_dead": point.newly_dead,
        "revived": point.revived,
        "fixed": point.fixed,
        "removed": point.removed,
    }


def rot(row: RotRow, name: str) -> Json:
    key: object = row.key
    if name == "year":
        key = int(row.key) if row.key.isdigit() else None
    return {name: key, **counts(row.counts)}


def copy(c: Copy | None) -> Json | None:
    if c is None:
        return None
    return {
        "time": iso(c.checked),
        "run": c.run_id,
        "warc_file": c.warc_file,
        "offset": c.offset,
        "replay": c.replay,
    }


def dead_link(d: DeadCitation) -> Json:
    return {
        "url": d.url,
        "kind": d.kind,
        "text": d.text,
        "outcome": d.outcome,
        "reason": d.reason,
        "detail": d.detail,
        "http_status": d.http_status,
        "dead_since": iso(d.dead_since),
        "dead_since_run": d.dead_since_run,
        "failures": d.failures,
        "last_checked": iso(d.last_checked),
        "last_good": copy(d.last_good),
    }


def open_link(o: OpenCitation) -> Json:
    return {
        "url": o.url,
        "kind": o.kind,
        "text": o.text,
        "group": o.group,
        "outcome": o.outcome,
        "reason": o.reason,
        "detail": o.detail,
        "http_status": o.http_status,
        "failing_since": iso(o.failing_since),
        "failures": o.failures,
        "last_checked": iso(o.last_checked),
        "last_good": copy(o.last_good),
    }


def article(a: ArticleFigures) -> Json:
    return {
        "path": a.path,
        "title": a.title,
        "url": a.url,
        "published": iso(a.published),
        **counts(a.counts),
        "drifted": a.drifted,
        "dead_links": [dead_link(d) for d in a.dead],
        "unsettled_links": [open_link(o) for o in a.unsettled],
    }


def drift(d: Drift) -> Json:
    return {
        "url": d.url,
        "articles": list(d.articles),
        "versions": d.versions,
        "changed": iso(d.changed),
        "changed_run": d.changed_run,
        "compared": d.compared,
        "first_capture": copy(d.first),
        "latest_capture": copy(d.latest),
    }


def proportion(p: Proportion) -> Json:
    interval = p.interval
    return {
        "k": p.k,
        "n": p.n,
        "share": ratio(p.share),
        "ci_low": None if interval is None else ratio(interval[0]),
        "ci_high": None if interval is None else ratio(interval[1]),
    }


def dead_share(d: DeadShare) -> Json:
    return {
        "cited": d.cited,
        "dead_of_checked": proportion(d.checked),
        "dead_of_settled": proportion(d.settled),
    }


def research(r: Research) -> Json:
    return {
        "interval": "wilson",
        "confidence": CONFIDENCE,
        "own_pages": dead_share(r.own_pages),
        "outbound": dead_share(r.outbound),
        "by_kind": [{"kind": d.key, **dead_share(d)} for d in r.by_kind],
        "articles_with_dead_by_year": [
            {
                "year": int(y.key) if y.key.isdigit() else None,
                "articles": y.articles,
                "with_dead": proportion(y.with_dead),
            }
            for y in r.by_year
        ],
        "dead_by_reason": [
            {
                "reason": row.reason,
                "of_dead": proportion(row.of_dead),
                "of_checked": proportion(row.of_checked),
            }
            for row in r.by_reason
        ],
    }
