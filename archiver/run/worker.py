"""A worker of a shared night: claims hosts from the store, fetches, commits.

``archiver nightly --workers N`` plans a night into the store's frontier
(:mod:`archiver.store.cluster`) and starts N of these as processes of their
own; ``archiver worker`` on another machine joins the same night. Each
writes into ``<out>/<run id>/<worker name>/`` with a preserve run of its own
(its WARC files, manifest and index), fed host by host from the frontier
while it runs, and commits each check together with its frontier row.

The per-host limit holds for the whole cluster because a host is leased to
one worker at a time. A worker that dies loses its hosts when their leases
expire; whoever claims them next fetches what it had not committed. When a
worker of the same name starts again in that night's folder it first cuts
its WARC files back to what the store committed, as a nightly run does
after a crash, so no record is written twice.
"""

from __future__ import annotations

import fcntl
import math
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Final, TypeVar, TypeVarTuple

import trio

from archiver.articles.plan import Plan
from archiver.clock import now as clock_now
from archiver.errors import ArchiveWriteError, UsageError
from archiver.models import Capture, LinkStatus, NormalizedURL, Target
from archiver.run.frontier import Frontier
from archiver.run.lock import run_lock
from archiver.run.preserve import Gathered, PreserveSettings, RunSummary, preserve
from archiver.run.recorder import Reporter
from archiver.run.sharing import DEFAULT_LEASE, repair_worker_folder
from archiver.store.cluster import Claimed, Cluster, committed_offsets
from archiver.store.location import PostgresURL
from archiver.store.postgres import PostgresStore
from archiver.store.writer import StoreWriter
from archiver.warc import index

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

