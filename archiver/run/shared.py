"""A nightly run shared by worker processes: plan once, start them, gather up.

Called by :func:`archiver.run.nightly.run_nightly` with ``--workers N``,
holding the root's lock and the store's nightly lock: so the night is
planned once, by whoever started it. The article files (and the links
nothing fetches) are archived here, into the run folder; every due URL
goes into the store's frontier (:func:`archiver.store.cluster.plan`), and
N ``archiver worker`` processes fetch it, each into a folder of its own
under the run folder. Workers on other machines may join meanwhile.

When the processes are gone and some host is still unfinished (a worker
died and nobody else was left to claim its hosts), a worker is started
again under the dead one's name: it cuts its folder back to what was
committed, takes back its own leases and fetches the rest. A dead worker
nobody replaces has its folder cut back the same way. Then the run folder
is indexed over every worker's folder, and the night's figures are read
from the store, which is the one place every worker's checks meet.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from archiver.errors import WorkersFailed
from archiver.models import Capture, LinkKind, LinkStatus, Target
from archiver.run import manifest
from archiver.run.lock import run_lock
from archiver.run.preserve import Gathered, PreserveSettings, RunSummary, preserve
from archiver.run.recorder import Reporter
from archiver.run.sharing import repair_worker_folder
from archiver.run.worker import Spawned, WorkerSettings, default_name, spawn
from archiver.store.cluster import (
    Planned,
    committed_offsets,
    known_captures,
    plan,
    run_checks,
    settling,
    unfinished_hosts,
)
from archiver.store.history import Check
from archiver.store.location import PostgresURL
from archiver.store.postgres import PostgresStore
from archiver.urls import authority
from archiver.warc import index

RESTARTS_PER_WORKER: Final = 3  # a worker that keeps dying is not started forever


@dataclass(frozen=True, slots=True, kw_only=True)
class Night:
    """A shared night's settings; ``settings.out`` is the root of the nights."""

    settings: PreserveSettings
    store: PostgresURL
    run_id: str
    workers: int
    lease: float


def night(
    night: Night,
    tonight: Gathered,
    reporter: Reporter,
    *,
    archive: Sequence[str],
    articles_archived: Callable[[Sequence[str]], None],
    captures: Callable[[Iterable[str]], dict[str, tuple[str, Capture]]],
) -> tuple[RunSummary, int]:
    """Run the night on ``night.workers`` processes; its summary and checks."""
    started = time.monotonic()
    root = night.settings.out
    folder = root / night.run_id
    targets = tonight.plan.targets
    # The article files and the unfetchable links: this process's own part.
    own = preserve(
        replace(night.settings, out=folder),
        replace(tonight, plan=replace(tonight.plan, targets=())),
        _Untold(reporter),
        archive_articles=archive,
        articles_archived=articles_archived,
    )
    with PostgresStore.open(night.store) as store:
        urls = [str(target.url) for target in targets]
        found = captures(urls)
        shared = known_captures(store, urls)
        planned = []
        for url in urls:
            digest, capture = found.get(url, (None, None))
            if url in shared and digest is None:
                digest = store.last_digest(url)
            capture = shared.get(url, capture)
            planned.append(
                Planned(url=url, host=authority(url), digest=digest, capture=capture)
            )
        hosts = plan(store, night.run_id, planned)
        reporter.planned(len(planned) + len(own.statuses))
        reporter.note(
            f"planned {len(planned)} URLs on {hosts} hosts "
            f"for {night.workers} worker(s)"
        )
        _run_workers(night, store, reporter)
        checks = run_checks(store, night.run_id)
    index.merge_run_indexes(folder)
    cited = {str(target.url): target for target in targets}
    statuses = [
        *own.statuses,
        *(_status(check, cited.get(check.url)) for check in checks),
    ]
    # The run folder's manifest and dead-links.csv are the night's, as a
    # night of one process writes them: every URL, whichever worker did it
    # (each worker's own, in its folder, lists its part).
    manifest_path, dead_path = manifest.write(folder, statuses, tonight.articles)
    # The planner's own run searched no page: its requisite counts are not
    # the night's. The workers' lists are, merged into the run folder's.
    requisites_file = None
    if own.requisites is not None:
        requisites_file, distinct, archived = manifest.merge_requisites(folder)
        reporter.note(
            f"requisites: {distinct} distinct, {archived} archived by the workers"
        )
    summary = replace(
        own,
        requisites=None,
        requisites_file=requisites_file,
        statuses=statuses,
        manifest=manifest_path,
        dead_links=dead_path,
        bytes=own.bytes + sum(check.length or 0 for check in checks),
        elapsed=time.monotonic() - started,
        warc_files=tuple(sorted(folder.glob("*.warc.gz")))
        + tuple(sorted(folder.glob("*/*.warc.gz"))),
        index=folder / index.INDEX_NAME,
    )
    return summary, len(checks)


