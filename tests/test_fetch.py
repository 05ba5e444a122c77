"""The fetcher in-process, against real servers: which kind each failure gets.

The kind is decided from exception types where httpx raises them, so these
tests use real sockets: a closed port refuses, and the fake web's bad-TLS
servers present certificates the trusted CA issued but a client must refuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from archiver.crawl.client import ClientSettings, build_client
from archiver.crawl.fetch import Fetcher, FetchSettings
from archiver.crawl.netguard import GuardedBackend, Resolver
from archiver.crawl.politeness import HostGate
from archiver.crawl.retry import RetryPolicy
from archiver.models import (
    Citation,
    FailureKind,
    FetchResult,
    LinkKind,
    NormalizedURL,
    Target,
)
from tests.fakeweb.server import FakeWeb, closed_port


def target(url: str) -> Target:
    citation = Citation(
        article="a.txt", kind=LinkKind.LINK, element="a", attribute="href"
    )
    return Target(url=NormalizedURL(url), citations=(citation,))


@asynccontextmanager
async def fetcher(
    web: FakeWeb, spool: Path, *, host_failures: int = 3
) -> AsyncIterator[Fetcher]:
    resolver = Resolver()
    settings = FetchSettings(
        timeout=5,
        allow_private=True,
        retry=RetryPolicy(attempts=2, base=0.01),
        host_failures=host_failures,
    )
    async with build_client(
        ClientSettings(user_agent="archiver-test", ca_bundle=web.ca_pem),
        timeout=settings.timeout,
        concurrency=4,
        guard=GuardedBackend(resolver, allow_private=True),
    ) as client:
        gate = HostGate(concurrency=4, per_host=1)
        yield Fetcher(client, gate, settings, spool, resolver=resolver)


def removed(result: FetchResult) -> FetchResult:
    for hop in result.bodies:
        hop.body.path.unlink(missing_ok=True)
    return result


async def test_a_closed_port_is_refused_and_its_host_given_up(fakeweb, tmp_path):
    port = closed_port()
    async with fetcher(fakeweb, tmp_path, host_failures=1) as fetch:
        first = await fetch.fetch(target(f"http://127.0.0.1:{port}/a"))
        second = await fetch.fetch(target(f"http://127.0.0.1:{port}/b"))
    assert first.failure is not None
    assert (first.failure.kind, first.attempts) == (FailureKind.REFUSED, 2)
    assert second.failure is not None
    assert (second.failure.kind, second.failure.cause, second.attempts) == (
        FailureKind.HOST_GIVEN_UP,
        FailureKind.REFUSED,
        0,
    )


@pytest.mark.parametrize(
    ("fault", "words"),
    [("expired", "expired"), ("wrong-host", "mismatch")],
)
async def test_a_certificate_at_fault_is_a_tls_failure(fakeweb, tmp_path, fault, words):
    path = f"/page/tls-{fault}-in-process"
    async with fetcher(fakeweb, tmp_path) as fetch:
        good = removed(await fetch.fetch(target(fakeweb.https_url(path))))
        bad = await fetch.fetch(target(fakeweb.bad_tls_url(fault, path)))
    # The same CA is trusted: only the certificate's fault tells them apart.
    assert good.failure is None
    assert [hop.status for hop in good.hops] == [200]
    assert bad.failure is not None
    # Not retried: the same certificate would be served again.
    assert (bad.failure.kind, bad.hops, bad.attempts) == (
        FailureKind.CERTIFICATE,
        (),
        1,
    )
    assert words in bad.failure.message
    assert list(tmp_path.iterdir()) == []  # no body was spooled