LOOK_EVERY: Final = 0.02  # seconds between looks at the frontier for a host done
LOG_NAME: Final = "worker.log"  # in the worker's folder, when nightly starts it


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerSettings:
    """One worker's settings; ``preserve.out`` is the root of the nights."""

    preserve: PreserveSettings
    store: PostgresURL
    name: str
    lease: float = DEFAULT_LEASE
    run_id: str | None = None  # the night to join; default the one in progress

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise UsageError(f"--name {self.name!r}: a folder name, not a path")
        if not 0.5 <= self.lease <= 86400:
            raise UsageError(f"--lease {self.lease}: from 0.5 to 86400 seconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerResult:
    """What one worker did; ``run_id`` None when there was no night to join."""

    run_id: str | None
    folder: Path | None = None
    summary: RunSummary | None = None
    bytes_cut: int = 0  # uncommitted records cut from an earlier attempt


NAME_WAIT: Final = 10.0  # seconds a worker waits for a dead namesake's name


def default_name() -> str:
    """This machine's name: one worker per machine needs no ``--name``."""
    return socket.gethostname().split(".")[0] or "worker"


def run_worker(settings: WorkerSettings, reporter: Reporter) -> WorkerResult:
    """Join the night in progress and work on it until no host is left."""
    store = PostgresStore.open(settings.store)
    try:
        cluster = Cluster(store, settings.store, settings.name, settings.lease)
        try:
            if not cluster.hold_name(wait=min(settings.lease, NAME_WAIT)):
                raise UsageError(
                    f"--name {settings.name}: a worker of that name is running on "
                    f"{settings.store}; give each worker a name of its own"
                )
            return _work(settings, reporter, store, cluster)
        finally:
            cluster.close()
    finally:
        store.close()


def _work(
    settings: WorkerSettings,
    reporter: Reporter,
    store: PostgresStore,
    cluster: Cluster,
) -> WorkerResult:
    cut = _repair_earlier(settings, store, reporter)
    night = settings.run_id or cluster.night()
    if night is None:
        return WorkerResult(run_id=None, bytes_cut=cut)
    folder = settings.preserve.out / night / settings.name
    with run_lock(folder):  # makes the folder; a refused worker leaves none
        _, lost = repair_worker_folder(folder, committed_offsets(store, night))
        cluster.take_back(night)
    if lost:
        reporter.note(f"{folder}: cut {lost} bytes of records never committed")
    cut += lost
    cluster.join(night, str(folder))
    history = StoreWriter(store, night, record=cluster.commit)
    told = _Claims(reporter)
    summary = preserve(
        replace(settings.preserve, out=folder),
        Gathered(articles={}, plan=Plan(targets=(), unfetched=()), skipped=()),
        told,
        history=history,
        archive_articles=(),
        feed=_Feeder(settings, store, cluster, night, told),
    )
    cluster.leave(night)
    _reindex(folder)
    return WorkerResult(run_id=night, folder=folder, summary=summary, bytes_cut=cut)


def _repair_earlier(
    settings: WorkerSettings, store: PostgresStore, reporter: Reporter
) -> int:
    """Put right this worker's folders that a kill left torn, in any night.

    Each is cut back to what the store committed, whether or not there is a
    night to join now, so a killed worker's files are whole once it has run
    again. Returns the bytes cut.
    """
    cut = 0
    for torn in sorted(settings.preserve.out.glob(f"*/{settings.name}/*.open")):
        folder = torn.parent
        if not torn.exists():
            continue  # its folder was repaired already
        with run_lock(folder):
            _, lost = repair_worker_folder(
                folder, committed_offsets(store, folder.parent.name)
            )
            index.write_cdxj(
                sorted(folder.glob("*.warc.gz")), folder / index.INDEX_NAME
            )
        _reindex(folder)
        if lost:
            reporter.note(f"{folder}: cut {lost} bytes of records never committed")
        cut += lost
    return cut


class _Claims:
    """The worker's reporter: it is given no plan, so it tells what it claims.

    The preserve run a worker feeds starts with nothing planned, and would
    log that as its plan (``"planned", "urls": 0``), which reads as a worker
    with nothing to do. Its work comes host by host instead: each claim is
    told as a note naming the hosts, their URLs and the worker's total.
    """

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter
        self._hosts = 0
        self._urls = 0

    def article_error(self, message: str) -> None:
        self._reporter.article_error(message)

    def note(self, message: str) -> None:
        self._reporter.note(message)

    def planned(self, total: int) -> None:
        pass  # the empty plan preserve began with: claims say what there is

    def done(self, status: LinkStatus) -> None:
        self._reporter.done(status)

    def claimed(self, claims: Sequence[Claimed]) -> None:
        urls = sum(len(claim.urls) for claim in claims)
        self._hosts += len(claims)
        self._urls += urls
        names = ", ".join(claim.host for claim in claims[:3])
        more = f" and {len(claims) - 3} more" if len(claims) > 3 else ""
        self._reporter.note(
            f"claimed {urls} URLs on {len(claims)} host(s) ({names}{more}); "
            f"{self._urls} URLs on {self._hosts} host(s) so far"
        )


class _Feeder:
    """Claims hosts while the frontier has room, and keeps their leases alive."""

    def __init__(
        self,
        settings: WorkerSettings,
        store: PostgresStore,
        cluster: Cluster,
        night: str,
        told: _Claims,
    ) -> None:
        politeness = settings.preserve.politeness
        self._room = max(1, politeness.concurrency // max(1, politeness.per_host))
        self._beat = settings.lease / 3
        self._poll = min(1.0, settings.lease / 4)
        self._store = store
        self._cluster = cluster
        self._night = night
        self._told = told
        self._limiter = trio.CapacityLimiter(1)
        self._held: set[str] = set()  # hosts claimed and not yet drained here

    async def _call(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    async def __call__(
        self, frontier: Frontier, *, remember: Callable[[str, Capture], None]
    ) -> None:
        held = self._held
        asked = -math.inf  # when the store was last asked for hosts
        room = min(self._room, await self._call(self._cluster.share, self._night))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._heartbeat, frontier)
            while True:
                drained = sorted(h for h in held if not frontier.busy(h))
                for host in drained:
                    held.discard(host)
                    await self._call(self._cluster.drained, self._night, host)
                # A host done here frees room at once; what others hold comes
                # free only when a lease lapses, so that is asked for slowly.
                free = room - len(held)
                if free > 0 and (drained or trio.current_time() - asked > self._poll):
                    asked = trio.current_time()
                    claimed = await self._call(self._cluster.claim, self._night, free)
                    if claimed:
                        self._told.claimed(claimed)
                    for claim in claimed:
                        held.add(claim.host)
                        await self._add(frontier, claim, remember)
                    if claimed:
                        continue
                    if not held and not await self._call(
                        self._cluster.others_busy, self._night
                    ):
                        break  # every host is fetched, or being fetched by someone
                await trio.sleep(LOOK_EVERY)
            nursery.cancel_scope.cancel()

    async def _add(
        self,
        frontier: Frontier,
        claim: Claimed,
        remember: Callable[[str, Capture], None],
    ) -> None:
        """Queue a claimed host's URLs, with their citations and earlier captures."""
        cited = await self._call(self._store.citations, [i.url for i in claim.urls])
        for item in claim.urls:
            if item.digest is not None and item.capture is not None:
                remember(item.digest, item.capture)
            frontier.add(
                Target(url=NormalizedURL(item.url), citations=cited.get(item.url, ()))
            )

    async def _heartbeat(self, frontier: Frontier) -> None:
        """Renew the leases; give up what another worker took meanwhile.

        A host is taken from us only if our beats stopped for a whole lease
        (the database out of reach): its queued URLs are dropped here, so
        from now on only its new holder fetches it.
        """
        while True:
            await trio.sleep(self._beat)
            ours = await trio.to_thread.run_sync(self._cluster.heartbeat, self._night)
            for host in sorted(self._held - ours):
                self._held.discard(host)
                frontier.drop(host)


def _reindex(folder: Path) -> None:
    """Index the worker's night, then the root, each shared with others in turn.

    The root's index is what replay reads. On the machine whose ``nightly``
    started the night, that run indexes the root again at the end; a root
    only workers write into (another machine's ``--out``) has nobody else to
    do it, so every worker does, as it leaves.
    """
    night = folder.parent
    with _waiting_lock(night / ".index.lock"):
        index.merge_run_indexes(night)
    root = night.parent
    with _waiting_lock(root / ".index.lock"):
        index.merge_run_indexes(root)


@contextmanager
def _waiting_lock(path: Path) -> Iterator[None]:
    """A blocking ``flock``: workers sharing a folder write its index in turn."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot lock: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True, kw_only=True)
class Spawned:
    """A worker process this machine started for a night."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


def spawn(settings: WorkerSettings) -> Spawned:
    """Start ``archiver worker`` as a process of its own, for this night.

    Its settings go over stdin (the whole settings tree, as this process has
    it, and this process's clock), so a worker fetches exactly as the night
    was asked to; it logs into its folder.
    """
    if settings.run_id is None:
        raise ValueError("spawn needs the night's run id")
    folder = settings.preserve.out / settings.run_id / settings.name
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / LOG_NAME
    payload = pickle.dumps(ParentOrders(settings=settings, clock=clock_now()))
    with log.open("ab") as stream:
        process = subprocess.Popen(
            [sys.executable, "-m", "archiver", "worker", "--from-parent"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=stream,
        )
    stdin: IO[bytes] | None = process.stdin
    if stdin is not None:
        try:
            with stdin:
                stdin.write(payload)
        except BrokenPipeError:
            # It died before reading its orders (killed as it started). The
            # night waits for it as for any worker, and says how it ended;
            # let through, click would end this process silently with code 1.
            pass
    return Spawned(name=settings.name, process=process, log=log)


@dataclass(frozen=True, slots=True, kw_only=True)
class ParentOrders:
    """What ``archiver nightly --workers`` hands each worker it starts."""

    settings: WorkerSettings
    clock: datetime  # the parent's time now: the worker's clock starts there


def read_orders(stream: IO[bytes]) -> ParentOrders:
    """The orders a parent wrote to this worker's stdin."""
    try:
        orders = pickle.load(stream)  # noqa: S301 - written by our own parent process
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as exc:
        raise UsageError(f"--from-parent: no orders on stdin ({exc})") from exc
    if not isinstance(orders, ParentOrders):
        raise UsageError("--from-parent: no orders on stdin")
    return orders
