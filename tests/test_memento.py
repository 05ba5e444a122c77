"""Memento lookups (RFC 7089) against a real fake archive on 127.0.0.1.

The archive (``tests/fakememento.py``) speaks the Wayback Machine's
dialect: a TimeGate that redirects, mementos with the captured status, a
TimeMap in application/link-format. The client is the real one, through
the same guarded network stack as the crawler.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from archiver.crawl.memento import MementoSettings, Question, ask, look_up
from archiver.crawl.retry import RetryPolicy
from archiver.models import MementoProblem
from tests.fakememento import HUGE, FakeArchive
from tests.fakeweb.server import closed_port

PUBLISHED = datetime(2015, 6, 1, tzinfo=UTC)
GONE = "http://gone.example/story"
CAPTURES = [
    (datetime(2013, 1, 5, tzinfo=UTC), 200),
    (datetime(2015, 5, 20, tzinfo=UTC), 200),  # nearest the publication
    (datetime(2015, 7, 1, tzinfo=UTC), 200),
    *[(datetime(2017, m, 1, tzinfo=UTC), 200) for m in range(1, 13)],
    (datetime(2019, 3, 2, tzinfo=UTC), 200),  # the last one alive
    (datetime(2020, 1, 1, tzinfo=UTC), 404),
    (datetime(2021, 1, 1, tzinfo=UTC), 404),
]


def archive(mode: str = "ok") -> Iterator[FakeArchive]:
    fake = FakeArchive(mode).start()
    fake.add(GONE, CAPTURES)
    yield fake
    fake.stop()


@pytest.fixture
def ok() -> Iterator[FakeArchive]:
    yield from archive()


def settings(*bases: str, **changes: object) -> MementoSettings:
    fields: dict[str, object] = {
        "timegates": bases,
        "allow_private": True,
        "timeout": 5.0,
        "retry": RetryPolicy(attempts=3, base=0.05, max_wait=0.2),
    }
    fields.update(changes)
    return MementoSettings(**fields)  # type: ignore[arg-type]


async def test_the_timegate_redirect_and_the_timemap(ok):
    question = Question(url=GONE, when=PUBLISHED)
    found = (await look_up([question], settings(ok.base)))[question]
    assert found.failures == ()
    assert found.nearest is not None
    assert found.nearest.captured == datetime(2015, 5, 20, tzinfo=UTC)
    assert found.nearest.url == ok.memento_url(GONE, found.nearest.captured)
    assert found.nearest.status == 200
    assert found.last_alive is not None
    assert found.last_alive.captured == datetime(2019, 3, 2, tzinfo=UTC)
    assert found.listed == len(CAPTURES)
    assert not found.truncated
    gate = next(h for p, h in ok.requests if p == f"/web/{GONE}")
    assert gate["Accept-Datetime"] == "Mon, 01 Jun 2015 00:00:00 GMT"
    timemap = next(h for p, h in ok.requests if p.startswith("/web/timemap/"))
    assert timemap["Accept"] == "application/link-format"
    # Captures are asked newest first, and no further than the first alive one.
    probed = [p for p, _ in ok.requests if p.startswith("/web/20")]
    assert probed[-3:] == [
        f"/web/{stamp}/{GONE}"
        for stamp in ("20210101000000", "20200101000000", "20190302000000")
    ]


async def test_a_url_the_archive_never_captured(ok):
    question = Question(url="http://never.example/", when=PUBLISHED)
    found = (await look_up([question], settings(ok.base)))[question]
    assert (found.nearest, found.last_alive, found.failures) == (None, None, ())


async def test_an_archive_that_is_down_is_a_failure_and_the_next_one_answers(ok):
    down = f"http://127.0.0.1:{closed_port()}/web/"
    questions = [
        Question(url=GONE, when=PUBLISHED),
        Question(url=GONE, when=datetime(2018, 1, 1, tzinfo=UTC)),
    ]
    started = time.monotonic()
    found = await look_up(questions, settings(down, ok.base))
    assert time.monotonic() - started < 5
    for question in questions:
        finding = found[question]
        assert [(f.archive, f.problem) for f in finding.failures] == [
            (down, MementoProblem.UNREACHABLE)
        ]
        assert finding.nearest is not None
        assert finding.nearest.archive == ok.base


async def test_a_malformed_link_header_is_a_failure_not_a_guess():
    for fake in archive("malformed"):
        question = Question(url=GONE, when=PUBLISHED)
        found = (await look_up([question], settings(fake.base)))[question]
        assert found.nearest is None
        assert found.last_alive is None
        (failure,) = found.failures
        assert failure.problem is MementoProblem.MALFORMED
        assert "Link header" in failure.detail


async def test_a_huge_timemap_is_read_only_up_to_the_bound():
    for fake in archive("huge"):
        question = Question(url=GONE, when=PUBLISHED)
        bound = 256 * 1024
        found = (
            await look_up([question], settings(fake.base, max_timemap_bytes=bound))
        )[question]
        assert found.truncated
        # Each entry is about 130 bytes: the bound lets some thousands through.
        assert 1000 < found.listed < HUGE // 10
        assert found.nearest is not None
        assert found.nearest.status == 200


async def test_a_busy_archive_is_asked_again_when_it_says():
    for fake in archive("busy-once"):
        question = Question(url=GONE, when=PUBLISHED)
        found = (await look_up([question], settings(fake.base)))[question]
        assert found.failures == ()
        assert found.nearest is not None
        gate = [
            n for n, (path, _) in enumerate(fake.requests) if path == f"/web/{GONE}"
        ]
        assert len(gate) == 2
        # Retry-After: 1, where the backoff alone would wait some 0.05 s.
        assert fake.times[gate[1]] - fake.times[gate[0]] >= 0.9


async def test_private_addresses_are_refused_unless_allowed(ok):
    question = Question(url=GONE, when=PUBLISHED)
    found = (await look_up([question], settings(ok.base, allow_private=False)))[
        question
    ]
    assert [f.problem for f in found.failures] == [MementoProblem.REFUSED_PRIVATE]
    assert ok.requests == []


async def test_one_host_is_asked_at_most_per_host_at_once(ok):
    urls = [f"http://site.example/{n}" for n in range(12)]
    for url in urls:
        ok.add(url, CAPTURES[:3])
    questions = [Question(url=url, when=PUBLISHED) for url in urls]
    found = await look_up(questions, settings(ok.base, per_host=2))
    assert all(f.nearest is not None for f in found.values())
    assert ok.peak <= 2


async def test_a_malformed_timemap_is_a_failure_and_the_timegates_answer_stands():
    for fake in archive("bad-timemap"):
        question = Question(url=GONE, when=PUBLISHED)
        found = (await look_up([question], settings(fake.base)))[question]
        assert found.nearest is not None
        assert found.nearest.captured == datetime(2015, 5, 20, tzinfo=UTC)
        # The TimeMap could not be read: the only capture known alive is the
        # TimeGate's, not 2019's.
        assert found.last_alive == found.nearest
        (failure,) = found.failures
        assert failure.problem is MementoProblem.MALFORMED
        assert failure.detail.startswith("TimeMap ")


async def test_a_timegate_that_answers_with_the_memento_itself():
    for fake in archive("direct"):
        question = Question(url=GONE, when=PUBLISHED)
        found = (await look_up([question], settings(fake.base)))[question]
        assert found.failures == ()
        assert found.nearest is not None
        assert found.nearest.url == fake.memento_url(
            GONE, datetime(2015, 5, 20, tzinfo=UTC)
        )
        assert found.nearest.captured == datetime(2015, 5, 20, tzinfo=UTC)
        assert found.last_alive is not None


async def test_known_answers_are_not_asked_and_new_whole_ones_are_handed_back(ok):
    question = Question(url=GONE, when=PUBLISHED)
    first = await ask([question], settings(ok.base))
    (kept,) = first.answers
    assert (kept.archive, kept.url, kept.wanted) == (ok.base, GONE, PUBLISHED)
    assert kept.holds
    asked = len(ok.requests)
    again = await ask([question], settings(ok.base), {(ok.base, question): kept})
    assert len(ok.requests) == asked  # nothing asked
    assert again.answers == ()
    assert again.findings == first.findings


async def test_a_partial_answer_is_used_but_not_handed_back_to_keep():
    for fake in archive("bad-timemap"):
        question = Question(url=GONE, when=PUBLISHED)
        found = await ask([question], settings(fake.base))
        assert found.findings[question].nearest is not None  # used
        assert found.answers == ()  # the TimeMap failed: nothing to keep
