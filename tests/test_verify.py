"""The verifier in-process against real sites: soft 404s found, real pages kept.

Each fake-web site answers every path the same way (its mode) but for real
pages under /page/; the verifier asks each host once for a made-up path and
compares.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from archiver.crawl.client import ClientSettings, build_client
from archiver.crawl.fetch import Fetcher, FetchSettings
from archiver.crawl.netguard import GuardedBackend, Resolver
from archiver.crawl.politeness import HostGate
from archiver.crawl.retry import RetryPolicy
from archiver.crawl.verify import Verifier
from archiver.models import Citation, FetchResult, LinkKind, NormalizedURL, Target
from tests.fakeweb.server import FakeWeb


def target(url: str) -> Target:
    citation = Citation(
        article="a.txt", kind=LinkKind.LINK, element="a", attribute="href"
    )
    return Target(url=NormalizedURL(url), citations=(citation,))


@asynccontextmanager
async def verifier(
    web: FakeWeb, spool: Path, made_up: str = "made-up-0001"
) -> AsyncIterator[Verifier]:
    resolver = Resolver()
    settings = FetchSettings(
        timeout=5, allow_private=True, retry=RetryPolicy(attempts=1, base=0.01)
    )
    async with build_client(
        ClientSettings(user_agent="archiver-test"),
        timeout=5,
        concurrency=8,
        guard=GuardedBackend(resolver, allow_private=True),
    ) as client:
        fetcher = Fetcher(client, HostGate(concurrency=8, per_host=4), settings, spool)
        yield Verifier(fetcher, probe=True, make_token=lambda: made_up)


def reason(result: FetchResult) -> str | None:
    return result.suspicion.reason if result.suspicion else None


async def test_a_site_that_answers_200_for_anything_gets_its_soft_404_found(
    fakeweb, tmp_path
):
    missing = fakeweb.site_url("soft404", "/news/2019/a-story-that-is-gone")
    real = fakeweb.site_url("soft404", "/page/a-story-that-is-here")
    async with verifier(fakeweb, tmp_path) as check:
        gone, here = await check.fetch(target(missing)), await check.fetch(target(real))
    assert gone.hops[-1].status == 200
    assert reason(gone) in ("soft-404", "same-as-missing")
    assert reason(here) is None


async def test_a_not_found_page_that_repeats_the_path_is_still_a_soft_404(
    fakeweb, tmp_path
):
    """The echo of the asked path is masked out, in the page and the probe's answer."""
    missing = fakeweb.site_url(
        "echo404", "/news/2019/06/the-long-headline-of-a-story-that-was-deleted-later"
    )
    real = fakeweb.site_url("echo404", "/page/a-story-that-is-here")
    async with verifier(fakeweb, tmp_path) as check:
        gone, here = await check.fetch(target(missing)), await check.fetch(target(real))
    assert gone.hops[-1].status == 200
    assert reason(gone) == "soft-404"
    assert reason(here) is None


async def test_each_host_is_probed_once_however_many_pages_ask_at_once(
    fakeweb, tmp_path
):
    urls = [fakeweb.site_url("soft404", f"/page/p{n}") for n in range(6)]
    token = f"once-{uuid.uuid4().hex}"
    results: list[FetchResult] = []
    async with verifier(fakeweb, tmp_path, token) as check:

        async def one(url: str) -> None:
            results.append(await check.fetch(target(url)))

        async with trio.open_nursery() as nursery:
            for url in urls:
                nursery.start_soon(one, url)
    probes = [p for p in fakeweb.ledger.paths() if token in p]
    assert len(probes) == 1
    assert [reason(r) for r in results] == [None] * 6


async def test_a_parked_domain_is_not_taken_for_the_page(fakeweb, tmp_path):
    parked = fakeweb.site_url("parked", "/2020/an-article")
    async with verifier(fakeweb, tmp_path) as check:
        result = await check.fetch(target(parked))
    assert result.hops[0].status == 302
    assert reason(result) is not None
