"""run_nightly called as a library, in-process: two nights over one root."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver import clock
from archiver.crawl.client import ClientSettings
from archiver.crawl.fetch import FetchSettings
from archiver.run.nightly import NightlySettings, run_nightly
from archiver.run.preserve import PreserveSettings
from archiver.store.base import open_store
from archiver.store.history import DeadRule
from tests.clirun import links_to, write_article
from tests.reporting import Notes

NIGHT = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)


def test_two_nights_in_process_check_again_and_revisit_the_unchanged(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    fakeweb.switch(f"lib-{token}", 200, b"<p>the same every night</p>")
    link = fakeweb.url(f"/switch/lib-{token}")
    (tmp_path / "articles").mkdir()
    write_article(
        tmp_path / "articles" / "a.txt",
        fakeweb.url(f"/page/lib-article-{token}"),
        links_to({"x": link}),
    )
    root = tmp_path / "warcs"
    results = []
    for night in range(2):
        settings = NightlySettings(
            preserve=PreserveSettings(
                inputs=(tmp_path / "articles",),
                out=root,
                fetch=FetchSettings(allow_private=True),
                probe=False,
                client=ClientSettings(user_agent="test"),
            ),
            store=root / "archiver.sqlite3",
            rule=DeadRule(failures=3, span=timedelta(days=2)),
            alive_every=timedelta(days=1),
        )
        reporter = Notes()
        with clock.installed(clock.starting_at(NIGHT + timedelta(days=night))):
            results.append(run_nightly(settings, reporter))
        assert link in {s.url for s in reporter.statuses}
        assert not [n for n in reporter.notes if n.startswith("skipped:")]
    first, second = results
    assert (first.new_articles, second.new_articles) == (1, 0)
    assert second.rechecked == 2  # the article's page and its link, both due
    with open_store(root / "archiver.sqlite3") as store:
        checks = store.history(link)
        assert [c.outcome.value for c in checks] == ["alive", "alive"]
        assert checks[1].record is not None
        assert checks[1].record.revisit_of is not None  # unchanged: a revisit
        assert [run.status.value for run in store.runs()] == ["completed"] * 2


def test_one_clock_dates_the_night_its_checks_and_its_records(fakeweb, tmp_path):
    """Issue 13: the run's start, each check and every WARC-Date share a clock."""
    token = uuid.uuid4().hex[:8]
    link = fakeweb.url(f"/page/clock-{token}")
    (tmp_path / "articles").mkdir()
    write_article(
        tmp_path / "articles" / "a.txt",
        fakeweb.url(f"/page/clock-article-{token}"),
        links_to({"x": link}),
    )
    root = tmp_path / "warcs"
    settings = NightlySettings(
        preserve=PreserveSettings(
            inputs=(tmp_path / "articles",),
            out=root,
            fetch=FetchSettings(allow_private=True),
            probe=False,
            client=ClientSettings(user_agent="test"),
        ),
        store=root / "archiver.sqlite3",
        rule=DeadRule(failures=3, span=timedelta(days=2)),
    )
    with clock.installed(clock.starting_at(NIGHT)):
        run_nightly(settings, Notes())
    hour = timedelta(hours=1)
    with open_store(root / "archiver.sqlite3") as store:
        (run,) = store.runs()
        assert NIGHT <= run.started < NIGHT + hour
        (check,) = store.history(link)
        assert run.started <= check.checked < NIGHT + hour
    dates = set()
    for path in root.glob("*/*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                dates.add(record.rec_headers.get_header("WARC-Date"))
        assert path.name.startswith("archiver-20260201")  # named by the same clock
    assert dates
    assert all(d.startswith("2026-02-01T03:") for d in dates), dates


def test_a_clock_without_a_timezone_is_refused():
    with pytest.raises(ValueError, match="give a timezone"):
        clock.starting_at(datetime(2026, 2, 1))


def test_a_started_clock_reads_its_start_first_however_late(monkeypatch):
    ticks = iter([100.0, 100.0, 103.5])
    monkeypatch.setattr("archiver.clock.time.monotonic", lambda: next(ticks))
    read = clock.starting_at(NIGHT)
    assert read() == NIGHT  # first reading: the start, not the making
    assert read() == NIGHT + timedelta(seconds=3.5)
