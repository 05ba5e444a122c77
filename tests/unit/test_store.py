"""The history store's contract, on a real SQLite file and a real PostgreSQL
database alike (each test that takes ``location`` or ``store`` runs on both):
schema upgrades, round trips, verdicts over several nights (explicit times,
no sleeping), planning, crash resume, concurrent access, and the trio writer.
What only one of them has (WAL mode, byte-order collation, URLs that fail to
open) is tested for that one."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import trio
import trio.lowlevel

from archiver.errors import ExitCode, StoreError
from archiver.models import (
    ArchiveAnswer,
    Article,
    Capture,
    Citation,
    LinkKind,
    LinkStatus,
    Memento,
    NormalizedURL,
    Outcome,
    RecordRef,
    Rejection,
    Target,
    Unfetched,
)
from archiver.store import migrations, sql as sql_store
from archiver.store.base import Store, copy_store, open_store
from archiver.store.history import Check, DeadRule, RunStatus, Verdict, advance
from archiver.store.location import PostgresURL, StoreLocation
from archiver.store.postgres import DIALECT as POSTGRES_DIALECT, PostgresStore
from archiver.store.rows import to_text
from archiver.store.sql import Dialect
from archiver.store.sqlite import DIALECT, SQLiteStore
from archiver.store.writer import StoreWriter
from tests.stores import raw, table_names

T0 = datetime(2025, 3, 1, 3, 0, tzinfo=UTC)  # the first night's run starts
URL = "https://example.org/page"

REASONS = {
    Outcome.ALIVE: ("ok", 200),
    Outcome.DEAD: ("http-404", 404),
    Outcome.ERROR: ("timeout", None),
    Outcome.BLOCKED: ("http-403", 403),
}


def night(n: float) -> datetime:
    return T0 + timedelta(days=n)


def status(
    url: str,
    outcome: Outcome,
    checked: datetime | None,
    *,
    digest: str | None = "sha1:AAAA",
    offset: int = 0,
    text: str | None = None,
    content_type: str = "text/html",
) -> LinkStatus:
    reason, code = REASONS[outcome]
    record = None
    if outcome is Outcome.ALIVE:
        record = RecordRef(
            warc_file=f"{checked:%Y%m%d}.warc.gz" if checked else "x.warc.gz",
            offset=offset,
            payload_digest=digest,
        )
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(),
        outcome=outcome,
        reason=reason,
        detail=f"{reason} detail",
        http_status=code,
        final_url=url if code else None,
        attempts=1,
        content_type=content_type if record else None,
        length=1234 if record else None,
        record=record,
        checked=checked,
        text_digest=text if record else None,
    )


def check_at(store: Store, started: datetime, url: str, outcome: Outcome, **kw) -> None:
    """One check of ``url`` in the run that started at ``started``."""
    run_id = f"run-{started:%Y%m%dT%H%M}"
    if store.run(run_id) is None:
        store.begin_run(run_id, started, {})
    store.record_checks(
        run_id, [status(url, outcome, started + timedelta(minutes=5), **kw)]
    )


def verdict(store: Store, url: str = URL) -> Verdict | None:
    found = store.state(url)
    return found.verdict if found else None


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A SQLite store's path, for what only SQLite has."""
    return tmp_path / "warcs" / "archiver.sqlite3"


@pytest.fixture
def location(new_location: Callable[[], StoreLocation]) -> StoreLocation:
    """Where a new store goes: a SQLite file, then a PostgreSQL schema."""
    return new_location()


@pytest.fixture
def store(location: StoreLocation) -> Iterator[Store]:
    with open_store(location) as opened:
        yield opened


def dialect_of(location: StoreLocation) -> Dialect:
    return POSTGRES_DIALECT if isinstance(location, PostgresURL) else DIALECT


def article(name: str, sha: str) -> Article:
    return Article(
        path=Path(name),
        url=f"https://blog.example/{name}",
        title=f"Title of {name}",
        published=T0,
        body="<p>body</p>",
        text="text",
        sha256=sha,
    )


def citation(name: str, text: str) -> Citation:
    return Citation(
        article=name, kind=LinkKind.LINK, element="a", attribute="href", text=text
    )


# Schema and migrations


def test_a_new_store_is_created_at_the_current_version_in_wal_mode(path):
    open_store(path).close()
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = [row[0] for row in raw.execute("SELECT version FROM schema_version")]
    finally:
        raw.close()
    assert versions == [m.version for m in migrations.MIGRATIONS]
    assert versions[-1] == migrations.SCHEMA_VERSION


def test_a_new_postgres_store_compares_text_as_bytes(postgres):
    location = postgres.new_store()
    open_store(location).close()
    with raw(location) as conn:
        collations = {
            str(row[0])
            for row in conn.execute(
                "SELECT collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND data_type = 'text'"
            ).fetchall()
        }
        versions = [
            row[0]
            for row in conn.execute(
                "SELECT version FROM schema_version ORDER BY version"
            ).fetchall()
        ]
    assert collations == {"C"}
    assert versions == [m.version for m in migrations.MIGRATIONS]


def test_urls_come_back_in_byte_order_whatever_the_database_locale(store):
    # Under an English collation "http://a/a" < "http://a/B" and "-" sorts
    # after "/"; SQLite, Python and the reports compare bytes.
    urls = ["http://a/a", "http://a/B", "http://a/_x", "http://a-b/", "http://a/"]
    store.record_articles([article("Z.md", "1"), article("a.md", "1")], T0)
    store.record_citations(
        [
            Target(url=NormalizedURL(u), citations=(citation(name, u),))
            for u in urls
            for name in ("Z.md", "a.md")
        ],
        T0,
    )
    for url in urls:
        check_at(store, night(0), url, Outcome.DEAD)
    assert [s.url for s in store.states()] == sorted(urls)
    assert [c.url for c in store.all_checks()] == sorted(urls)
    assert list(store.all_citations()) == sorted(urls)
    assert [a.path for a in store.articles()] == ["Z.md", "a.md"]


