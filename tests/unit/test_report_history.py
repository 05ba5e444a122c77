"""History that doesn't change (issue 17 item 3), on both stores, at explicit times.

A report's trend counts each night from what that night recorded: the
citations active then and the checks made by then. So a link an editor
removes later stays in every earlier night, and shows as fixed on the night
it left. The yardstick is the report made before the edit: every figure it
printed must come out the same in every later report.
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
from archiver.report.model import Report
from archiver.report.timeline import Spell, merge
from archiver.store.base import Store, open_store
from archiver.store.location import StoreLocation

T0 = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
GONE = "https://gone.example.com/a"  # dead from the first night, a.md drops it
SHARED = "https://shared.example.com/b"  # dead, a.md drops it, b.md keeps it
FINE = "https://fine.example.org/c"  # alive, a.md drops it: removed, not fixed
FAILING = "https://failing.example.org/d"  # suspect when a.md drops it: fixed
STAYS = "https://stays.example.org/e"  # b.md's, alive throughout


def night(n: int) -> datetime:
    return T0 + timedelta(days=n)


def article(name: str, sha: str) -> Article:
    return Article(
        path=Path(name),
        url=f"https://paper.example/{name}",
        title=name,
        published=T0,
        body="",
        text="",
        sha256=sha,
    )


def cites(name: str, *urls: str) -> list[Target]:
    return [
        Target(
            url=NormalizedURL(url),
            citations=(
                Citation(
                    article=name,
                    kind=LinkKind.LINK,
                    element="a",
                    attribute="href",
                    text=url.rsplit("/", 1)[-1],
                ),
            ),
        )
        for url in urls
    ]


def status(url: str, n: int) -> LinkStatus:
    dead = url in (GONE, SHARED) or (url == FAILING and n >= 3)
    record = None
    if not dead:
        record = RecordRef(warc_file=f"w{n}.warc.gz", offset=n, payload_digest="d")
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(),
        outcome=Outcome.DEAD if dead else Outcome.ALIVE,
        reason="http-404" if dead else "ok",
        detail="",
        http_status=404 if dead else 200,
        record=record,
        checked=night(n) + timedelta(minutes=5),
    )


def run_night(store: Store, n: int, urls: list[str]) -> None:
    """One night as nightly runs it: citations first, then the checks."""
    store.begin_run(f"r{n}", night(n), {})
    store.record_checks(f"r{n}", [status(url, n) for url in urls])
    store.finish_run(f"r{n}", night(n) + timedelta(hours=1), {}, conclusive=True)


def make(store: Store, n: int) -> Report:
    return report.make(
        store, report.ReportOptions(generated=night(n) + timedelta(hours=2))
    )


def first_nights(location: StoreLocation) -> Report:
    """Nights 0-4 with both articles as first written; the report made then."""
    with open_store(location) as store:
        store.record_articles([article("a.md", "1"), article("b.md", "1")], night(0))
        store.record_citations(
            [
                *cites("a.md", GONE, SHARED, FINE, FAILING),
                *cites("b.md", SHARED, STAYS),
            ],
            night(0),
        )
        for n in range(5):
            run_night(store, n, [GONE, SHARED, FINE, FAILING, STAYS])
        return make(store, 4)


def test_a_removed_dead_link_leaves_every_earlier_night_as_printed(new_location):
    location = new_location()
    before = first_nights(location)
    assert before.trend[4].counts.dead == 2  # GONE and SHARED, confirmed on night 3
    assert before.trend[4].counts.suspect == 1  # FAILING, failing since night 3
    assert before.headline.fixed == 0
    with open_store(location) as store:
        # Night 5: the editor takes GONE, SHARED, FINE and FAILING out of a.md.
        store.record_articles([article("a.md", "2")], night(5))
        store.record_citations([], night(5), articles=["a.md"])
        for n in range(5, 8):
            run_night(store, n, [SHARED, STAYS])
        after = make(store, 7)

    assert after.trend[:5] == before.trend  # every field of every earlier night
    earlier = json_.document(before)["trend"]
    later = json_.document(after)["trend"]
    assert isinstance(earlier, list)
    assert isinstance(later, list)
    assert later[:5] == earlier
    for form in ("md", "html"):  # each earlier night's row printed the same
        old, new = report.render(before, form), report.render(after, form)
        for point in before.trend:
            assert _row(old, point.run_id) == _row(new, point.run_id), (form, point)

    left = after.trend[5]
    # GONE (dead) and FAILING (suspect) left: fixed; FINE left alive: removed.
    # SHARED is still cited by b.md: neither.
    assert (left.fixed, left.removed) == (2, 1)
    assert (left.counts.dead, left.counts.suspect) == (1, 0)
    assert left.counts.checked == 2  # SHARED and STAYS
    assert [p.fixed for p in after.trend] == [0, 0, 0, 0, 0, 2, 0, 0]
    assert after.headline.fixed == 2
    assert after.headline.counts.dead == 1
    assert [d.url for d in after.dead_citations] == [SHARED]
    assert [d.article for d in after.dead_citations] == ["b.md"]
    head = json_.document(after)["headline"]
    assert isinstance(head, dict)
    assert head["fixed"] == 2
    night_five = later[5]
    assert isinstance(night_five, dict)
    assert (night_five["fixed"], night_five["removed"]) == (2, 1)


def test_a_withdrawn_article_leaves_its_nights_and_is_not_a_fix(new_location):
    location = new_location()
    before = first_nights(location)
    with open_store(location) as store:
        store.withdraw(["a.md"], night(5))  # its file is gone: nobody fixed anything
        for n in range(5, 7):
            run_night(store, n, [SHARED, STAYS])
        after = make(store, 6)
    assert after.trend[:5] == before.trend
    assert (after.trend[5].fixed, after.trend[5].removed) == (0, 3)
    assert after.headline.fixed == 0
    assert after.headline.withdrawn_articles == 1
    assert [d.article for d in after.dead_citations] == ["b.md"]


def test_a_link_cited_again_counts_again_from_that_night(new_location):
    location = new_location()
    before = first_nights(location)
    with open_store(location) as store:
        store.record_articles([article("a.md", "2")], night(5))
        store.record_citations(cites("a.md", SHARED, FINE, FAILING), night(5))
        run_night(store, 5, [SHARED, FINE, FAILING, STAYS])
        store.record_articles([article("a.md", "3")], night(6))
        store.record_citations(cites("a.md", GONE, SHARED, FINE, FAILING), night(6))
        run_night(store, 6, [GONE, SHARED, FINE, FAILING, STAYS])
        after = make(store, 6)
    assert after.trend[:5] == before.trend
    assert (after.trend[5].fixed, after.trend[5].counts.dead) == (1, 1)
    # GONE is back, still dead; FAILING was confirmed dead on night 6.
    assert (after.trend[6].counts.dead, after.trend[6].newly_dead) == (3, 1)
    assert sorted({d.url for d in after.dead_citations}) == [FAILING, GONE, SHARED]
    assert after.headline.fixed == 1  # the fix that night stays in the history


def test_spells_of_several_citations_join_and_say_how_the_link_left():
    assert merge([Spell(0, 3), Spell(2, 5, dropped=False)]) == (Spell(0, 5, False),)
    assert merge([Spell(0, 3, dropped=False), Spell(1, 3)]) == (Spell(0, 3, True),)
    assert merge([Spell(0, 2), Spell(2, None)]) == (Spell(0, None),)
    assert merge([Spell(0, 1), Spell(3, 4)]) == (Spell(0, 1), Spell(3, 4))
    assert merge([Spell(2, 2), Spell(4, None)]) == (Spell(4, None),)


def _row(text: str, run_id: str) -> str:
    """The trend table's row of one run, as printed in md or html."""
    if "<tr>" in text:
        start = text.index('id="trend"')
        rows = text[start : text.index("</table>", start)].split("<tr>")
        cells = [row.split("</tr>")[0] for row in rows]
        found = [row for row in cells if f'<td class="">{run_id}</td>' in row]
    else:
        found = [line for line in text.splitlines() if line.startswith(f"| `{run_id}`")]
    assert len(found) == 1, run_id
    return found[0]
