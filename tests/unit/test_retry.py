"""The retry policy: what is transient, how Retry-After is read, how the loop stops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import trio

from archiver.crawl.retry import (
    RetryPolicy,
    is_transient,
    retry_after,
    run_with_retries,
)
from archiver.models import Body, FailureKind, FetchFailure, Hop

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def hop(status: int, *headers: tuple[bytes, bytes], complete: bool = True) -> Hop:
    return Hop(
        url="https://example.org/",
        method="GET",
        target="/",
        request_headers=(),
        http_version="HTTP/1.1",
        status=status,
        reason="",
        response_headers=headers,
        body=Body(path=Path("unused"), length=0, truncated=False, complete=complete),
        peer_ip=None,
        started=NOW,
    )


def test_transient_statuses_and_failures():
    assert [s for s in range(100, 600) if is_transient(hop(s))] == [
        408,
        425,
        429,
        500,
        502,
        503,
        504,
    ]
    assert is_transient(hop(200, complete=False))
    assert is_transient(FetchFailure(kind=FailureKind.TIMEOUT, message=""))
    assert is_transient(FetchFailure(kind=FailureKind.CONNECT, message=""))
    assert not is_transient(FetchFailure(kind=FailureKind.DNS, message=""))
    assert not is_transient(FetchFailure(kind=FailureKind.PRIVATE_ADDRESS, message=""))


def test_retry_after_seconds_and_dates():
    assert retry_after(hop(429, (b"Retry-After", b"7"))) == 7.0
    assert retry_after(hop(429, (b"retry-after", b" 0 "))) == 0.0
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True).encode()
    assert retry_after(hop(503, (b"Retry-After", later)), now=NOW) == 90.0
    earlier = format_datetime(NOW - timedelta(seconds=90), usegmt=True).encode()
    assert retry_after(hop(503, (b"Retry-After", earlier)), now=NOW) == 0.0
    assert retry_after(hop(503, (b"Retry-After", b"soon"))) is None
    assert retry_after(hop(503)) is None


async def test_loop_retries_transient_results_then_gives_the_last():
    answers = [hop(503), hop(503), hop(200)]
    discarded: list[object] = []

    async def attempt():
        return answers.pop(0)

    policy = RetryPolicy(attempts=3, base=0.0)
    result, used = await run_with_retries(policy, attempt, discarded.append)
    assert isinstance(result, Hop)
    assert (result.status, used, len(discarded)) == (200, 3, 2)


async def test_loop_stops_at_the_attempt_limit():
    calls = 0

    async def attempt():
        nonlocal calls
        calls += 1
        return hop(500)

    result, used = await run_with_retries(
        RetryPolicy(attempts=2, base=0.0), attempt, lambda _: None
    )
    assert isinstance(result, Hop)
    assert (result.status, used, calls) == (500, 2, 2)


async def test_permanent_answers_are_not_retried():
    calls = 0

    async def attempt():
        nonlocal calls
        calls += 1
        return FetchFailure(kind=FailureKind.DNS, message="nope")

    _, used = await run_with_retries(
        RetryPolicy(attempts=5, base=0.0), attempt, lambda _: None
    )
    assert (used, calls) == (1, 1)


async def test_retry_after_beyond_the_cap_ends_the_retries():
    calls = 0

    async def attempt():
        nonlocal calls
        calls += 1
        return hop(429, (b"Retry-After", b"3600"))

    policy = RetryPolicy(attempts=5, base=0.0, retry_after_cap=10)
    with trio.fail_after(5):
        result, used = await run_with_retries(policy, attempt, lambda _: None)
    assert (used, calls) == (1, 1)
    assert isinstance(result, Hop)
    assert result.status == 429


async def test_retry_after_sets_the_wait(autojump_clock):
    async def attempt():
        return (
            hop(429, (b"Retry-After", b"20")) if trio.current_time() < 1 else hop(200)
        )

    started = trio.current_time()
    _, used = await run_with_retries(
        RetryPolicy(attempts=3, base=0.01, retry_after_cap=30), attempt, lambda _: None
    )
    assert used == 2
    assert trio.current_time() - started >= 20
