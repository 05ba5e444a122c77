"""Report figures on a store written through its API, at explicit times.

The cases the five-night CLI scenario does not reach: crashed and offline
runs, an article with no date, a link an edited article no longer cites,
checks that say nothing (blocked, error) in a failing streak, and the rule
when no run recorded one. The store's own verdicts are the yardstick.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from archiver.report import json_
from archiver.report.model import Counts
from archiver.report.timeline import group_of
from archiver.store.base import open_store
from archiver.store.history import DEFAULT_RULE, RunStatus
from archiver.store.location import StoreLocation

T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)
GONE = "https://gone.example.com/a"
FINE = "https://www.fine.example.org/b"
DROPPED = "https://dropped.example.net/c"
WALLED = "https://walled.example.com/d"


def night(n: int) -> datetime:
    return T0 + timedelta(days=n)


def article(name: str, sha: str, published: datetime | None) -> Article:
    return Article(
        path=Path(name),
        url=f"https://paper.example/{name}",
        title=name.upper(),
        published=published,
        body="",
        text="",
        sha256=sha,
    )


def cite(url: str, name: str, text: str) -> Target:
    citation = Citation(
        article=name, kind=LinkKind.LINK, element="a", attribute="href", text=text
    )
    return Target(url=NormalizedURL(url), citations=(citation,))


def status(url: str, outcome: Outcome, n: int, digest: str = "d1") -> LinkStatus:
    record = None
    if outcome is Outcome.ALIVE:
        record = RecordRef(
            warc_file=f"w{n}.warc.gz", offset=10 * n, payload_digest=digest
        )
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(),
        outcome=outcome,
        reason={Outcome.DEAD: "http-410"}.get(outcome, "other"),
        detail="",
        http_status=410 if outcome is Outcome.DEAD else None,
        record=record,
        checked=night(n) + timedelta(minutes=n + 1),
    )


def build(path: StoreLocation) -> None:
    """Night 0 to 4: night 1 crashes after its checks, night 2 is offline."""
    plan = {
        0: [(GONE, Outcome.ALIVE), (FINE, Outcome.ALIVE), (DROPPED, Outcome.DEAD),
            (WALLED, Outcome.ALIVE)],
        1: [(GONE, Outcome.DEAD), (FINE, Outcome.ALIVE), (WALLED, Outcome.BLOCKED)],
        2: [],
        3: [(GONE, Outcome.ERROR), (FINE, Outcome.ALIVE)],
        4: [(GONE, Outcome.DEAD), (FINE, Outcome.ALIVE)],
    }  # fmt: skip
    with open_store(path) as store:
        store.record_articles(
            [article("old.md", "1", None), article("new.md", "1", night(-400))], T0
        )
        store.record_citations(
            [cite(GONE, "old.md", "gone"), cite(DROPPED, "old.md", "dropped"),
             cite(FINE, "new.md", "fine"), cite(WALLED, "new.md", "wall")],
            T0,
        )  # fmt: skip
        for n, checks in plan.items():
            run_id = f"r{n}"
            store.begin_run(run_id, night(n), {})
            digest = "d2" if n >= 3 else "d1"
            statuses = [status(url, outcome, n, digest) for url, outcome in checks]
            store.record_checks(run_id, statuses)
            if n == 1:
                store.finish_run(run_id, night(n), {}, False, RunStatus.CRASHED)
            else:
                store.finish_run(run_id, night(n), {}, conclusive=n != 2)
            if n == 0:  # old.md is edited: it no longer cites DROPPED
                store.record_citations([cite(GONE, "old.md", "gone")], night(n))
        store.record_citations(
            [cite(FINE, "new.md", "fine"), cite(WALLED, "new.md", "wall")], night(4)
        )


def test_groups_agree_with_the_store_and_uncited_links_are_left_out(new_location):
    path = new_location()
    build(path)
    with open_store(path) as store:
        made = report.make(store, report.ReportOptions(store="s"))
        states = {s.url: s for s in store.states()}
    assert made.rule == DEFAULT_RULE  # no run recorded one: 3 checks over 3 days
    # DROPPED has a check, but no article cites it any more
    assert set(states) == {GONE, FINE, WALLED, DROPPED}
    cited = (GONE, FINE, WALLED)
    expected = Counts.of(group_of(states[u].verdict, states[u].outcome) for u in cited)
    assert made.headline.counts == expected
    # GONE failed twice (the timeout between says nothing): suspect, not dead;
    # WALLED was alive, then blocked: blocked now
    assert (expected.suspect, expected.blocked, expected.alive) == (1, 1, 1)
    assert made.dead_citations == ()
    assert made.headline.articles == 2


def test_unknown_years_trend_rows_and_json_nulls(new_location):
    path = new_location()
    build(path)
    options = report.ReportOptions(dead_after_failures=2, dead_after=timedelta(days=3))
    with open_store(path) as store:
        made = report.make(store, options)
    assert made.headline.counts.dead == 1  # two failures over three days now do
    (dead,) = made.dead_citations
    assert (dead.url, dead.failures, dead.dead_since_run) == (GONE, 2, "r1")
    assert (dead.text, dead.reason, dead.http_status) == ("gone", "http-410", 410)
    assert made.headline.newly_dead == (GONE,)
    assert [r.key for r in made.by_year] == ["2024", "unknown"]
    trend = {p.run_id: p for p in made.trend}
    assert trend["r1"].status == "crashed"
    assert (trend["r2"].checks, trend["r2"].conclusive) == (0, False)
    assert trend["r2"].counts == trend["r1"].counts  # nothing changed offline
    assert trend["r4"].newly_dead == 1
    assert [d.url for d in made.drift] == [FINE]  # d1 on nights 0-1, then d2
    assert made.drift[0].changed_run == "r3"
    document = json_.document(made)
    years = document["by_year"]
    assert isinstance(years, list)
    assert [row["year"] for row in years] == [2024, None]
    assert dead.last_good is not None
    assert dead.last_good.warc_file == "r0/w0.warc.gz"
    assert dead.last_good.replay == f"/archive/20250301030100/{GONE}"


def test_a_report_of_an_empty_store_has_no_shares(new_location):
    with open_store(new_location()) as store:
        made = report.make(store, report.ReportOptions())
    assert made.headline.counts.checked == 0
    assert made.headline.counts.dead_share is None
    assert made.trend == ()
    for form in report.FORMATS:
        assert report.render(made, form)
