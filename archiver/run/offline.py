"""Is it the web, or is it us? Telling an outage of this machine from dead links.

When every fetched URL failed at the network level (no name resolved, no
connection made), the likeliest story is that this machine is offline, and
calling every link dead would be wrong. Before saying so, a few well-known
sites (canaries) are asked: if one answers, the failures are the links' own.

The whole verdict lives here, in :class:`OutageWatch`: which failures are
network-level (by their kind), which statuses are held back from the log and
the store until the verdict is known, and, on an offline run, relabelling
those and only those as ``network-unavailable``. Everything else a run found
(a refused private address, a deadline) stays what it was, in the manifest,
the log and the store alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

import httpx
import trio

from archiver.crawl import proxysignals
from archiver.crawl.client import ClientSettings, build_client
from archiver.models import FailureKind, FetchFailure, FetchResult, LinkStatus
from archiver.run.classify import REASONS
from archiver.urls import authority

# Asked when every link failed at the network level: if one of them answers
# (any status), the machine is online and the links are dead.
DEFAULT_CANARIES = (
    "https://www.example.com/",
    "https://www.wikipedia.org/",
    "https://www.iana.org/",
)
CANARY_TIMEOUT = 10.0

# Failures an offline machine produces for every URL, whatever the link: no
# name resolves, no connection is made (a local firewall may refuse them).
NETWORK_FAILURES = frozenset(
    {FailureKind.DNS, FailureKind.CONNECT, FailureKind.REFUSED}
)


def network_level(failure: FetchFailure | None) -> bool:
    """Whether a fetch failed before any host could answer it.

    A URL not tried because its host was given up counts as the failures
    that made the run give up.
    """
    if failure is None:
        return False
    kind = failure.kind
    if kind is FailureKind.HOST_GIVEN_UP and failure.cause is not None:
        kind = failure.cause
    return kind in NETWORK_FAILURES


@dataclass(frozen=True, slots=True)
class Verdict:
    """How the held statuses end: passed on as they are, or relabelled."""

    offline: bool  # no host and no canary answered: nothing is known
    statuses: tuple[LinkStatus, ...]  # the held ones, relabelled when offline


class OutageWatch:
    """The offline verdict of one run; owned by the recording task.

    Until some host answers, a network-level failure may mean that this
    machine is offline rather than that the link is dead, so such statuses
    are held back (from the log, the journal and the store) until the web is
    known to answer. A refused private address is passed on at once: it was
    decided before any byte was sent, so it says nothing either way.
    """

    def __init__(self) -> None:
        self._online = False  # some host answered: network failures are the web's
        self._held: list[LinkStatus] = []
        self._hosts: set[str] = set()  # of the held statuses

    def admit(self, result: FetchResult, status: LinkStatus) -> tuple[LinkStatus, ...]:
        """The statuses that may be passed on now that ``result`` has arrived."""
        if self._online:
            return (status,)
        if network_level(result.failure):
            self._held.append(status)
            self._hosts.add(authority(result.target.url))
            return ()
        failure = result.failure
        if failure is not None and failure.kind is FailureKind.PRIVATE_ADDRESS:
            return (status,)
        self._online = True
        released = (*self._held, status)
        self._held.clear()
        return released

    async def settle(self, web_answers: Callable[[], Awaitable[bool]]) -> Verdict:
        """After the last result: the verdict on the statuses still held.

        They are held only if no host answered all run; then the canaries are
        asked (``web_answers``), and if none answers either, the machine is
        offline and the held statuses, all network-level failures, are
        relabelled as saying nothing about their links.
        """
        held = tuple(self._held)
        self._held.clear()
        if not held or await web_answers():
            return Verdict(offline=False, statuses=held)
        relabelled = tuple(_unavailable(s, len(self._hosts)) for s in held)
        return Verdict(offline=True, statuses=relabelled)


def _unavailable(status: LinkStatus, hosts: int) -> LinkStatus:
    """Re-mark a network-level failure as inconclusive: the fault was ours."""
    reason = REASONS["network-unavailable"]
    return replace(
        status,
        outcome=reason.outcome,
        reason="network-unavailable",
        detail=reason.sentence.format(
            message=f"all {hosts} hosts failed to resolve or connect"
        ),
    )


async def any_canary_answers(
    canaries: Sequence[str],
    *,
    request_timeout: float,
    client_settings: ClientSettings,
) -> bool:
    """Whether this machine can reach the web at all: any answer from a canary."""
    async with build_client(
        client_settings,
        timeout=min(request_timeout, CANARY_TIMEOUT),
        concurrency=len(canaries) or 1,
    ) as client:
        answered = False

        async def ask(url: str) -> None:
            nonlocal answered
            with contextlib.suppress(httpx.HTTPError):
                response = await client.get(url)
                # A proxy saying it could not reach the canary is no answer
                # from the web: a proxy that cannot resolve anything is an
                # outage, not a run of dead links.
                if proxysignals.read(response.headers.raw) is None:
                    answered = True

        with trio.move_on_after(CANARY_TIMEOUT * 2):
            async with trio.open_nursery() as nursery:
                for url in canaries:
                    nursery.start_soon(ask, url)
        return answered