def test_a_version_1_store_is_upgraded_and_its_old_checks_are_judged(location):
    with raw(location) as conn:
        migrations.migrate(conn, dialect_of(location), "old", T0, target=1)
        for n in range(4):  # four nights of 404s, written as version 1 wrote them
            run_id = f"old-{n}"
            conn.execute(
                "INSERT INTO runs (id, started, finished, options, counts, "
                "conclusive, status) VALUES (?, ?, ?, '{}', '{}', 1, 'completed')",
                (run_id, to_text(night(n)), to_text(night(n))),
            )
            conn.execute(
                "INSERT INTO urls (url, first_seen, fetchable) VALUES (?, ?, 1) "
                "ON CONFLICT (url) DO NOTHING",
                (URL, to_text(night(0))),
            )
            conn.execute(
                "INSERT INTO checks (run_id, url, checked, outcome, reason, detail, "
                "attempts, truncated) "
                "VALUES (?, ?, ?, 'dead', 'http-404', 'gone', 1, 0)",
                (run_id, URL, to_text(night(n) + timedelta(minutes=1))),
            )
        assert migrations.current_version(conn) == 1

    with open_store(location) as store:
        state = store.state(URL)
        assert len(store.history(URL)) == 4
    assert state is not None
    assert state.verdict is Verdict.DEAD
    assert state.dead_since == night(0) + timedelta(minutes=1)
    with raw(location) as conn:
        assert migrations.current_version(conn) == migrations.SCHEMA_VERSION


def test_a_store_from_a_newer_archiver_is_refused_in_one_line(location):
    open_store(location).close()
    with raw(location) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, applied, summary) VALUES (?, ?, ?)",
            (migrations.SCHEMA_VERSION + 1, to_text(T0), "from the future"),
        )
    for read_only in (False, True):
        with pytest.raises(StoreError) as caught:
            open_store(location, read_only=read_only)
        message = str(caught.value)
        assert "\n" not in message
        assert str(location) in message
        assert f"version {migrations.SCHEMA_VERSION + 1} is newer" in message
        assert caught.value.exit_code is ExitCode.FAILURE


def test_another_database_is_refused_and_left_untouched(location):
    with raw(location) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    with pytest.raises(StoreError, match="not an archiver store"):
        open_store(location)
    assert table_names(location) == {"notes"}
    if isinstance(location, Path):
        raw_file = sqlite3.connect(location)
        assert raw_file.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        raw_file.close()


