"""HostGate: the per-host and global caps hold, and the per-host delay spaces starts."""

from __future__ import annotations

import itertools
from collections import defaultdict

import trio

from archiver.crawl.politeness import HostGate


async def test_caps_are_never_exceeded(autojump_clock):
    gate = HostGate(concurrency=5, per_host=2)
    in_flight: dict[str, int] = defaultdict(int)
    peaks: dict[str, int] = defaultdict(int)
    total = [0, 0]

    async def request(host: str) -> None:
        async with gate.slot(host):
            in_flight[host] += 1
            total[0] += 1
            peaks[host] = max(peaks[host], in_flight[host])
            total[1] = max(total[1], total[0])
            await trio.sleep(1)
            in_flight[host] -= 1
            total[0] -= 1

    async with trio.open_nursery() as nursery:
        for n in range(40):
            nursery.start_soon(request, f"host{n % 4}")
    assert dict(peaks) == {f"host{n}": 2 for n in range(4)}
    assert total[1] == 5


async def test_delay_spaces_request_starts(autojump_clock):
    gate = HostGate(concurrency=10, per_host=10, delay=2.0)
    starts: list[float] = []

    async def request() -> None:
        async with gate.slot("one.example"):
            starts.append(trio.current_time())

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(request)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(gap >= 2.0 for gap in gaps), gaps
