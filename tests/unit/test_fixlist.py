"""The fix list's choices, on a real store written through its API with explicit times.

Which copy of ours (a revisit resolved to its response, even under another
URL), which archive capture, what confidence, what interval, which order:
each expectation is worked out by hand in the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.models import (
    Article,
    Capture,
    Citation,
    LinkKind,
    LinkStatus,
    Memento,
    MementoFinding,
    NormalizedURL,
    Outcome,
    Placement,
    RecordRef,
    Target,
)
from archiver.report import fix, source
from archiver.store.base import Store, open_store

T0 = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=6)
OLD = datetime(2015, 6, 1, tzinfo=UTC)
PAGE = "https://news.example/page"  # response, then a revisit of it, then dead
IMG1 = "https://cdn.example/a.png"  # alive: the response holding the bytes
IMG2 = "https://mirror.example/a.png"  # a revisit of IMG1's record, then dead
NEVER = "https://gone.example/x"  # dead from the first check
ORPHAN = "https://orphan.example/x"  # a revisit of a record the store lacks
CHANGED = "https://news.example/changed"  # new content on night 1, then dead


def night(n: float) -> datetime:
    return T0 + timedelta(days=n)


def stamp(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def check(
    url: str, outcome: Outcome, n: int, record: RecordRef | None = None
) -> LinkStatus:
    alive = outcome is Outcome.ALIVE
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(),
        outcome=outcome,
        reason="ok" if alive else "http-404",
        detail="",
        http_status=200 if alive else 404,
        record=record,
        checked=night(n) + timedelta(minutes=n + 1),
    )


def response(n: int, offset: int, digest: str) -> RecordRef:
    return RecordRef(
        warc_file=f"n{n}.warc.gz",
        offset=offset,
        payload_digest=digest,
        date=stamp(night(n) + timedelta(minutes=n + 1)),
    )


def revisit(n: int, offset: int, digest: str, of: str, of_night: int) -> RecordRef:
    original = stamp(night(of_night) + timedelta(minutes=of_night + 1))
    return RecordRef(
        warc_file=f"n{n}.warc.gz",
        offset=offset,
        payload_digest=digest,
        revisit_of=Capture(uri=of, date=original),
    )


def article(name: str, published: datetime | None) -> Article:
    return Article(
        path=Path(name),
        url=f"https://blog.example/{name}",
        title=name,
        published=published,
        body="",
        text="",
        sha256=name,
    )


def cite(name: str, kind: LinkKind = LinkKind.LINK) -> Citation:
    return Citation(article=name, kind=kind, element="a", attribute="href")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(tmp_path / "archiver.sqlite3") as opened:
        articles = [article("recent.txt", night(1.5)), article("old.txt", OLD)]
        opened.record_articles(articles, T0)
        targets = [
            Target(url=NormalizedURL(PAGE), citations=(cite("recent.txt"),)),
            Target(url=NormalizedURL(CHANGED), citations=(cite("recent.txt"),)),
            Target(
                url=NormalizedURL(IMG2),
                citations=(cite("recent.txt", LinkKind.IMAGE),),
            ),
            Target(url=NormalizedURL(IMG1), citations=(cite("old.txt"),)),
            Target(url=NormalizedURL(NEVER), citations=(cite("old.txt"),)),
            Target(url=NormalizedURL(ORPHAN), citations=(cite("old.txt"),)),
        ]
        opened.record_citations(targets, T0)
        rule = {"dead_after_failures": 3, "dead_after_days": 2}
        for n in range(5):
            run = f"run{n}"
            opened.begin_run(run, night(n), rule)
            statuses = []
            if n == 0:
                statuses += [
                    check(PAGE, Outcome.ALIVE, n, response(0, 100, "sha1:P")),
                    check(CHANGED, Outcome.ALIVE, n, response(0, 500, "sha1:C0")),
                    check(IMG1, Outcome.ALIVE, n, response(0, 200, "sha1:I")),
                    check(IMG2, Outcome.ALIVE, n, revisit(0, 300, "sha1:I", IMG1, 0)),
                    check(
                        ORPHAN, Outcome.ALIVE, n, revisit(0, 400, "sha1:O", ORPHAN, 9)
                    ),
                ]
            elif n == 1:
                statuses += [
                    check(PAGE, Outcome.ALIVE, n, revisit(1, 100, "sha1:P", PAGE, 0)),
                    check(CHANGED, Outcome.ALIVE, n, response(1, 600, "sha1:C1")),
                    check(IMG1, Outcome.ALIVE, n, revisit(1, 200, "sha1:I", IMG1, 0)),
                    check(IMG2, Outcome.DEAD, n),
                    check(ORPHAN, Outcome.DEAD, n),
                ]
            else:
                statuses += [
                    check(u, Outcome.DEAD, n) for u in (PAGE, IMG2, ORPHAN, CHANGED)
                ]
                statuses.append(check(IMG1, Outcome.ALIVE, n, response(n, 9, "sha1:I")))
            if n >= 0:
                statuses.append(check(NEVER, Outcome.DEAD, n))
            opened.record_checks(run, statuses)
            opened.finish_run(run, night(n) + timedelta(hours=1), {}, True)
        yield opened


def dead(store: Store) -> dict[tuple[str, str], fix.DeadCitation]:
    found = fix.dead_citations(source.read(store), fix.FixOptions(now=NOW))
    return {(d.article.path, d.url): d for d in found}


def test_only_confirmed_dead_citations_are_listed(store):
    # IMG1 is alive; IMG2 and ORPHAN failed on nights 1-4, PAGE on 2-4, NEVER 0-4.
    assert set(dead(store)) == {
        ("recent.txt", PAGE),
        ("recent.txt", CHANGED),
        ("recent.txt", IMG2),
        ("old.txt", NEVER),
        ("old.txt", ORPHAN),
    }


def test_the_nearest_copy_before_publication_resolves_its_revisit(store):
    page = dead(store)[("recent.txt", PAGE)]
    # Published at night 1.5: night 1's check is nearest before, a revisit of
    # night 0's response, which is where the body is.
    assert page.own_before
    assert page.own == fix.OwnCopy(
        captured=night(0) + timedelta(minutes=1),
        run_id="run0",
        warc_file="run0/n0.warc.gz",
        offset=100,
    )


def test_the_nearest_copy_is_the_latest_before_publication_else_the_first_after(
    store,
):
    # recent.txt was published on night 1.5: night 1's new content is nearest.
    changed = dead(store)[("recent.txt", CHANGED)]
    assert changed.own is not None
    assert changed.own_before
    assert (changed.own.warc_file, changed.own.offset) == ("run1/n1.warc.gz", 600)
    # Published in 2015, before any capture: the first one, from after it.
    store.record_articles([article("recent.txt", OLD)], night(5))
    changed = dead(store)[("recent.txt", CHANGED)]
    assert changed.own is not None
    assert not changed.own_before
    assert (changed.own.warc_file, changed.own.offset) == ("run0/n0.warc.gz", 500)


def test_a_revisit_of_another_urls_response_points_at_that_response(store):
    img = dead(store)[("recent.txt", IMG2)]
    assert img.own is not None
    assert (img.own.warc_file, img.own.offset) == ("run0/n0.warc.gz", 200)
    assert img.own.captured == night(0) + timedelta(minutes=1)  # IMG2's own check


def test_a_revisit_whose_original_is_unknown_is_no_copy(store):
    orphan = dead(store)[("old.txt", ORPHAN)]
    assert orphan.own is None
    questions = fix.questions(dead(store).values(), NOW)
    assert questions == {(ORPHAN, OLD), (NEVER, OLD)}


def test_replacements_confidence_and_intervals(store):
    found = list(dead(store).values())
    near = Memento(
        url="https://arch.example/web/20150520/x",
        captured=datetime(2015, 5, 20, tzinfo=UTC),
        archive="https://arch.example/web/",
        status=200,
    )
    far = Memento(
        url="https://arch.example/web/2019/x",
        captured=datetime(2019, 3, 2, tzinfo=UTC),
        archive="https://arch.example/web/",
        status=200,
    )
    dead_capture = Memento(
        url="https://arch.example/web/2015/o",
        captured=datetime(2015, 6, 1, tzinfo=UTC),
        archive="https://arch.example/web/",
        status=404,
    )
    findings = {
        (NEVER, OLD): MementoFinding(url=NEVER, nearest=near, last_alive=far),
        (ORPHAN, OLD): MementoFinding(url=ORPHAN, nearest=dead_capture, last_alive=far),
    }
    fixes = fix.build(found, findings, fix.FixOptions(now=NOW), memento_asked=True)
    rows = {(r.article.path, r.url): r for r in fixes.rows}
    page = rows[("recent.txt", PAGE)]
    assert (page.replacement.source, page.replacement.confidence) == ("ours", "high")
    assert page.dead.last_alive == night(1) + timedelta(minutes=2)
    assert page.dead.last_alive_by == "ours"
    assert page.dead.first_dead == night(2) + timedelta(minutes=3)
    assert not page.dead.before_monitoring
    never = rows[("old.txt", NEVER)]
    assert never.replacement.url == near.url
    assert never.replacement.confidence == "medium"  # 12 days from publication
    assert never.dead.last_alive == far.captured
    assert never.dead.before_monitoring
    orphan = rows[("old.txt", ORPHAN)]
    # The nearest capture is of a 404: the last alive one is used, far away.
    assert orphan.replacement.url == far.url
    assert orphan.replacement.confidence == "low"
    # We saw ORPHAN alive on night 0, after the archive's last alive capture
    # (its record is unusable as a copy; the check still says it was alive).
    assert orphan.dead.last_alive == night(0) + timedelta(minutes=1)
    assert orphan.dead.last_alive_by == "ours"
    assert not orphan.dead.before_monitoring


def test_ranking_by_weight_recency_and_views(store):
    found = list(dead(store).values())
    # recent.txt: two links (in-text, 2 each) + an image (media, 1) = 5,
    # recency ~1; old.txt: two in-text links = 4, recency
    # 0.5 + 0.5 * 0.5 ** (10.6 / 2) ~ 0.51.
    plain = fix.build(found, {}, fix.FixOptions(now=NOW))
    assert [a.article.path for a in plain.articles] == ["recent.txt", "old.txt"]
    assert plain.articles[0].score == pytest.approx(5, rel=0.01)
    assert plain.articles[1].score == pytest.approx(4 * 0.512, rel=0.01)
    # Both of old.txt's links in its footer: 0.5 x 0.51.
    footer = {"old.txt": {NEVER: Placement.FOOTER, ORPHAN: Placement.FOOTER}}
    lead = {"recent.txt": {IMG2: Placement.LEAD_IMAGE}}
    placed = fix.build(found, {}, fix.FixOptions(now=NOW, placements=footer | lead))
    assert placed.articles[0].score == pytest.approx(7, rel=0.01)  # 2 + 3 + 2
    assert placed.articles[1].score == pytest.approx(0.5 * 0.512, rel=0.01)
    assert [r.placement for r in placed.articles[0].rows] == [
        Placement.LEAD_IMAGE,
        Placement.IN_TEXT,
        Placement.IN_TEXT,
    ]
    # 10^4 views: 2.05 x (1 + log10(10001)) ~ 10.2 puts old.txt first.
    views = {"https://blog.example/old.txt": 10_000}
    busy = fix.build(found, {}, fix.FixOptions(now=NOW, views=views))
    assert [a.article.path for a in busy.articles] == ["old.txt", "recent.txt"]
    assert busy.articles[0].views == 10_000
    assert busy.articles[1].views == 0


def test_no_replacement_means_needs_research(store):
    fixes = fix.build(list(dead(store).values()), {}, fix.FixOptions(now=NOW))
    rows = {(r.article.path, r.url): r for r in fixes.rows}
    never = rows[("old.txt", NEVER)]
    assert never.replacement.source == "needs-research"
    assert never.replacement.url == ""
    assert never.dead.describe().startswith("dead before monitoring began")