class _Untold:
    """The reporter, but for the count of URLs: the planner's own run has none.

    The night's count is told once the frontier is planned; each worker's
    checks are in its own log.
    """

    def __init__(self, reporter: Reporter) -> None:
        self._reporter = reporter

    def article_error(self, message: str) -> None:
        self._reporter.article_error(message)

    def note(self, message: str) -> None:
        self._reporter.note(message)

    def planned(self, total: int) -> None:
        pass

    def done(self, status: LinkStatus) -> None:
        self._reporter.done(status)


def _run_workers(night: Night, store: PostgresStore, reporter: Reporter) -> None:
    base = WorkerSettings(
        preserve=night.settings,
        store=night.store,
        name=default_name(),
        lease=night.lease,
        run_id=night.run_id,
    )
    names = [f"{base.name}-{n}" for n in range(1, night.workers + 1)]
    dead: list[str] = []
    running: list[Spawned] = []
    try:
        running = [spawn(replace(base, name=name)) for name in names]
        dead = _wait(running, reporter)
        # Workers on other machines may still be committing their last hosts.
        while settling(store, night.run_id):
            time.sleep(min(1.0, night.lease / 4))
        restarts = 0
        # Past the deadline what is left stays for the next night; otherwise
        # a dead worker's hosts must not wait for tomorrow.
        while (
            dead
            and night.settings.deadline is None
            and unfinished_hosts(store, night.run_id)
            and restarts < RESTARTS_PER_WORKER * night.workers
        ):
            name = dead.pop(0)
            restarts += 1
            reporter.note(f"worker {name}: started again for the hosts left")
            running = [spawn(replace(base, name=name))]
            dead += _wait(running, reporter)
    finally:
        for child in running:
            _stop(child)
    committed = committed_offsets(store, night.run_id)
    left = unfinished_hosts(store, night.run_id) if dead else 0
    for name in sorted(set(dead)):
        worker_folder = night.settings.out / night.run_id / name
        if not worker_folder.is_dir():
            continue  # it died before it made its folder: nothing to repair
        with run_lock(worker_folder):
            _, cut = repair_worker_folder(worker_folder, committed)
        if cut:
            reporter.note(f"{worker_folder}: cut {cut} bytes never committed")
        index.write_cdxj(
            sorted(worker_folder.glob("*.warc.gz")), worker_folder / index.INDEX_NAME
        )
    if left and night.settings.deadline is None:
        # Not a night that completed: the next one recovers it as crashed
        # and fetches what is left (a deadline leaves it for tomorrow anyway).
        raise WorkersFailed(
            f"night {night.run_id}: {left} host(s) left unfinished, its workers "
            f"kept failing (last: worker {dead[-1]}, whose error is in the log)"
        )


def _wait(children: Sequence[Spawned], reporter: Reporter) -> list[str]:
    """Wait for every child; name those that did not end well, and say why."""
    failed = []
    for child in children:
        code = child.process.wait()
        if code != 0:
            failed.append(child.name)
            reporter.note(
                f"worker {child.name} ended with {_ending(code)}{_last(child)}"
            )
    return failed


def _ending(code: int) -> str:
    if code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


def _last(child: Spawned) -> str:
    """The last line its log holds, if it was not JSON (an error's one line)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        lines = child.log.read_text(encoding="utf-8").splitlines()
        plain = [line for line in lines if line and not line.startswith("{")]
        if plain:
            return f": {plain[-1]}"
    return f" (see {child.log})"


def _stop(child: Spawned) -> None:
    """A worker still running when this process leaves by an error: stop it."""
    if child.process.poll() is not None:
        return
    child.process.terminate()
    try:
        child.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        child.process.kill()
        child.process.wait()


def _status(check: Check, target: Target | None) -> LinkStatus:
    """A committed check as the summary and the manifest count it."""
    return LinkStatus(
        url=check.url,
        kind=target.kind if target is not None else LinkKind.LINK,
        citations=target.citations if target is not None else (),
        outcome=check.outcome,
        reason=check.reason,
        detail=check.detail,
        http_status=check.http_status,
        final_url=check.final_url,
        attempts=check.attempts,
        content_type=check.content_type,
        length=check.length,
        truncated=check.truncated,
        record=check.record,
        checked=check.checked,
    )