def test_a_file_that_is_not_a_database_is_refused(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a database at all\n" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        open_store(path)


# Runs


def test_runs_round_trip_and_unfinished_ones_are_listed(store):
    store.begin_run("a", night(0), {"limit": 500, "out": Path("warcs/a")})
    store.begin_run("b", night(1), {})
    finished = store.finish_run("a", night(0) + timedelta(hours=1), {"alive": 3}, True)
    assert finished.status is RunStatus.COMPLETED
    assert finished.options == {"limit": 500, "out": "warcs/a"}
    assert finished.counts == {"alive": 3}
    assert finished.conclusive is True
    assert finished.finished == night(0) + timedelta(hours=1)
    assert [run.id for run in store.unfinished_runs()] == ["b"]

    store.finish_run("b", night(2), {}, False, status=RunStatus.CRASHED)
    assert store.unfinished_runs() == ()
    assert store.run("b").status is RunStatus.CRASHED


def test_a_run_id_cannot_be_begun_twice_or_finished_unbegun(store):
    store.begin_run("a", night(0), {})
    with pytest.raises(StoreError, match="already recorded"):
        store.begin_run("a", night(1), {})
    with pytest.raises(StoreError, match="no run nope"):
        store.finish_run("nope", night(1), {}, True)
    assert store.run("a").started == night(0)


def test_every_run_is_listed_oldest_first_whatever_its_status(store):
    store.begin_run("late", night(2), {})
    store.begin_run("early", night(0), {"k": 1})
    store.begin_run("middle", night(1), {})
    store.finish_run("early", night(0), {"alive": 1}, True)
    store.finish_run("middle", night(1), {}, False, status=RunStatus.CRASHED)
    runs = store.runs()
    assert [r.id for r in runs] == ["early", "middle", "late"]
    assert [r.status for r in runs] == [
        RunStatus.COMPLETED,
        RunStatus.CRASHED,
        RunStatus.RUNNING,
    ]
    assert runs[0] == store.run("early")


# Articles and citations


def test_changed_articles_are_reported_until_their_links_are_recorded(store):
    first = store.record_articles([article("a.md", "1"), article("b.md", "1")], T0)
    assert [(c.path, c.is_new) for c in first] == [
        (Path("a.md"), True),
        (Path("b.md"), True),
    ]
    # A run that died before recording the links must see them again.
    again = store.record_articles([article("a.md", "1"), article("b.md", "1")], T0)
    assert [c.path for c in again] == [Path("a.md"), Path("b.md")]

    store.record_citations([], T0, articles=["a.md", "b.md"])
    # links recorded, but no copy of the articles written yet: still changed
    again = store.record_articles([article("a.md", "1"), article("b.md", "1")], T0)
    assert [c.path for c in again] == [Path("a.md"), Path("b.md")]
    store.mark_archived(["a.md", "b.md"])
    assert store.record_articles([article("a.md", "1"), article("b.md", "1")], T0) == ()

    changed = store.record_articles([article("a.md", "2"), article("b.md", "1")], T0)
    assert [(c.path, c.previous_sha256, c.is_new) for c in changed] == [
        (Path("a.md"), "1", False)
    ]


def test_citations_round_trip_and_are_replaced_per_article(store):
    store.record_articles([article("a.md", "1"), article("b.md", "1")], T0)
    page = NormalizedURL("https://example.org/page")
    other = NormalizedURL("https://example.org/other")
    twice = (citation("a.md", "first mention"), citation("a.md", "second mention"))
    from_b = (citation("b.md", "in b"),)
    mail = Unfetched(
        url="mailto:someone@example.org",
        citations=(citation("a.md", "write"),),
        rejection=Rejection(outcome=Outcome.SKIPPED, reason="scheme-mailto", detail=""),
    )
    store.record_citations([Target(url=page, citations=twice + from_b), mail], T0)
    found = store.citations([page, mail.url, "https://never.example/"])
    assert found[page] == twice + from_b
    assert found[mail.url] == mail.citations
    assert found["https://never.example/"] == ()

    # a.md was edited: it now cites only `other`; b.md's citation stays.
    store.record_citations([Target(url=other, citations=(twice[0],))], T0)
    assert store.citations([page, other]) == {page: from_b, other: (twice[0],)}

    store.record_citations([], T0, articles=["b.md"])
    assert store.citations([page]) == {page: ()}


def test_a_withdrawn_article_stops_citing_until_it_is_recorded_again(store):
    store.record_articles([article("a.md", "1"), article("b.md", "1")], T0)
    page = NormalizedURL("https://example.org/page")
    own = NormalizedURL("https://example.org/own")
    from_a, from_b = citation("a.md", "in a"), citation("b.md", "in b")
    store.record_citations(
        [
            Target(url=page, citations=(from_a, from_b)),
            Target(url=own, citations=(from_a,)),
        ],
        T0,
    )
    store.withdraw(["a.md"], night(1))
    store.withdraw(["a.md"], night(2))  # the first withdrawal is the one kept
    assert store.citations([page, own]) == {page: (from_b,), own: ()}
    assert store.all_citations() == {page: (from_b,)}
    marks = {a.path: a.withdrawn for a in store.articles()}
    assert marks == {"a.md": night(1), "b.md": None}  # kept, marked

    store.record_articles([article("a.md", "1")], night(3))  # its file is back
    assert store.citations([page, own]) == {page: (from_a, from_b), own: (from_a,)}
    assert {a.path: a.withdrawn for a in store.articles()}["a.md"] is None

    # Each absence stays on record after the return, and a second one too.
    store.withdraw(["a.md"], night(5))
    store.record_articles([article("a.md", "1")], night(7))
    aways = {a.path: a.away for a in store.articles()}
    assert aways == {"a.md": ((night(1), night(3)), (night(5), night(7))), "b.md": ()}
    store.withdraw(["a.md"], night(8))  # away now: no return yet
    [now] = [a for a in store.articles() if a.path == "a.md"]
    assert now.withdrawn == night(8)
    assert now.away[-1] == (night(8), None)


def test_articles_and_all_citations_are_read_back_in_one_go(store):
    undated = replace(article("b.md", "1"), published=None, url=None)
    store.record_articles([article("a.md", "1"), undated], T0)
    store.record_articles([article("a.md", "2")], night(1))
    page = NormalizedURL("https://example.org/page")
    other = NormalizedURL("https://example.org/other")
    twice = (citation("a.md", "first"), citation("a.md", "second"))
    store.record_citations(
        [
            Target(url=page, citations=(*twice, citation("b.md", "in b"))),
            Target(url=other, citations=(citation("b.md", "other"),)),
        ],
        T0,
    )
    found = store.articles()
    assert [a.path for a in found] == ["a.md", "b.md"]
    assert found[0].title == "Title of a.md"
    assert found[0].url == "https://blog.example/a.md"
    assert (found[0].published, found[0].first_seen) == (T0, T0)
    assert found[0].last_seen == night(1)
    assert (found[1].published, found[1].url) == (None, None)
    everything = store.all_citations()
    assert everything == store.citations([page, other])
    store.record_citations([], T0, articles=["b.md"])  # b.md now cites nothing
    assert store.all_citations() == {page: twice}


def test_citations_of_an_unrecorded_article_are_refused_whole(store):
    store.record_articles([article("a.md", "1")], T0)
    target = Target(
        url=NormalizedURL(URL),
        citations=(citation("a.md", "ok"), citation("ghost.md", "?")),
    )
    with pytest.raises(StoreError, match=r"e\.g\. ghost\.md"):
        store.record_citations([target], T0)
    assert store.citations([URL]) == {URL: ()}


def spans(store: Store) -> list[tuple[str, str, datetime, datetime | None]]:
    return [(s.url, s.article, s.added, s.removed) for s in store.citation_spans()]


def test_a_dropped_citation_is_kept_dated_and_no_longer_cited(store):
    """History must not shrink: a link an editor removed stays in its past nights."""
    store.record_articles([article("a.md", "1"), article("b.md", "1")], T0)
    page, other = NormalizedURL(URL), NormalizedURL("https://example.org/other")
    in_a, in_b = citation("a.md", "in a"), citation("b.md", "in b")
    store.record_citations(
        [
            Target(url=page, citations=(in_a, in_b)),
            Target(url=other, citations=(in_a,)),
        ],
        T0,
    )
    check_at(store, night(0), page, Outcome.DEAD)
    check_at(store, night(0), other, Outcome.ALIVE)
    # a.md edited on night 1: `page` dropped, `other` kept as it was.
    store.record_citations([Target(url=other, citations=(in_a,))], night(1))
    assert spans(store) == [
        (other, "a.md", T0, None),  # unchanged: the same row, first cited at T0
        (page, "a.md", T0, night(1)),
        (page, "b.md", T0, None),
    ]
    assert store.citations([page]) == {page: (in_b,)}
    # b.md drops it too on night 2: cited by nobody, so never due again.
    store.record_citations([], night(2), articles=["b.md"])
    assert store.citations([page]) == {page: ()}
    assert store.all_citations() == {other: (in_a,)}
    assert len(store.history(page)) == 1  # its checks are history too
    # Cited again on night 3: a new spell; the old one keeps its dates.
    store.record_citations([Target(url=page, citations=(in_b,))], night(3))
    assert [s for s in spans(store) if s[0] == page] == [
        (page, "a.md", T0, night(1)),
        (page, "b.md", T0, night(2)),
        (page, "b.md", night(3), None),
    ]
    assert store.citations([page]) == {page: (in_b,)}


def test_a_citation_whose_text_changed_is_a_new_row_and_the_link_stays_cited(store):
    store.record_articles([article("a.md", "1")], T0)
    page = NormalizedURL(URL)
    store.record_citations([Target(url=page, citations=(citation("a.md", "x"),))], T0)
    renamed = citation("a.md", "y")
    store.record_citations([Target(url=page, citations=(renamed,))], night(1))
    assert store.citations([page]) == {page: (renamed,)}
    assert spans(store) == [
        (page, "a.md", T0, night(1)),
        (page, "a.md", night(1), None),
    ]
    # Recorded twice at one time (a resumed night): one row, not a clash.
    store.record_citations([Target(url=page, citations=(renamed,))], night(1))
    store.record_citations([], night(1), articles=["a.md"])
    store.record_citations([Target(url=page, citations=(renamed,))], night(1))
    assert spans(store)[-1] == (page, "a.md", night(1), None)
    assert len(spans(store)) == 2


def test_a_version_3_store_is_upgraded_in_place_keeping_its_citations_cited(location):
    with raw(location) as conn:
        migrations.migrate(conn, dialect_of(location), "old", T0, target=3)
        conn.execute(
            "INSERT INTO articles (path, url, title, published, sha256, "
            "linked_sha256, first_seen, last_seen) VALUES "
            "('a.md', NULL, 'A', NULL, 'x', 'x', ?, ?)",
            (to_text(night(0)), to_text(night(2))),
        )
        conn.execute(
            "INSERT INTO urls (url, first_seen, fetchable) VALUES (?, ?, 1)",
            (URL, to_text(night(0))),
        )
        conn.execute(
            "INSERT INTO citations (article, url, seq, kind, element, attribute, "
            "anchor_text, title, wrapped_by) "
            "VALUES ('a.md', ?, 0, 'link', 'a', 'href', 'old text', '', NULL)",
            (URL,),
        )
        assert migrations.current_version(conn) == 3
    with open_store(location) as store:
        assert store.citations([URL]) == {URL: (citation("a.md", "old text"),)}
        assert spans(store) == [(URL, "a.md", night(0), None)]
        store.record_citations([], night(3), articles=["a.md"])
        assert spans(store) == [(URL, "a.md", night(0), night(3))]
        assert store.all_citations() == {}
    with raw(location) as conn:
        assert migrations.current_version(conn) == migrations.SCHEMA_VERSION


# Checks


def test_a_check_round_trips_with_every_field(store):
    store.begin_run("n0", night(0), {})
    sent = status(URL, Outcome.ALIVE, night(0), digest="sha1:ONE", offset=4096)
    assert store.record_checks("n0", [sent]) == 1
    assert store.history(URL) == (
        Check(
            url=URL,
            run_id="n0",
            checked=night(0),
            outcome=Outcome.ALIVE,
            reason="ok",
            detail="ok detail",
            http_status=200,
            final_url=URL,
            attempts=1,
            content_type="text/html",
            length=1234,
            truncated=False,
            record=sent.record,
        ),
    )
    good = store.last_good(URL)
    assert good is not None
    assert (good.run_id, good.checked, good.record) == ("n0", night(0), sent.record)


def test_a_run_keeps_its_first_check_of_a_url(store):
    store.begin_run("n0", night(0), {})
    assert store.record_checks("n0", [status(URL, Outcome.DEAD, night(0))]) == 1
    assert store.record_checks("n0", [status(URL, Outcome.ALIVE, night(0))]) == 0
    assert [c.outcome for c in store.history(URL)] == [Outcome.DEAD]
    assert store.state(URL).failures == 1


def test_a_url_twice_in_one_batch_keeps_its_first_check(store):
    store.begin_run("n0", night(0), {})
    other = f"{URL}/other"
    batch = [
        status(URL, Outcome.DEAD, night(0)),
        status(other, Outcome.ALIVE, night(0)),
        status(URL, Outcome.ALIVE, night(0) + timedelta(minutes=1)),
    ]
    assert store.record_checks("n0", batch) == 2
    assert [c.outcome for c in store.history(URL)] == [Outcome.DEAD]
    assert store.state(URL).failures == 1
    assert store.checked_in_run("n0") == {URL, other}


def test_a_batch_is_written_whole_or_not_at_all(store, monkeypatch):
    store.begin_run("n0", night(0), {})
    batch = [status(f"{URL}/{n}", Outcome.ALIVE, night(0)) for n in range(5)]
    real = advance

    def failing(previous, check, when):
        if check.url.endswith("/3"):
            raise RuntimeError("disk on fire")
        return real(previous, check, when)

    monkeypatch.setattr(sql_store, "advance", failing)
    with pytest.raises(RuntimeError):
        store.record_checks("n0", batch)
    assert store.checked_in_run("n0") == set()
    assert store.states() == ()

    monkeypatch.setattr(sql_store, "advance", real)
    assert store.record_checks("n0", batch) == 5


def test_checks_need_a_begun_run_and_a_time(store):
    with pytest.raises(StoreError, match="begin_run first"):
        store.record_checks("unknown", [status(URL, Outcome.DEAD, night(0))])
    store.begin_run("n0", night(0), {})
    with pytest.raises(ValueError, match="no check time"):
        store.record_checks("n0", [status(URL, Outcome.DEAD, None)])
    store.record_checks("n0", [status(URL, Outcome.DEAD, None)], at=night(0))
    assert store.history(URL)[0].checked == night(0)


def test_naive_times_are_refused(store):
    with pytest.raises(ValueError, match="naive"):
        store.begin_run("n0", datetime(2025, 3, 1, 3, 0), {})


def test_a_resumed_run_skips_what_the_crashed_one_committed(location):
    crashed = open_store(location)  # never closed: the process was killed
    crashed.begin_run("n0", night(0), {})
    crashed.begin_run("n1", night(1), {})
    crashed.record_checks("n0", [status("https://a.example/", Outcome.DEAD, night(0))])
    crashed.record_checks(
        "n1",
        [
            status("https://a.example/", Outcome.ALIVE, night(1)),
            status("https://b.example/", Outcome.DEAD, night(1)),
        ],
    )
    with open_store(location) as store:
        assert [run.id for run in store.unfinished_runs()] == ["n0", "n1"]
        assert store.checked_in_run("n1") == {
            "https://a.example/",
            "https://b.example/",
        }
        assert store.checked_in_run("n0") == {"https://a.example/"}
    crashed.close()


def test_all_checks_are_every_url_s_history_in_url_order(store):
    other = "https://example.org/another"
    check_at(store, night(0), URL, Outcome.ALIVE)
    check_at(store, night(0), other, Outcome.DEAD)
    check_at(store, night(1), URL, Outcome.DEAD)
    check_at(store, night(2), other, Outcome.ERROR)
    assert store.all_checks() == store.history(other) + store.history(URL)
    assert len(store.all_checks()) == 4


# Verdicts


def test_a_failing_url_is_suspect_until_k_failures_span_d_days(store):
    for n in range(3):
        check_at(store, night(n), URL, Outcome.DEAD)
        assert verdict(store) is Verdict.SUSPECT  # 3 failures, but over 2 days
    check_at(store, night(3), URL, Outcome.DEAD)
    state = store.state(URL)
    assert state.verdict is Verdict.DEAD
    assert state.failures == 4
    assert store.dead_since(URL) == night(0) + timedelta(minutes=5)
    assert store.states(verdicts={Verdict.DEAD}) == (state,)


def test_many_failures_in_one_day_or_few_over_many_days_stay_suspect(store):
    burst = "https://burst.example/"
    for hour in range(6):
        check_at(store, T0 + timedelta(hours=hour), burst, Outcome.DEAD)
    check_at(store, night(0), URL, Outcome.DEAD)
    check_at(store, night(10), URL, Outcome.DEAD)
    assert verdict(store, burst) is Verdict.SUSPECT
    assert verdict(store, URL) is Verdict.SUSPECT


def test_nights_a_little_shorter_than_a_day_still_count_as_days(store):
    # Cron at 03:00 local time: the night the clocks go forward is 23 hours,
    # so the fourth night starts 2 days 23 hours after the first.
    for start in (night(0), night(1), night(2), night(3) - timedelta(hours=1)):
        check_at(store, start, URL, Outcome.DEAD)
    assert verdict(store) is Verdict.DEAD
    # Much less than the span is not rounded up.
    for start in (night(10), night(11), night(12) + timedelta(hours=12)):
        check_at(store, start, "https://other.example/", Outcome.DEAD)
    assert verdict(store, "https://other.example/") is Verdict.SUSPECT


def test_an_alive_check_starts_the_count_again(store):
    for n in range(3):
        check_at(store, night(n), URL, Outcome.DEAD)
    check_at(store, night(3), URL, Outcome.ALIVE)
    assert store.dead_since(URL) is None
    for n in range(4, 7):
        check_at(store, night(n), URL, Outcome.DEAD)
    assert verdict(store) is Verdict.SUSPECT
    assert store.dead_since(URL) == night(4) + timedelta(minutes=5)


def test_blocked_or_error_nights_neither_count_nor_break_a_streak(store):
    check_at(store, night(0), URL, Outcome.DEAD)
    check_at(store, night(1), URL, Outcome.DEAD)
    check_at(store, night(2), URL, Outcome.ERROR)
    assert verdict(store) is Verdict.SUSPECT
    check_at(store, night(3), URL, Outcome.DEAD)
    state = store.state(URL)
    assert (state.verdict, state.failures, state.outcome) == (
        Verdict.DEAD,
        3,
        Outcome.DEAD,
    )
    check_at(store, night(4), URL, Outcome.BLOCKED)
    assert verdict(store) is Verdict.DEAD
    assert store.state(URL).outcome is Outcome.BLOCKED


def test_a_confirmed_dead_url_that_answers_again_is_revived_once(store):
    for n in range(4):
        check_at(store, night(n), URL, Outcome.DEAD)
    check_at(store, night(4), URL, Outcome.ALIVE)
    assert verdict(store) is Verdict.REVIVED
    assert store.dead_since(URL) is None
    check_at(store, night(5), URL, Outcome.ALIVE)
    assert verdict(store) is Verdict.ALIVE


def test_a_suspect_url_that_answers_again_is_simply_alive(store):
    for n in range(2):
        check_at(store, night(n), URL, Outcome.DEAD)
    check_at(store, night(2), URL, Outcome.ALIVE)
    assert verdict(store) is Verdict.ALIVE


def test_changed_content_is_drift_against_the_previous_alive_capture(store):
    page = {"text": "sha256:T1"}
    check_at(store, night(0), URL, Outcome.ALIVE, digest="sha1:A", **page)
    # New bytes (another ad), the same main text: not drift.
    check_at(store, night(1), URL, Outcome.ALIVE, digest="sha1:A2", **page)
    assert verdict(store) is Verdict.ALIVE
    check_at(store, night(2), URL, Outcome.DEAD)
    check_at(store, night(3), URL, Outcome.ALIVE, digest=None)  # no digest known
    assert verdict(store) is Verdict.ALIVE
    check_at(store, night(4), URL, Outcome.ALIVE, digest="sha1:B", text="sha256:T2")
    assert verdict(store) is Verdict.DRIFT
    assert store.last_digest(URL) == "sha1:B"
    check_at(store, night(5), URL, Outcome.ALIVE, digest="sha1:B", text="sha256:T2")
    assert verdict(store) is Verdict.ALIVE
    # A revisit record for unchanged content refers to its first capture.
    first_a = store.first_capture(URL, "sha1:A")
    first_b = store.first_capture(URL, "sha1:B")
    assert first_a.checked == night(0) + timedelta(minutes=5)
    assert first_b.checked == night(4) + timedelta(minutes=5)
    assert store.first_capture(URL, "sha1:C") is None


def test_a_file_other_than_a_page_drifts_by_its_bytes(store):
    image = "https://example.org/chart.png"
    png = {"content_type": "image/png"}
    check_at(store, night(0), image, Outcome.ALIVE, digest="sha1:P1", **png)
    check_at(store, night(1), image, Outcome.ALIVE, digest="sha1:P1", **png)
    assert verdict(store, image) is Verdict.ALIVE
    check_at(store, night(2), image, Outcome.ALIVE, digest="sha1:P2", **png)
    assert verdict(store, image) is Verdict.DRIFT


def test_a_check_keeps_its_main_text_digest(store):
    check_at(store, night(0), URL, Outcome.ALIVE, text="sha256:T1")
    (check,) = store.history(URL)
    assert check.text_digest == "sha256:T1"


def test_a_version_4_store_never_calls_a_page_drifted_by_its_bytes(location):
    """Old checks of a page have bytes only: upgraded, they are compared with nothing.

    Version 4 folded them by payload digest, so the page was "drift" every
    night its ads changed; the upgrade folds the history again, and from the
    first check with a main-text digest on, the page is compared by its text.
    """
    image = "https://example.org/chart.png"
    with raw(location) as conn:
        migrations.migrate(conn, dialect_of(location), "old", T0, target=4)
        for n, (page, png) in enumerate([("sha1:A", "sha1:P1"), ("sha1:B", "sha1:P2")]):
            run_id = f"old-{n}"
            conn.execute(
                "INSERT INTO runs (id, started, finished, options, counts, "
                "conclusive, status) VALUES (?, ?, ?, '{}', '{}', 1, 'completed')",
                (run_id, to_text(night(n)), to_text(night(n))),
            )
            for url, digest, kind in ((URL, page, "text/html; charset=utf-8"),
                                      (image, png, "image/png")):  # fmt: skip
                conn.execute(
                    "INSERT INTO urls (url, first_seen, fetchable) VALUES (?, ?, 1) "
                    "ON CONFLICT (url) DO NOTHING",
                    (url, to_text(night(0))),
                )
                conn.execute(
                    "INSERT INTO checks (run_id, url, checked, outcome, reason, "
                    "detail, attempts, truncated, content_type, payload_digest, "
                    "warc_file, warc_offset) VALUES (?, ?, ?, 'alive', 'ok', "
                    "'answered 200', 1, 0, ?, ?, 'old.warc.gz', 0)",
                    (run_id, url, to_text(night(n) + timedelta(minutes=1)), kind,
                     digest),
                )  # fmt: skip
        sql_store.replay_before_texts(conn)
        # What version 4 folded from these bytes: both drifted.
        conn.execute("UPDATE url_states SET drifted = 1")
    with open_store(location) as store:
        assert verdict(store, URL) is Verdict.ALIVE  # not drift, by bytes
        assert verdict(store, image) is Verdict.DRIFT  # a file: its bytes
        (*_, latest) = store.history(URL)
        assert latest.text_digest is None
        # The first check with a text digest is where comparing starts ...
        check_at(store, night(2), URL, Outcome.ALIVE, digest="sha1:C", text="sha256:T")
        assert verdict(store, URL) is Verdict.ALIVE
        check_at(store, night(3), URL, Outcome.ALIVE, digest="sha1:D", text="sha256:T")
        assert verdict(store, URL) is Verdict.ALIVE
        # ... and a change of the text is drift.
        check_at(store, night(4), URL, Outcome.ALIVE, digest="sha1:D", text="sha256:U")
        assert verdict(store, URL) is Verdict.DRIFT
    with raw(location) as conn:
        assert migrations.current_version(conn) == migrations.SCHEMA_VERSION


def test_a_revisit_round_trips_and_is_not_taken_for_the_body(store):
    check_at(store, night(0), URL, Outcome.ALIVE, digest="sha1:A", offset=10)
    store.begin_run("n1", night(1), {})
    first = Capture(uri=URL, date="2025-03-01T03:05:00Z")
    revisit = replace(
        status(URL, Outcome.ALIVE, night(1), digest="sha1:A", offset=99),
        record=RecordRef(
            warc_file="n1.warc.gz", offset=99, payload_digest="sha1:A", revisit_of=first
        ),
    )
    store.record_checks("n1", [revisit])
    assert store.history(URL)[-1].record == revisit.record
    assert store.last_good(URL).record == revisit.record
    body = store.first_capture(URL, "sha1:A")
    assert (body.record.offset, body.record.revisit_of) == (10, None)
    assert verdict(store) is Verdict.ALIVE


def test_the_last_good_copy_outlives_later_failures(store):
    assert store.last_good(URL) is None
    check_at(store, night(0), URL, Outcome.ALIVE, digest="sha1:A", offset=10)
    check_at(store, night(1), URL, Outcome.ALIVE, digest="sha1:A", offset=20)
    for n in range(2, 6):
        check_at(store, night(n), URL, Outcome.DEAD)
    good = store.last_good(URL)
    assert good.checked == night(1) + timedelta(minutes=5)
    assert (good.record.warc_file, good.record.offset) == ("20250302.warc.gz", 20)
    assert store.last_digest(URL) == "sha1:A"


def test_the_dead_rule_is_applied_when_reading(location):
    with open_store(location) as store:
        for n in range(2):
            check_at(store, night(n), URL, Outcome.DEAD)
        assert verdict(store) is Verdict.SUSPECT
    with open_store(
        location, rule=DeadRule(failures=2, span=timedelta(days=1))
    ) as store:
        assert verdict(store) is Verdict.DEAD


def test_a_check_recorded_late_is_judged_in_time_order(new_location):
    nights = [
        (0, Outcome.DEAD),
        (1, Outcome.DEAD),
        (2, Outcome.ALIVE),
        (3, Outcome.DEAD),
    ]
    with open_store(new_location()) as in_order:
        for n, outcome in nights:
            check_at(in_order, night(n), URL, outcome)
        expected = in_order.state(URL)
    with open_store(new_location()) as late:
        for n, outcome in [nights[3], nights[0], nights[2], nights[1]]:
            check_at(late, night(n), URL, outcome)
        assert late.state(URL) == expected
    assert expected is not None
    assert expected.verdict is Verdict.SUSPECT
    assert expected.dead_since == night(3) + timedelta(minutes=5)


# Planning


def test_due_urls_puts_suspects_first_then_unchecked_then_the_most_overdue(store):
    now = night(40)
    check_at(store, now - timedelta(days=20), "https://older.example/", Outcome.ALIVE)
    check_at(store, now - timedelta(days=10), "https://old.example/", Outcome.ALIVE)
    check_at(store, now - timedelta(days=2), "https://fresh.example/", Outcome.ALIVE)
    for n in range(30, 26, -1):  # confirmed dead, last checked 27 days ago
        check_at(store, now - timedelta(days=n), "https://gone.example/", Outcome.DEAD)
    check_at(store, now - timedelta(days=1), "https://flaky.example/", Outcome.DEAD)
    check_at(store, now - timedelta(hours=23), "https://shaky.example/", Outcome.DEAD)
    check_at(store, now - timedelta(hours=12), "https://today.example/", Outcome.DEAD)
    store.record_articles([article("a.md", "1")], night(39))
    store.record_citations(
        [
            Target(
                url=NormalizedURL("https://new.example/"),
                citations=(citation("a.md", "new"),),
            ),
            Unfetched(
                url="mailto:x@example.org",
                citations=(citation("a.md", "mail"),),
                rejection=Rejection(
                    outcome=Outcome.SKIPPED, reason="scheme-mailto", detail=""
                ),
            ),
        ],
        night(39),
    )
    assert verdict(store, "https://gone.example/") is Verdict.DEAD

    due = store.due_urls(now, timedelta(days=7), timedelta(days=1), limit=100)
    assert due == (
        "https://flaky.example/",
        "https://shaky.example/",
        "https://new.example/",
        "https://gone.example/",
        "https://older.example/",
        "https://old.example/",
    )
    capped = store.due_urls(now, timedelta(days=7), timedelta(days=1), limit=3)
    assert capped == due[:3]
    assert store.due_urls(now, timedelta(days=7), timedelta(days=1), limit=0) == ()


# Concurrency


class _Paused:
    """Holds a store's write transaction open until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        real = advance

        def paused(previous, check, when):
            self.entered.set()
            assert self.release.wait(10)
            return real(previous, check, when)

        monkeypatch.setattr(sql_store, "advance", paused)


def test_a_reader_is_not_blocked_by_a_write_in_progress(location, monkeypatch):
    with open_store(location) as writer, open_store(location) as reader:
        writer.begin_run("n0", night(0), {})
        pause = _Paused(monkeypatch)
        batch = [status(f"{URL}/{n}", Outcome.DEAD, night(0)) for n in range(50)]
        thread = threading.Thread(target=writer.record_checks, args=("n0", batch))
        thread.start()
        try:
            assert pause.entered.wait(10)
            began = time.monotonic()
            assert reader.checked_in_run("n0") == set()  # the old snapshot
            assert reader.run("n0") is not None
            assert time.monotonic() - began < 5  # far below the busy timeout
        finally:
            pause.release.set()
            thread.join()
        assert len(reader.checked_in_run("n0")) == 50


def test_a_second_writer_waits_for_the_first_instead_of_failing(location, monkeypatch):
    with open_store(location) as first, open_store(location) as second:
        first.begin_run("n0", night(0), {})
        pause = _Paused(monkeypatch)
        one = threading.Thread(
            target=first.record_checks,
            args=("n0", [status(URL, Outcome.DEAD, night(0))]),
        )
        two = threading.Thread(target=second.begin_run, args=("n1", night(1), {}))
        one.start()
        try:
            assert pause.entered.wait(10)
            two.start()
            two.join(0.3)
            assert two.is_alive()  # waiting for the lock, not failing
        finally:
            pause.release.set()
            one.join()
            two.join()
        assert second.run("n1") is not None
        assert second.checked_in_run("n0") == {URL}


# The trio writer


class Spy:
    """Records the thread and size of each batch a store is asked to write."""

    batches: list[tuple[int, int]]
    hold: threading.Event | None = None
    entered: threading.Event | None = None

    def record_checks(
        self, run_id: str, statuses: Sequence[LinkStatus], at: datetime | None = None
    ) -> int:
        self.batches.append((threading.get_ident(), len(statuses)))
        if self.entered is not None and self.hold is not None:
            self.entered.set()
            assert self.hold.wait(10)
        written: int = super().record_checks(run_id, statuses, at)  # type: ignore[misc]
        return written


class SQLiteSpy(Spy, SQLiteStore):
    pass


class PostgresSpy(Spy, PostgresStore):
    pass


@pytest.fixture
def spy(location: StoreLocation) -> Iterator[SQLiteSpy | PostgresSpy]:
    opening = (
        PostgresSpy.open(location)
        if isinstance(location, PostgresURL)
        else SQLiteSpy.open(location)
    )
    with opening as opened:
        opened.batches = []
        opened.begin_run("n0", night(0), {})
        yield opened


async def test_the_writer_batches_what_queued_up_in_a_worker_thread(spy):
    writer = StoreWriter(spy, "n0", batch_size=100)
    async with writer.writing():
        for n in range(250):
            writer.send(status(f"{URL}/{n}", Outcome.ALIVE, night(0)))
    assert [size for _, size in spy.batches] == [100, 100, 50]
    assert threading.get_ident() not in {thread for thread, _ in spy.batches}
    assert writer.written == 250
    assert len(await writer.call(spy.checked_in_run, "n0")) == 250


async def test_fetchers_keep_running_while_a_batch_is_written(spy):
    spy.entered, spy.hold = threading.Event(), threading.Event()
    writer = StoreWriter(spy, "n0")
    try:
        async with writer.writing():
            writer.send(status(f"{URL}/first", Outcome.DEAD, night(0)))
            assert await trio.to_thread.run_sync(spy.entered.wait, 10)
            # The first batch is stuck on the disk; the event loop is not.
            for n in range(10):
                writer.send(status(f"{URL}/{n}", Outcome.DEAD, night(0)))
                await trio.lowlevel.checkpoint()
            assert [size for _, size in spy.batches] == [1]
            assert writer.written == 0
            spy.hold.set()
    finally:
        spy.hold.set()
    assert [size for _, size in spy.batches] == [1, 10]
    assert writer.written == 11


async def test_a_store_error_in_the_writer_reaches_the_program(spy):
    writer = StoreWriter(spy, "never-begun")
    with pytest.RaisesGroup(pytest.RaisesExc(StoreError, match="begin_run first")):
        async with writer.writing():
            writer.send(status(URL, Outcome.DEAD, night(0)))


async def test_leaving_the_writer_by_an_error_writes_nothing_still_queued(spy):
    writer = StoreWriter(spy, "n0")
    with pytest.RaisesGroup(KeyError):
        async with writer.writing():
            writer.send(status(URL, Outcome.DEAD, night(0)))
            raise KeyError("the run failed")
    assert writer.written == 0
    assert await writer.call(spy.checked_in_run, "n0") == set()


# Web archives' answers (archiver fix)

ARCHIVE = "http://archive.example/web/"


def answer(url: str, asked: datetime, **kw) -> ArchiveAnswer:
    return ArchiveAnswer(archive=ARCHIVE, url=url, wanted=T0, asked=asked, **kw)


def test_archive_answers_are_kept_and_replaced_by_newer_ones(store, location, tmp_path):
    capture = Memento(
        url=f"{ARCHIVE}20150520000000/{URL}",
        captured=datetime(2015, 5, 20, tzinfo=UTC),
        archive=ARCHIVE,
        status=200,
    )
    held = answer(URL, night(1), nearest=capture, last_alive=capture, listed=3)
    nothing = answer("https://example.org/lost", night(1))
    latest = replace(nothing, wanted=None)  # an article with no publication time
    store.record_memento_answers([held, nothing, latest])
    # By URL, then archive; "the latest" before a moment.
    assert store.memento_answers([URL, "https://example.org/lost"]) == (
        latest,
        nothing,
        held,
    )
    assert (held.holds, nothing.holds) == (True, False)
    assert store.memento_answers(["https://example.org/other"]) == ()
    asked_again = replace(nothing, asked=night(40), listed=1, truncated=True)
    store.record_memento_answers([asked_again])
    assert store.memento_answers(["https://example.org/lost"]) == (latest, asked_again)
    # They are part of the history: a copy of the store has them.
    store.close()
    target = tmp_path / "copy" / "archiver.sqlite3"
    copy_store(location, target)
    with open_store(target, read_only=True) as copied:
        assert copied.memento_answers([URL]) == (held,)


def test_an_article_away_when_the_store_is_upgraded_keeps_its_absence(location):
    """Version 8 keeps every absence; the one open at the upgrade is taken over."""
    with raw(location) as conn:
        migrations.migrate(conn, dialect_of(location), "old", T0, target=7)
        for path, gone in (("gone.md", night(2)), ("here.md", None)):
            conn.execute(
                "INSERT INTO articles (path, url, title, published, sha256, "
                "first_seen, last_seen, withdrawn) VALUES (?, NULL, 't', NULL, "
                "'s', ?, ?, ?)",
                (path, to_text(T0), to_text(T0), gone and to_text(gone)),
            )
    with open_store(location) as store:
        aways = {a.path: a.away for a in store.articles()}
        assert aways == {"gone.md": ((night(2), None),), "here.md": ()}
        store.record_articles([article("gone.md", "s")], night(4))  # back
        [back] = [a for a in store.articles() if a.path == "gone.md"]
        assert back.withdrawn is None
        assert back.away == ((night(2), night(4)),)
