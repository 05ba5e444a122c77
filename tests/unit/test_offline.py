"""The offline verdict: what is held back, what is relabelled, and what is not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.models import (
    Body,
    Citation,
    FailureKind,
    FetchFailure,
    FetchResult,
    Hop,
    LinkKind,
    NormalizedURL,
    Outcome,
    Target,
)
from archiver.run.classify import classify
from archiver.run.offline import OutageWatch, network_level

NOW = datetime(2026, 1, 2, tzinfo=UTC)
CITED = (Citation(article="a.txt", kind=LinkKind.LINK, element="a", attribute="href"),)


def failed(url: str, kind: FailureKind, cause: FailureKind | None = None):
    result = FetchResult(
        target=Target(url=NormalizedURL(url), citations=CITED),
        hops=(),
        attempts=1,
        failure=FetchFailure(kind=kind, message=f"{kind} at {url}", cause=cause),
        finished=NOW,
    )
    return result, classify(result)


def answered(url: str, status: int = 404):
    hop = Hop(
        url=url,
        method="GET",
        target="/",
        request_headers=(),
        http_version="HTTP/1.1",
        status=status,
        reason="",
        response_headers=(),
        body=Body(path=Path("x"), length=0, truncated=False, complete=True),
        peer_ip="192.0.2.1",
        started=NOW,
    )
    result = FetchResult(
        target=Target(url=NormalizedURL(url), citations=CITED),
        hops=(hop,),
        attempts=1,
        failure=None,
        finished=NOW,
    )
    return result, classify(result)


def web(answers: bool):
    asked: list[bool] = []

    async def web_answers() -> bool:
        asked.append(True)
        return answers

    return web_answers, asked


@pytest.mark.parametrize(
    ("kind", "cause", "network"),
    [
        (FailureKind.DNS, None, True),
        (FailureKind.CONNECT, None, True),
        (FailureKind.REFUSED, None, True),
        (FailureKind.HOST_GIVEN_UP, FailureKind.REFUSED, True),
        (FailureKind.HOST_GIVEN_UP, FailureKind.CONNECT_TIMEOUT, False),
        (FailureKind.CONNECT_TIMEOUT, None, False),
        (FailureKind.TLS, None, False),
        (FailureKind.CERTIFICATE, None, False),
        (FailureKind.PRIVATE_ADDRESS, None, False),
        (FailureKind.DEADLINE, None, False),
    ],
)
def test_network_level_failures_are_known_by_kind(kind, cause, network):
    assert network_level(FetchFailure(kind=kind, message="m", cause=cause)) is network


def test_network_failures_wait_until_a_host_answers():
    watch = OutageWatch()
    first, second = (
        failed("http://a.test/", FailureKind.DNS),
        failed("http://b.test/", FailureKind.REFUSED),
    )
    assert watch.admit(*first) == ()
    assert watch.admit(*second) == ()
    dead = answered("http://c.test/")
    assert watch.admit(*dead) == (first[1], second[1], dead[1])
    later = failed("http://d.test/", FailureKind.DNS)
    assert watch.admit(*later) == (later[1],)  # online now: passed on at once


async def test_a_run_where_a_host_answered_asks_no_canary():
    watch = OutageWatch()
    watch.admit(*answered("http://a.test/"))
    web_answers, asked = web(answers=False)
    verdict = await watch.settle(web_answers)
    assert (verdict.offline, verdict.statuses, asked) == (False, (), [])


async def test_a_canary_answering_passes_the_held_failures_on_unchanged():
    watch = OutageWatch()
    held = failed("http://a.test/", FailureKind.DNS)
    watch.admit(*held)
    web_answers, asked = web(answers=True)
    verdict = await watch.settle(web_answers)
    assert (verdict.offline, verdict.statuses, asked) == (False, (held[1],), [True])
    assert verdict.statuses[0].reason == "dns-not-found"


async def test_offline_relabels_the_network_failures_and_nothing_else():
    watch = OutageWatch()
    private = failed("http://10.0.0.1/", FailureKind.PRIVATE_ADDRESS)
    # A refused private address is passed on at once, and proves nothing.
    assert watch.admit(*private) == (private[1],)
    assert private[1].reason == "private-address"
    for url in ("http://a.test/1", "http://a.test/2", "https://b.test/"):
        assert watch.admit(*failed(url, FailureKind.DNS)) == ()
    given_up = failed("http://c.test/", FailureKind.HOST_GIVEN_UP, FailureKind.REFUSED)
    assert watch.admit(*given_up) == ()
    web_answers, asked = web(answers=False)
    verdict = await watch.settle(web_answers)
    assert verdict.offline
    assert asked == [True]
    assert [s.url for s in verdict.statuses] == [
        "http://a.test/1",
        "http://a.test/2",
        "https://b.test/",
        "http://c.test/",
    ]
    for status in verdict.statuses:
        assert (status.outcome, status.reason) == (Outcome.ERROR, "network-unavailable")
        assert "all 3 hosts" in status.detail  # a.test, b.test, c.test: not 10.0.0.1
        assert status.citations == CITED
