"""The frontier's scheduling: a worker waiting out a backoff gives its host's
turn to another URL, and the host's cap on requests in flight still holds.

Virtual time (trio's autojump clock): the sleeps are the model of a slow web,
and the figures are the scheduler's, not the machine's.
"""

from __future__ import annotations

from collections import Counter

import trio

from archiver.models import NormalizedURL, Target
from archiver.run.frontier import Frontier, Work
from archiver.run.recorder import Finished

ATTEMPT = 0.1  # one request
BACKOFF = 10.0  # the wait before its second attempt


def targets(host: str, count: int) -> list[Target]:
    return [
        Target(url=NormalizedURL(f"https://{host}/{n}"), citations=())
        for n in range(count)
    ]


async def crawl(
    work: list[Target], per_host: int, handling: int | None = None
) -> tuple[float, Counter[str]]:
    """Every URL fails once, rests, then succeeds; the host's gate is a limiter.

    ``peak`` counts requests in flight per host, and under ``"*"`` URLs
    being handled (not resting) at once over all hosts.
    """
    gates: dict[str, trio.CapacityLimiter] = {}
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    order: list[str] = []

    async def attempt(host: str, url: str) -> None:
        async with gates.setdefault(host, trio.CapacityLimiter(per_host)):
            in_flight[host] += 1
            peak[host] = max(peak[host], in_flight[host])
            order.append(url)
            await trio.sleep(ATTEMPT)
            in_flight[host] -= 1

    async def handle(item: Work, frontier: Frontier) -> Finished | None:
        host = item.url.split("/")[2]
        handled("*", +1)
        await attempt(host, item.url)
        handled("*", -1)
        async with frontier.resting(host):
            await trio.sleep(BACKOFF)
        handled("*", +1)
        await attempt(host, item.url)
        handled("*", -1)
        return None

    def handled(key: str, change: int) -> None:
        in_flight[key] += change
        peak[key] = max(peak[key], in_flight[key])

    send, receive = trio.open_memory_channel[Finished](0)
    began = trio.current_time()
    async with send, receive:
        await Frontier(per_host, handle, handling=handling).run(work, send)
    return trio.current_time() - began, peak


async def test_a_resting_worker_gives_its_hosts_turn_to_the_next_url(autojump_clock):
    took, peak = await crawl(targets("a.example", 8), per_host=2)
    # Without giving the turn away: 4 rounds of attempt + backoff + attempt
    # (40.8 s). With it: every first attempt goes out at once, in pairs.
    assert took < BACKOFF + 8 * ATTEMPT + 0.5
    assert peak["a.example"] == 2


async def test_hosts_still_share_nothing_and_every_url_is_done_once(autojump_clock):
    work = targets("a.example", 6) + targets("b.example", 3)
    took, peak = await crawl(work, per_host=3)
    assert took < BACKOFF + 6 * ATTEMPT + 0.5
    assert (peak["a.example"], peak["b.example"]) == (3, 3)


async def test_urls_handled_at_once_are_capped_and_a_rest_gives_the_turn_back(
    autojump_clock,
):
    # Twenty hosts, one URL each, three handled at a time: without giving a
    # resting turn back, seven rounds of attempt + backoff + attempt; with
    # it, every first attempt goes out within the first second.
    work = [t for n in range(20) for t in targets(f"h{n}.example", 1)]
    took, peak = await crawl(work, per_host=2, handling=3)
    assert peak["*"] == 3
    assert took < BACKOFF + 20 * ATTEMPT + 0.5


async def test_without_rests_the_cap_is_the_number_of_workers(autojump_clock):
    done: list[str] = []
    running = Counter[str]()
    most = Counter[str]()

    async def handle(item: Work, frontier: Frontier) -> Finished | None:
        host = item.url.split("/")[2]
        running[host] += 1
        most[host] = max(most[host], running[host])
        await trio.sleep(ATTEMPT)
        running[host] -= 1
        done.append(item.url)
        return None

    send, receive = trio.open_memory_channel[Finished](0)
    async with send, receive:
        await Frontier(2, handle).run(targets("a.example", 7), send)
    assert sorted(done) == sorted(t.url for t in targets("a.example", 7))
    assert most == {"a.example": 2}


async def test_a_feed_adds_work_while_it_runs_and_a_dropped_host_stops(
    autojump_clock,
):
    """A shared night's worker: hosts arrive from the feed; a host lost is dropped."""
    done: list[str] = []

    async def handle(item: Work, frontier: Frontier) -> Finished | None:
        await trio.sleep(ATTEMPT)
        done.append(item.url)
        return None

    async def feed(frontier: Frontier) -> None:
        assert not frontier.busy("a.example")
        for target in targets("a.example", 6):
            frontier.add(target)
        assert frontier.busy("a.example")
        await trio.sleep(ATTEMPT * 2.5)  # two done, the third in hand
        frontier.drop("a.example")  # its lease passed to another worker
        assert frontier.busy("a.example")  # the one in hand still finishes
        for target in targets("b.example", 2):
            frontier.add(target)

    send, receive = trio.open_memory_channel[Finished](0)
    async with send, receive:
        await Frontier(1, handle).run((), send, feed)
    assert done == [f"https://a.example/{n}" for n in range(3)] + [
        f"https://b.example/{n}" for n in range(2)
    ]
