"""The report's lean fold gives every figure the fold of the whole history gives.

``archiver.report.make`` folds each link from :meth:`Store.marks` batch by
batch (:mod:`archiver.report.marks`); ``figures.build`` without a fold reads
the whole history with ``all_checks`` and folds :class:`Check` values
(:func:`archiver.report.timeline.fold`), the definition. On a store of many
nights with every kind of history in it (deaths confirmed and not, revivals,
bot walls, flaky servers, drift and drift back, records with no digest,
citations removed and added back, an article withdrawn, a check recorded
after a later run's, two checks at the same time), both must give the same
report, field by field, in every format, on SQLite and on PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest

from archiver.models import LinkKind, LinkStatus, Outcome, RecordRef
from archiver.report import FORMATS, ReportOptions, make, marks, render, source
from archiver.report.figures import build
from archiver.report.model import Filters
from archiver.report.timeline import fold
from archiver.store.base import Store, StoreLocation, open_store
from archiver.store.history import Check, DeadRule
from tests.manynights import NIGHTS, night, write_history


@pytest.fixture
def history(new_location: Callable[[], StoreLocation]) -> Iterator[Store]:
    with open_store(new_location()) as store:
        write_history(store)
        yield store


def both(store: Store, options: ReportOptions) -> tuple[object, object]:
    whole = build(source.read(store), options)
    lean = make(store, options)
    return whole, lean


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(since=night(20)),
        Filters(domains=("site3.example",)),
        Filters(articles=("posts/4.md",)),
    ],
    ids=["all", "since", "domain", "article"],
)
def test_the_lean_fold_gives_the_same_report_as_the_whole_history(history, filters):
    options = ReportOptions(filters=filters, generated=night(NIGHTS))
    whole, lean = both(history, options)
    assert lean == whole
    for form in FORMATS:
        assert render(lean, form) == render(whole, form)  # type: ignore[arg-type]


def test_the_history_has_every_kind_of_link_the_fold_must_agree_on(history):
    whole = build(source.read(history), ReportOptions(generated=night(NIGHTS)))
    counts = whole.headline.counts
    assert min(counts.alive, counts.dead, counts.blocked) > 0
    assert whole.headline.drifted > 0
    compared = {d.compared for d in whole.drift}
    assert compared == {"main-text", "payload"}  # news pages by text, others by bytes
    news = [u for u in (d.url for d in whole.drift) if u.endswith(("/8", "/9"))]
    assert news, "a news page whose text was edited is drift"
    assert any(point.fixed for point in whole.trend)
    assert any(point.revived for point in whole.trend)
    assert whole.headline.withdrawn_articles == 1


@pytest.mark.parametrize(
    "rule",
    [
        DeadRule(failures=2, span=timedelta(days=1)),
        DeadRule(failures=6, span=timedelta(days=1)),  # the count decides
        DeadRule(failures=1, span=timedelta(0)),  # dead at the first failure
    ],
    ids=["2-in-1-day", "6-in-1-day", "at-once"],
)
def test_every_link_folds_alike_under_another_rule(history, rule):
    runs = history.runs()
    index = {run.id: (n, run.started) for n, run in enumerate(runs)}
    checks: dict[str, list[Check]] = {}
    for check in history.all_checks():
        checks.setdefault(check.url, []).append(check)
    lean = marks.lives(history, set(checks), index, rule)
    assert set(lean) == set(checks)
    for url, every in checks.items():
        assert lean[url] == fold(every, index, rule), url


def test_marks_of_urls_never_checked_are_left_out(history):
    assert list(history.marks(["https://never.example/"])) == []
    assert history.checks_at([("https://never.example/", "r001")]) == {}


def _tallied_history(store: Store) -> list[str]:
    """Links the database's sums settle, with copies whose bytes change nightly.

    A news page's bytes (no text digest kept) or a page whose text stays the
    same: the streak's digest is then its last copy's, read with that copy.
    """
    fates = ("bytes", "bytes-then-dead", "same-text", "bare-then-dead", "gone")
    urls = [f"https://tally.example/{fate}" for fate in fates]
    for n in range(10):
        run_id = f"t{n:02d}"
        store.begin_run(run_id, night(n), {})
        statuses = []
        for url, fate in zip(urls, fates, strict=True):
            dead = fate == "gone" or (fate.endswith("then-dead") and n >= 4)
            record = None
            if not dead:
                payload = None if fate.startswith("bare") else f"sha1:{fate}-{n}"
                record = RecordRef(
                    warc_file=f"w-{n}.warc.gz", offset=100 * n, payload_digest=payload
                )
            statuses.append(
                LinkStatus(
                    url=url,
                    kind=LinkKind.LINK,
                    citations=(),
                    outcome=Outcome.DEAD if dead else Outcome.ALIVE,
                    reason="http-404" if dead else "ok",
                    detail="",
                    http_status=404 if dead else 200,
                    attempts=1,
                    content_type=None if dead else "text/html",
                    text_digest="sha256:same" if fate == "same-text" else None,
                    record=record,
                    checked=night(n) + timedelta(minutes=5),
                )
            )
        store.record_checks(run_id, statuses)
        store.finish_run(run_id, night(n) + timedelta(hours=1), {}, True)
    return urls


def test_links_the_sums_settle_fold_as_their_checks_do(new_location):
    with open_store(new_location()) as store:
        urls = _tallied_history(store)
        runs = store.runs()
        index = {run.id: (n, run.started) for n, run in enumerate(runs)}
        positions = {run: found[0] for run, found in index.items()}
        tallies = list(store.tallies(urls))
        assert [t.url for t in tallies] == sorted(urls)
        for tally in tallies:  # the fast path, not the marks, folds each
            assert marks.fold_tally(tally, positions, index, store.rule), tally.url
        lean = marks.lives(store, urls, index, store.rule)
        for url in urls:
            assert lean[url] == fold(store.history(url), index, store.rule), url
        assert lean[urls[0]].streak.digest == "sha1:bytes-9"
        assert lean[urls[1]].streak.digest == "sha1:bytes-then-dead-3"
