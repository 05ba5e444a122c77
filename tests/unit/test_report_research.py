"""The research figures and the per-link export, on a store built through its API.

Four articles over two years and one with no date, citing their own pages,
links, images and an embed, checked over four nights at explicit times. Each
figure is checked twice: against numbers worked out by hand from the plan
below, and against a count made directly from the store (``store.state``,
``store.history``), never from the report's own code. The export is read
back from the CLI's output and compared with the store row by row, and the
figures are recounted from it.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from archiver import report
from archiver.models import (
    Article,
    Citation,
    LinkKind,
    LinkStatus,
    NormalizedURL,
    Outcome,
    RecordRef,
    Target,
)
from archiver.report import links_csv
from archiver.report.stats import wilson
from archiver.store.base import Store, open_store
from archiver.store.history import DeadRule, Verdict
from archiver.store.location import StoreLocation
from tests.clirun import run_cli

T0 = datetime(2026, 5, 4, 2, 30, tzinfo=UTC)
NIGHTS = 4
OPTIONS = {"dead_after_failures": 2, "dead_after_days": 1}
RULE = DeadRule(failures=2, span=timedelta(days=1))

OWN = LinkKind.ARTICLE
LINK, IMAGE, EMBED = LinkKind.LINK, LinkKind.IMAGE, LinkKind.EMBED
A = Outcome.ALIVE
D404 = (Outcome.DEAD, "http-404", 404)
D410 = (Outcome.DEAD, "http-410", 410)
DNS = (Outcome.DEAD, "dns-not-found", None)
WALL = (Outcome.BLOCKED, "http-403", 403)
SLOW = (Outcome.ERROR, "timeout", None)
OK = (A, "ok", 200)

# url -> the check of each night (None: not checked that night)
PLAN: dict[str, tuple[tuple[Outcome, str, int | None] | None, ...]] = {
    "https://paper.example/2019/a": (D404,) * 4,  # own page, dead
    "https://paper.example/2019/b": (OK,) * 4,
    "https://paper.example/2021/c": (OK,) * 4,
    "https://paper.example/undated": (OK, D404, D404, D404),  # dead from night 1
    "https://l1.example/": (OK,) * 4,
    "https://l2.example/": (DNS,) * 4,  # dead
    "https://l3.example/": (OK, OK, OK, D404),  # suspect: one failure
    "https://l4.example/": (SLOW,) * 4,  # inconclusive
    "https://l5.example/": (None, OK, OK, OK),
    "https://img.example/1.jpg": (D410,) * 4,  # dead
    "https://img.example/2.jpg": (OK,) * 4,
    "https://video.example/e": (WALL,) * 4,  # blocked
    "https://never.example/": (None,) * 4,  # cited, never checked
}
ARTICLES: dict[str, tuple[datetime | None, tuple[tuple[str, LinkKind], ...]]] = {
    "seeds/a.md": (
        datetime(2019, 5, 1, tzinfo=UTC),
        (("https://paper.example/2019/a", OWN), ("https://l1.example/", LINK),
         ("https://img.example/1.jpg", IMAGE), ("https://video.example/e", EMBED)),
    ),
    "seeds/b.md": (
        datetime(2019, 12, 31, 23, 30, tzinfo=UTC),
        (("https://paper.example/2019/b", OWN), ("https://l2.example/", LINK),
         ("https://l3.example/", LINK), ("https://l1.example/", LINK)),
    ),
    "seeds/c.md": (
        datetime(2021, 1, 1, 0, 30, tzinfo=UTC),
        (("https://paper.example/2021/c", OWN), ("https://l4.example/", LINK),
         ("https://img.example/2.jpg", IMAGE), ("https://never.example/", LINK)),
    ),
    # A name a spreadsheet would run as a formula. Its own page is dead, what it
    # cites is not: it has no dead link by year. It cites img 2 as a link.
    "=undated.md": (
        None,
        (("https://paper.example/undated", OWN), ("https://l5.example/", LINK),
         ("https://img.example/2.jpg", LINK)),
    ),
}  # fmt: skip


def night(n: int) -> datetime:
    return T0 + timedelta(days=n)


def build(location: StoreLocation) -> None:
    articles = [
        Article(
            path=Path(path),
            url=next(url for url, kind in cited if kind is OWN),
            title=path,
            published=published,
            body="",
            text="",
            sha256=path,
        )
        for path, (published, cited) in ARTICLES.items()
    ]
    by_url: dict[str, list[Citation]] = {}
    for path, (_, cited) in ARTICLES.items():
        for url, kind in cited:
            by_url.setdefault(url, []).append(
                Citation(article=path, kind=kind, element="a", attribute="href")
            )
    targets = [
        Target(url=NormalizedURL(u), citations=tuple(c)) for u, c in by_url.items()
    ]
    with open_store(location) as store:
        for n in range(NIGHTS):
            run_id = f"r{n}"
            store.begin_run(run_id, night(n), OPTIONS)
            if n == 0:
                store.record_articles(articles, night(0))
                store.record_citations(targets, night(0))
            statuses = []
            for url, plan in PLAN.items():
                step = plan[n]
                if step is None:
                    continue
                outcome, reason, code = step
                statuses.append(
                    LinkStatus(
                        url=url,
                        kind=LinkKind.LINK,
                        citations=(),
                        outcome=outcome,
                        reason=reason,
                        detail=reason,
                        http_status=code,
                        record=RecordRef(warc_file="w.warc.gz", offset=n)
                        if outcome is A
                        else None,
                        checked=night(n) + timedelta(minutes=len(url) + n),
                    )
                )
            store.record_checks(run_id, statuses)
            store.finish_run(run_id, night(n) + timedelta(hours=1), {}, True)


def group(store: Store, url: str) -> str:
    """The link's group, from the store's own verdict and its latest check."""
    state = store.state(url)
    if state is None:
        return "unchecked"
    if state.verdict in (Verdict.DEAD, Verdict.SUSPECT):
        return str(state.verdict)
    return {Outcome.ALIVE: "alive", Outcome.BLOCKED: "blocked"}.get(
        state.outcome, "inconclusive"
    )


def direct(location: StoreLocation) -> dict[str, Any]:
    """Every figure counted straight from the store."""
    with open_store(location, rule=RULE, read_only=True) as store:
        cited = store.all_citations()
        groups = {url: group(store, url) for url in cited}
        reasons = {
            url: [c for c in store.history(url) if c.outcome is Outcome.DEAD][-1].reason
            for url, g in groups.items()
            if g == "dead"
        }
        published = {a.path: a.published for a in store.articles()}

    def share(urls: set[str]) -> tuple[int, int, int, int]:
        mine = [groups[u] for u in urls]
        dead = mine.count("dead")
        checked = sum(g != "unchecked" for g in mine)
        settled = sum(g in ("alive", "dead") for g in mine)
        return len(mine), dead, checked, settled

    kinds = {
        str(kind): share(
            {u for u, cs in cited.items() if any(c.kind is kind for c in cs)}
        )
        for kind in (OWN, LINK, IMAGE, EMBED)
    }
    outbound = share(
        {u for u, cs in cited.items() if any(c.kind is not OWN for c in cs)}
    )
    years: dict[int | None, list[bool | None]] = {}
    for path, when in published.items():
        mine = [
            u
            for u, cs in cited.items()
            for c in cs
            if c.article == path and c.kind is not OWN
        ]
        checked = [groups[u] for u in mine if groups[u] != "unchecked"]
        years.setdefault(when.year if when else None, []).append(
            ("dead" in checked) if checked else None
        )
    checked_all = sum(g != "unchecked" for g in groups.values())
    return {
        "kinds": kinds,
        "outbound": outbound,
        "years": {
            y: (len(v), sum(1 for x in v if x), sum(1 for x in v if x is not None))
            for y, v in years.items()
        },
        "reasons": {
            r: (n, len(reasons), checked_all)
            for r, n in Counter(reasons.values()).items()
        },
        "groups": groups,
    }


def as_tuple(entry: dict[str, Any]) -> tuple[int, int, int, int]:
    checked, settled = entry["dead_of_checked"], entry["dead_of_settled"]
    assert checked["k"] == settled["k"]
    return entry["cited"], checked["k"], checked["n"], settled["n"]


def test_figures_match_the_plan_and_a_direct_count(new_location):
    location = new_location()
    build(location)
    with open_store(location, read_only=True) as store:
        made = report.make(store, report.ReportOptions())
    research = json.loads(report.render(made, "json"))["research"]
    counted = direct(location)
    assert (research["interval"], research["confidence"]) == ("wilson", 0.95)
    # by hand from PLAN: (cited, dead, checked, settled)
    by_hand = {"article": (4, 2, 4, 4), "link": (7, 1, 6, 4), "image": (2, 1, 2, 2),
               "embed": (1, 0, 1, 0)}  # fmt: skip
    assert counted["kinds"] == by_hand
    rows = {row["kind"]: as_tuple(row) for row in research["by_kind"]}
    assert rows == by_hand
    assert [row["kind"] for row in research["by_kind"]] == list(by_hand)
    assert as_tuple(research["own_pages"]) == by_hand["article"]
    assert as_tuple(research["outbound"]) == counted["outbound"] == (9, 2, 8, 5)
    embed = research["by_kind"][3]["dead_of_settled"]  # nothing settled: no share
    assert (embed["share"], embed["ci_low"], embed["ci_high"]) == (None, None, None)
    # articles with a dead outbound link, by year: (articles, with dead, checked)
    years = {
        row["year"]: (row["articles"], row["with_dead"]["k"], row["with_dead"]["n"])
        for row in research["articles_with_dead_by_year"]
    }
    assert (
        years == counted["years"] == {2019: (2, 2, 2), 2021: (1, 0, 1), None: (1, 0, 1)}
    )
    assert [row["year"] for row in research["articles_with_dead_by_year"]] == [
        2019,
        2021,
        None,
    ]
    reasons = {
        row["reason"]: (
            row["of_dead"]["k"],
            row["of_dead"]["n"],
            row["of_checked"]["n"],
        )
        for row in research["dead_by_reason"]
    }
    assert reasons == counted["reasons"]
    assert reasons == {"http-404": (2, 4, 12), "dns-not-found": (1, 4, 12),
                       "http-410": (1, 4, 12)}  # fmt: skip
    assert research["dead_by_reason"][0]["reason"] == "http-404"
    dead = sum(row["of_dead"]["k"] for row in research["dead_by_reason"])
    assert dead == made.headline.counts.dead == 4  # the reasons add up
    # the interval is Wilson's, rounded as every share is
    own = research["own_pages"]["dead_of_checked"]
    assert (own["share"], own["ci_low"], own["ci_high"]) == (0.5, 0.1500, 0.8500)
    link = research["by_kind"][1]["dead_of_checked"]
    interval = wilson(1, 6)
    assert interval is not None
    assert (link["ci_low"], link["ci_high"]) == tuple(round(x, 4) for x in interval)


def test_markdown_and_html_print_each_figure_with_n_and_interval(tmp_path):
    location = tmp_path / "archiver.sqlite3"
    build(location)
    with open_store(location, read_only=True) as store:
        made = report.make(store, report.ReportOptions())
    text = report.render(made, "md")
    section = text.split("## Research figures\n", 1)[1].split("\n## ", 1)[0]
    assert "95 % Wilson score interval" in section
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert "| own pages | 4 | 4 | 4 | 2 | 2 of 4: 50.0 % (15.0–85.0 %) |" in section
    assert "| embeds | 1 | 1 | 0 | 0 | 0 of 1: 0.0 % (0.0–79.3 %) | 0 of 0: – |" in rows
    assert "| 2019 | 2 | 2 | 2 of 2: 100.0 % (34.2–100.0 %) |" in rows
    assert sum(line.startswith("| own pages ") for line in rows) == 1
    reasons = [line.split(" | ")[0] for line in rows if line.startswith("| `")]
    assert reasons == ["| `http-404`", "| `dns-not-found`", "| `http-410`"]
    page = report.render(made, "html")
    for table_id, n in (("research-kinds", 5), ("research-years", 3),
                        ("research-reasons", 3)):  # fmt: skip
        body = page.split(f'<table id="{table_id}"', 1)[1].split("</table>", 1)[0]
        assert body.count("<tr>") == n + 1, table_id  # the header row too
    assert "2 of 12: 16.7 % (4.7–44.8 %)" in page


def test_figures_follow_the_domain_filter(new_location):
    location = new_location()
    build(location)
    with open_store(location, read_only=True) as store:
        filters = report.Filters(domains=("img.example",))
        made = report.make(store, report.ReportOptions(filters=filters))
    r = made.research
    assert r.own_pages.cited == 0
    assert r.own_pages.checked.share is None
    assert (r.outbound.cited, r.outbound.checked.k, r.outbound.checked.n) == (2, 1, 2)
    assert {row.url for row in made.links} == {
        "https://img.example/1.jpg",
        "https://img.example/2.jpg",
    }


def cli_export(location: StoreLocation, *args: str) -> list[dict[str, str]]:
    result = run_cli("report", "--store", str(location), "--format", "links-csv", *args)
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout)))


def iso(when: datetime) -> str:
    return when.astimezone(UTC).replace(microsecond=0).isoformat()


def test_the_export_has_every_link_as_the_store_has_it(tmp_path):
    location = tmp_path / "archiver.sqlite3"
    build(location)
    rows = cli_export(location)
    assert tuple(rows[0]) == links_csv.FIELDS
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in links_csv.FIELDS)
    expected = {
        (path, url, str(kind))
        for path, (_, cited) in ARTICLES.items()
        for url, kind in cited
    }
    # the formula-like article name is written as text
    safe = {
        (p.replace("=", "'=", 1) if p.startswith("=") else p, u, k)
        for p, u, k in expected
    }
    assert {(r["article_file"], r["link_url"], r["kind"]) for r in rows} == safe
    assert len(rows) == len(expected) == 15
    counted = direct(location)
    with open_store(location, rule=RULE, read_only=True) as store:
        published = {a.path: a.published for a in store.articles()}
        for row in rows:
            url = row["link_url"]
            path = row["article_file"].removeprefix("'")
            when = published[path]
            assert row["article_published"] == (iso(when) if when else "")
            assert row["group"] == counted["groups"][url], url
            history = store.history(url)
            assert row["checks"] == str(len(history))
            if not history:
                assert row["group"] == "unchecked"
                assert (row["first_checked"], row["last_checked"], row["verdict"]) == (
                    "",
                    "",
                    "",
                )
                continue
            assert row["first_checked"] == iso(history[0].checked)
            assert row["last_checked"] == iso(history[-1].checked)
            state = store.state(url)
            assert state is not None
            assert row["verdict"] == str(state.verdict)
            latest = history[-1]
            assert (row["outcome"], row["reason"]) == (
                str(latest.outcome),
                latest.reason,
            )
            assert row["http_status"] == (
                "" if latest.http_status is None else str(latest.http_status)
            )
            dead = [c for c in history if c.outcome is Outcome.DEAD]
            failing = row["group"] in ("dead", "suspect")
            assert row["dead_reason"] == (dead[-1].reason if failing else "")
    # the published figures can be recounted from the export alone
    document = json.loads(
        run_cli("report", "--store", str(location), "--format", "json").stdout
    )
    research = document["research"]
    for entry in research["by_kind"]:
        groups = {r["link_url"]: r["group"] for r in rows if r["kind"] == entry["kind"]}
        checked = [g for g in groups.values() if g != "unchecked"]
        assert as_tuple(entry) == (
            len(groups),
            checked.count("dead"),
            len(checked),
            sum(g in ("alive", "dead") for g in checked),
        ), entry["kind"]
    years: dict[int | None, dict[str, set[str]]] = {}
    for r in rows:
        if r["kind"] != "article":
            year = int(r["article_published"][:4]) if r["article_published"] else None
            years.setdefault(year, {}).setdefault(r["article_file"], set()).add(
                r["group"]
            )
    recounted = {
        year: (
            len(articles),
            sum("dead" in g for g in articles.values()),
            sum(bool(g - {"unchecked"}) for g in articles.values()),
        )
        for year, articles in years.items()
    }
    assert recounted == {
        row["year"]: (row["articles"], row["with_dead"]["k"], row["with_dead"]["n"])
        for row in research["articles_with_dead_by_year"]
    }


def test_the_export_follows_the_article_filter(tmp_path):
    location = tmp_path / "archiver.sqlite3"
    build(location)
    rows = cli_export(location, "--article", "seeds/c.md")
    assert {r["link_url"] for r in rows} == {u for u, _ in ARTICLES["seeds/c.md"][1]}
    assert {r["article_file"] for r in rows} == {"seeds/c.md"}


@pytest.mark.parametrize("form", ["links-tsv", "links"])
def test_a_bad_format_is_one_usage_error(tmp_path, form):
    location = tmp_path / "archiver.sqlite3"
    build(location)
    result = run_cli("report", "--store", str(location), "--format", form)
    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("archiver: error: Invalid value for '--format'")
