"""The report as Markdown (GitHub's tables): for a wiki page, a ticket or a mail.

Every text that comes from an article or a server is escaped, so an anchor
text cannot break a table or turn into markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from archiver.report.model import Copy, DeadShare, Report, RotRow
from archiver.report.words import (
    COMPARED,
    DRIFT_BASIS,
    FIXED,
    KIND_NAMES,
    RESEARCH_NOTE,
    RESEARCH_TITLE,
    TITLE,
    UNSETTLED_TITLE,
    WITHDRAWN,
    filters_text,
    human,
    interval_text,
    percent,
    rule_text,
    window_text,
)

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def text(value: object) -> str:
    """Plain text, safe in a table cell: markup escaped, lines joined."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def link(url: str | None, label: str | None = None) -> str:
    if not url:
        return text(label or "")
    if label is None and not re.search(r"[\s<>]", url):
        return f"<{url}>"
    return f"[{text(label if label is not None else url)}](<{url.replace('>', '%3E')}>)"


def code(value: str) -> str:
    """A code span that holds any text, whatever backticks it contains."""
    fence = "`" * (max((len(m) for m in re.findall(r"`+", value)), default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value.replace('|', '&#124;')}{pad}{fence}"


def table(head: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _share(part: int, share: float | None) -> str:
    return f"{part} ({percent(share)})"


def _rot(rows: Sequence[RotRow], name: str) -> list[str]:
    return table(
        (name, "links", "dead", "suspect", "blocked or inconclusive", "rot rate"),
        (
            (
                text(r.key),
                str(r.counts.checked),
                str(r.counts.dead),
                str(r.counts.suspect),
                str(r.counts.unsure),
                percent(r.counts.dead_share),
            )
            for r in rows
        ),
    )


def _copy(c: Copy | None) -> tuple[str, str]:
    if c is None:
        return "none", ""
    where = f"{human(c.checked)}, {code(c.warc_file)} @ {c.offset}"
    return where, code(c.replay)


def _kind_row(d: DeadShare) -> tuple[str, ...]:
    return (
        KIND_NAMES.get(d.key, text(d.key)),
        str(d.cited),
        str(d.checked.n),
        str(d.settled.n),
        str(d.checked.k),
        interval_text(d.checked),
        interval_text(d.settled),
    )


def research(report: Report) -> list[str]:
    """The research figures: n, share and 95 % interval of each."""
    r = report.research
    out = [f"## {RESEARCH_TITLE}", "", RESEARCH_NOTE, "", "Dead share by kind:", ""]
    out += table(
        ("kind", "cited", "checked", "settled", "dead", "dead of checked (95 % CI)",
         "dead of settled (95 % CI)"),
        (_kind_row(d) for d in (*r.by_kind, r.outbound)),
    )  # fmt: skip
    out += ["", "Articles with a dead outbound link, by publication year:", ""]
    out += table(
        (
            "year",
            "articles",
            "with a checked outbound link",
            "with a dead one (95 % CI)",
        ),
        (
            (
                text(y.key),
                str(y.articles),
                str(y.with_dead.n),
                interval_text(y.with_dead),
            )
            for y in r.by_year
        ),
    )
    out += ["", "Dead links by reason:", ""]
    if not r.by_reason:
        out += ["No dead links.", ""]
        return out
    out += table(
        ("reason", "dead", "of dead links (95 % CI)", "of links checked (95 % CI)"),
        (
            (code(row.reason), str(row.of_dead.k), interval_text(row.of_dead),
             interval_text(row.of_checked))
            for row in r.by_reason
        ),
    )  # fmt: skip
    return [*out, ""]


def render(report: Report) -> str:
    head = report.headline
    c = head.counts
    window = window_text(report.filters)
    out = [
        f"# {TITLE}",
        "",
        f"Store {code(report.store)}, made {human(report.generated)}; "
        f"{rule_text(report.rule)}. Filters: {text(filters_text(report.filters))}.",
        "",
        "## Headline",
        "",
        *table(
            ("figure", "value"),
            (
                ("links checked", str(c.checked)),
                ("dead", _share(c.dead, c.dead_share)),
                ("suspect (failing, not yet confirmed)", str(c.suspect)),
                ("blocked or inconclusive", _share(c.unsure, c.unsure_share)),
                (
                    "articles with a dead link",
                    f"{head.articles_with_dead} of {head.articles} "
                    f"({percent(head.articles_with_dead_share)})",
                ),
                ("alive but changed since first captured", str(head.drifted)),
                (f"newly dead {window}", str(len(head.newly_dead))),
                (f"revived {window}", str(len(head.revived))),
                (FIXED, str(head.fixed)),
                (WITHDRAWN, str(head.withdrawn_articles)),
            ),
        ),
        "",
    ]
    for name, urls in (("Newly dead", head.newly_dead), ("Revived", head.revived)):
        if urls:
            out += [f"{name}:", "", *(f"- {link(u)}" for u in urls), ""]
    out += ["## Trend over runs", ""]
    out += table(
        (
            "run",
            "started",
            "checks",
            "links",
            "dead",
            "suspect",
            "blocked or inconclusive",
            "rot rate",
            "newly dead",
            "revived",
            "fixed",
            "removed",
        ),
        (
            (
                code(p.run_id) + ("" if p.conclusive is not False else " (offline)"),
                human(p.started),
                str(p.checks),
                str(p.counts.checked),
                str(p.counts.dead),
                str(p.counts.suspect),
                str(p.counts.unsure),
                percent(p.counts.dead_share),
                str(p.newly_dead),
                str(p.revived),
                str(p.fixed),
                str(p.removed),
            )
            for p in report.trend
        ),
    )
    out += ["", "## Rot by article year", "", *_rot(report.by_year, "year"), ""]
    out += ["## Rot by cited domain", "", *_rot(report.by_domain, "domain"), ""]
    out += research(report)
    out += ["## Dead links by article", ""]
    dead_articles = [a for a in report.articles if a.dead]
    if not dead_articles:
        out += ["No dead links.", ""]
    for a in dead_articles:
        out += [
            f"### {link(a.url, a.title or a.path)}",
            "",
            f"{code(a.path)}, published {human(a.published) or 'unknown'}: "
            f"{a.counts.dead} of {a.counts.checked} links dead.",
            "",
        ]
        rows = []
        for d in a.dead:
            where, replay = _copy(d.last_good)
            rows.append(
                (
                    link(d.url),
                    text(d.text),
                    f"{d.outcome} ({code(d.reason)})",
                    human(d.dead_since),
                    where,
                    replay,
                )
            )
        out += table(
            ("link", "text", "outcome", "dead since", "last good copy", "replay"),
            rows,
        )
        out.append("")
    out += [f"## {UNSETTLED_TITLE}", ""]
    unsettled = report.unsettled_citations
    if not unsettled:
        out += ["None.", ""]
    else:
        out += table(
            ("article", "link", "kind", "text", "state", "outcome", "failing since"),
            (
                (
                    code(o.article),
                    link(o.url),
                    o.kind,
                    text(o.text),
                    o.group,
                    f"{o.outcome} ({code(o.reason)})",
                    human(o.failing_since),
                )
                for o in unsettled
            ),
        )
        out.append("")
    out += ["## Content drift", "", DRIFT_BASIS, ""]
    if not report.drift:
        out += ["No link has changed since it was first captured.", ""]
    else:
        out += table(
            (
                "link",
                "compared by",
                "versions",
                "changed",
                "first capture",
                "replay first capture",
            ),
            (
                (
                    link(d.url),
                    COMPARED.get(d.compared, d.compared),
                    str(d.versions),
                    human(d.changed),
                    _copy(d.first)[0],
                    _copy(d.first)[1],
                )
                for d in report.drift
            ),
        )
        out.append("")
    return "\n".join(out)
