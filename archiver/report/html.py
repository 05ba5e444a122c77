"""The report as one self-contained HTML page: it opens offline, from a mail.

Style sheet, script and charts (inline SVG) are in the page; nothing is
fetched, and the page's Content-Security-Policy says so to the browser, which
also runs only the script whose hash it names. The only addresses in the page
are links a reader may follow: articles, cited links and replay addresses.
Every value is escaped. Tables sort on a click on their header and filter as
one types (see :mod:`.assets`); wide tables scroll sideways on a phone.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final, TypeVar

from archiver.report import svg
from archiver.report.assets import SCRIPT, STYLE
from archiver.report.markup import (
    COUNT_COLUMNS,
    Cell,
    count_cells,
    h,
    link,
    num,
    share,
    table,
    when,
)
from archiver.report.model import (
    Copy,
    DeadCitation,
    DeadShare,
    OpenCitation,
    Report,
    RotRow,
)
from archiver.report.stats import Proportion
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
    day,
    filters_text,
    human,
    interval_text,
    iso,
    percent,
    rule_text,
    window_text,
)
from archiver.version import __version__

T = TypeVar("T")

LIST_ROWS: Final = 200
"""The most rows a list shows; the CSV and JSON reports have every row.

At 100,000 links the page listed 17,000 dead citations and 20,000 articles:
32 MB, half a minute to open and seconds per keystroke in its filter. A
list longer than this shows the rows that matter most (say which in
:func:`_capped`'s note), so the page stays small and answers at once.
"""


def _capped(
    rows: Sequence[T], rank: Callable[[T], tuple[object, ...]], most: str, what: str
) -> tuple[Sequence[T], str]:
    """The rows a list shows, ranked, and a note saying how many it leaves out."""
    if len(rows) <= LIST_ROWS:
        return rows, ""
    order = sorted(range(len(rows)), key=lambda n: (rank(rows[n]), n))
    shown = [rows[n] for n in order[:LIST_ROWS]]
    note = (
        f'<p class="note capped">Showing {LIST_ROWS:,} of {len(rows):,} {h(what)}: '
        f"{h(most)}. Every one is in <code>archiver report --format csv</code> "
        "and <code>--format json</code>.</p>"
    )
    return shown, note


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _rot_table(table_id: str, name: str, every: Sequence[RotRow]) -> str:
    """The rows' counts, with a bar of the dead and suspect shares: the chart."""
    rows, note = _capped(
        every,
        lambda r: (-r.counts.dead, -r.counts.checked, r.key),
        "those with the most dead links",
        f"{name}s",
    )
    return note + table(
        table_id,
        [(name, ""), ("dead and suspect", ""), *COUNT_COLUMNS],
        [
            [
                Cell(h(r.key)),
                Cell(svg.bar(r.counts), share(r.counts.dead_share).sort, "bar"),
                *count_cells(r.counts),
            ]
            for r in rows
        ],
        filter_label=None if len(rows) < 8 else f"{name}s",
    )


def _copy(copy: Copy | None, base: str) -> tuple[Cell, Cell]:
    if copy is None:
        return Cell("none", ""), Cell("", "")
    where = (
        f"{h(human(copy.checked))}<br><code>{h(copy.warc_file)}</code> @ {copy.offset}"
    )
    replay = link(copy.replay) if base else f"<code>{h(copy.replay)}</code>"
    return Cell(where, iso(copy.checked) or ""), Cell(replay, copy.replay, "url")


def _cards(report: Report) -> str:
    head = report.headline
    c = head.counts
    window = window_text(report.filters)
    cards = [
        ("", str(c.checked), "links checked"),
        ("bad", percent(c.dead_share), f"dead ({c.dead} links)"),
        (
            "bad",
            percent(head.articles_with_dead_share),
            f"of articles have a dead link ({head.articles_with_dead} of "
            f"{head.articles})",
        ),
        ("", percent(c.unsure_share), f"blocked or inconclusive ({c.unsure})"),
        ("", str(c.suspect), "suspect: failing, not yet confirmed"),
        ("bad", str(len(head.newly_dead)), f"newly dead {window}"),
        ("", str(len(head.revived)), f"revived {window}"),
        ("", str(head.drifted), "alive but changed since first captured"),
        ("", str(head.fixed), FIXED),
        ("", str(head.withdrawn_articles), WITHDRAWN),
    ]
    html = "".join(
        f'<div class="card {kind}"><b>{h(value)}</b><span>{h(label)}</span></div>'
        for kind, value, label in cards
    )
    lists = ""
    for name, urls in (("Newly dead", head.newly_dead), ("Revived", head.revived)):
        if urls:
            shown, note = _capped(urls, lambda u: (), "the first by address", "links")
            items = "".join(f'<li class="url">{link(u)}</li>' for u in shown)
            lists += (
                f"<details open><summary>{name}</summary>{note}<ul>{items}</ul>"
                "</details>"
            )
    return f'<div class="cards">{html}</div>{lists}'


def _trend(report: Report) -> str:
    rows = [
        [
            Cell(h(p.run_id) + ("" if p.conclusive is not False else " (offline)")),
            when(p.started),
            Cell(h(p.status)),
            num(p.checks),
            num(p.counts.alive),
            *count_cells(p.counts)[1:],
            num(p.newly_dead),
            num(p.revived),
            num(p.fixed),
            num(p.removed),
        ]
        for p in report.trend
    ]
    columns = [
        ("run", ""),
        ("started", ""),
        ("status", ""),
        ("checks", "n"),
        ("alive", "n"),
        *COUNT_COLUMNS[1:],
        ("newly dead", "n"),
        ("revived", "n"),
        ("fixed", "n"),
        ("removed", "n"),
    ]
    return svg.trend(report.trend) + table("trend", columns, rows)


def _article_cell(url: str | None, title: str, path: str) -> Cell:
    """An article as a row names it: its title (a link to it), then its file."""
    return Cell(
        f'{link(url, title or path)}<br><span class="note">{h(path)}</span>',
        title or path,
        "wrap",
    )


def _per_article(rows: Sequence[DeadCitation] | Sequence[OpenCitation]) -> Counter[str]:
    return Counter(row.article for row in rows)


def _dead(report: Report) -> str:
    every = report.dead_citations
    many = _per_article(every)
    shown, note = _capped(
        every,
        lambda d: (-many[d.article], d.article),
        "those of the articles with the most dead links",
        "dead links",
    )
    rows = []
    for d in shown:
        good, replay = _copy(d.last_good, report.replay_base)
        rows.append(
            [
                _article_cell(d.article_url, d.article_title, d.article),
                Cell(h(day(d.published)[:4]), day(d.published)),
                Cell(link(d.url), d.url, "url"),
                Cell(h(d.text), None, "wrap"),
                Cell(
                    f'<span class="badge">{h(d.outcome)}</span> {h(d.reason)}',
                    d.reason,
                ),
                when(d.dead_since),
                num(d.failures),
                good,
                replay,
            ]
        )
    columns = [
        ("article", ""),
        ("year", ""),
        ("link", ""),
        ("text", ""),
        ("outcome", ""),
        ("dead since", ""),
        ("failed checks", "n"),
        ("last good copy", ""),
        ("replay", ""),
    ]
    return note + table("dead-links", columns, rows, filter_label="dead links")


def _unsettled(report: Report) -> str:
    every = report.unsettled_citations
    many = _per_article(every)
    shown, note = _capped(
        every,
        lambda o: (-many[o.article], o.article),
        "those of the articles with the most of them",
        "unsettled links",
    )
    rows = []
    for o in shown:
        good, replay = _copy(o.last_good, report.replay_base)
        rows.append(
            [
                _article_cell(o.article_url, o.article_title, o.article),
                Cell(link(o.url), o.url, "url"),
                Cell(h(o.kind), o.kind),
                Cell(h(o.text), None, "wrap"),
                Cell(f'<span class="badge">{h(o.group)}</span>', o.group),
                Cell(f"{h(o.outcome)} {h(o.reason)}", o.reason),
                when(o.failing_since),
                good,
                replay,
            ]
        )
    columns = [
        ("article", ""),
        ("link", ""),
        ("kind", ""),
        ("text", ""),
        ("state", ""),
        ("latest check", ""),
        ("failing since", ""),
        ("last good copy", ""),
        ("replay", ""),
    ]
    return note + table(
        "unsettled-links", columns, rows, filter_label="unsettled links"
    )


def _articles(report: Report) -> str:
    shown, note = _capped(
        report.articles,
        lambda a: (-a.counts.dead, -a.counts.suspect, -a.counts.unsure, a.path),
        "those with the most dead, then suspect, then unsure links",
        "articles",
    )
    rows = [
        [
            _article_cell(a.url, a.title, a.path),
            Cell(h(day(a.published)), day(a.published)),
            *count_cells(a.counts),
            num(a.drifted),
        ]
        for a in shown
    ]
    columns = [("article", ""), ("published", ""), *COUNT_COLUMNS, ("drift", "n")]
    return note + table("articles", columns, rows, filter_label="articles")


def _drift(report: Report) -> str:
    shown, note = _capped(
        report.drift,
        lambda d: (-d.changed.timestamp(), d.url),
        "those that changed last",
        "changed links",
    )
    rows = []
    for d in shown:
        first, first_replay = _copy(d.first, report.replay_base)
        rows.append(
            [
                Cell(link(d.url), d.url, "url"),
                Cell("<br>".join(h(a) for a in d.articles), None, "wrap"),
                Cell(h(COMPARED.get(d.compared, d.compared)), None, ""),
                num(d.versions),
                when(d.changed),
                first,
                first_replay,
            ]
        )
    columns = [
        ("link", ""),
        ("articles", ""),
        ("compared by", ""),
        ("versions", "n"),
        ("changed", ""),
        ("first capture", ""),
        ("replay first capture", ""),
    ]
    basis = f'<p class="note">{h(DRIFT_BASIS)}</p>'
    return basis + note + table("drift", columns, rows, filter_label="changed links")


def _ci(p: Proportion) -> Cell:
    return Cell(h(interval_text(p)), "" if p.share is None else f"{p.share:.6f}", "n")


def _research(report: Report) -> str:
    """The research figures' three tables, each share with n and its interval."""
    r = report.research
    kinds: list[DeadShare] = [*r.by_kind, r.outbound]
    by_kind = table(
        "research-kinds",
        [("kind", ""), ("cited", "n"), ("checked", "n"), ("settled", "n"),
         ("dead", "n"), ("dead of checked (95 % CI)", "n"),
         ("dead of settled (95 % CI)", "n")],
        [
            [Cell(h(KIND_NAMES.get(d.key, d.key))), num(d.cited), num(d.checked.n),
             num(d.settled.n), num(d.checked.k), _ci(d.checked), _ci(d.settled)]
            for d in kinds
        ],
    )  # fmt: skip
    by_year = table(
        "research-years",
        [("year", ""), ("articles", "n"), ("with a checked outbound link", "n"),
         ("with a dead one (95 % CI)", "n")],
        [
            [Cell(h(y.key)), num(y.articles), num(y.with_dead.n), _ci(y.with_dead)]
            for y in r.by_year
        ],
    )  # fmt: skip
    by_reason = table(
        "research-reasons",
        [("reason", ""), ("dead", "n"), ("of dead links (95 % CI)", "n"),
         ("of links checked (95 % CI)", "n")],
        [
            [Cell(f"<code>{h(row.reason)}</code>", row.reason), num(row.of_dead.k),
             _ci(row.of_dead), _ci(row.of_checked)]
            for row in r.by_reason
        ],
    )  # fmt: skip
    return (
        f'<p class="note">{h(RESEARCH_NOTE)}</p>'
        f"<h3>Dead share by kind</h3>{by_kind}"
        f"<h3>Articles with a dead outbound link, by publication year</h3>{by_year}"
        f"<h3>Dead links by reason</h3>{by_reason}"
    )


DEFINITIONS = (
    (
        "links checked",
        "distinct links cited by the articles in this report that "
        "the store has at least one check of",
    ),
    (
        "dead",
        "confirmed dead: failed the rule's number of checks, spanning its "
        "number of days, with no alive check since",
    ),
    ("suspect", "failing, but not yet long enough to be called dead"),
    (
        "blocked",
        "the latest check was blocked (401, 403, 451, a bot wall, rate "
        "limits): the site hides the answer",
    ),
    (
        "inconclusive",
        "the latest check was an error (timeout, 5xx, reset …): it may pass next time",
    ),
    ("rot rate", "dead links ÷ links checked"),
    (
        "newly dead",
        "confirmed dead in the latest run (or, with a since date, in "
        "any run since), and still dead",
    ),
    ("revived", "confirmed dead once, alive again in that same window"),
    (
        "fixed",
        "dead or suspect, and no article cited it any more from that run on; "
        "removed: a link that left alive, or whose articles were withdrawn",
    ),
    (
        "content drift",
        "alive now, but the content differs from the first capture: "
        "a page's main text, another file's bytes",
    ),
)


def render(report: Report) -> str:
    csp = (
        "default-src 'none'; base-uri 'none'; form-action 'none'; "
        f"style-src 'sha256-{_sha256(STYLE)}'; script-src 'sha256-{_sha256(SCRIPT)}'"
    )
    sections = [
        ("headline", "Headline", _cards(report)),
        ("trend-section", "Trend over runs", _trend(report)),
        (
            "year-section",
            "Rot by article year",
            _rot_table("by-year", "year", report.by_year),
        ),
        (
            "domain-section",
            "Rot by cited domain",
            _rot_table("by-domain", "domain", report.by_domain),
        ),
        ("research-section", RESEARCH_TITLE, _research(report)),
        ("dead-section", "Dead links", _dead(report)),
        ("unsettled-section", UNSETTLED_TITLE, _unsettled(report)),
        ("articles-section", "Articles", _articles(report)),
        ("drift-section", "Content drift", _drift(report)),
    ]
    nav = "".join(f'<a href="#{sid}">{h(title)}</a>' for sid, title, _ in sections)
    body = "".join(
        f'<section id="{sid}"><h2>{h(title)}</h2>{html}</section>'
        for sid, title, html in sections
    )
    terms = "".join(f"<dt>{h(t)}</dt><dd>{h(d)}</dd>" for t, d in DEFINITIONS)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        f"<title>{h(TITLE)}</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{h(TITLE)}</h1><p class="meta">Store <code>'
        f"{h(report.store)}</code> · made {h(human(report.generated))} · "
        f"{h(rule_text(report.rule))} · filters: {h(filters_text(report.filters))}"
        f"</p><nav>{nav}</nav></header><main>{body}"
        f'<section id="definitions"><h2>Definitions</h2><dl>{terms}</dl></section>'
        f'</main><footer class="note">archiver {h(__version__)}</footer>'
        f"<script>{SCRIPT}</script></body></html>\n"
    )
