"""The nightly run: new articles, links that are due, and the store's memory.

Each night gets its own folder (``<out>/<run id>/``) with its WARC files,
manifest and index, and one row in the store. What is fetched:

* every link of an article that is new or whose content changed;
* links already known whose next check is due: suspect ones daily, the rest
  every few days (the store decides, :meth:`archiver.store.base.Store.due_urls`),
  capped so that one night stays bounded.

A payload identical to the URL's last capture is written as a ``revisit``
record pointing at that capture; a changed one is archived in full and the
store calls it drift. Page requisites are not in the store (they are not
citations), so their earlier captures are read from the runs'
``requisites.jsonl``: a site's shared stylesheet is archived once, then
revisited.

Before anything else a run puts right what a crashed one left: ``.open`` WARC
files are cut back to their last whole record, and records whose checks never
reached the store are cut too (their URLs are still due, so they are fetched
again rather than written twice). The crashed run is marked as such.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archiver.articles import extract, plan, seeds
from archiver.articles.unwrap import DEFAULT_RULES, WrapperRule
from archiver.clock import now as clock_now
from archiver.errors import ArchiveWriteError, UsageError
from archiver.files import replace_text
from archiver.models import Article, Capture, FoundLink, NormalizedURL, Outcome, Target
from archiver.run import manifest
from archiver.run.lock import run_lock, store_lock
from archiver.run.preserve import Gathered, PreserveSettings, RunSummary, preserve
from archiver.run.recorder import Reporter
from archiver.run.sharing import DEFAULT_LEASE, repair_worker_folder, require_shared
from archiver.store.base import Store, open_store
from archiver.store.history import ArchivedCopy, ArticleChange, DeadRule, RunStatus
from archiver.store.location import StoreLocation
from archiver.store.writer import StoreWriter
from archiver.warc import index
from archiver.warc.repair import cut_after_unit, record_count, repair_folder


@dataclass(frozen=True, slots=True, kw_only=True)
class NightlySettings:
    """A nightly run's own settings; fetching ones are in ``preserve``."""

    preserve: PreserveSettings  # its ``out`` is the root; each run gets a folder
    store: StoreLocation  # a SQLite file or a PostgreSQL URL
    rule: DeadRule
    alive_every: timedelta = timedelta(days=7)
    suspect_every: timedelta = timedelta(days=1)
    max_rechecks: int = 2000
    rules: tuple[WrapperRule, ...] = DEFAULT_RULES
    # Worker processes to share the night among (a PostgreSQL store only);
    # 0: this process fetches everything itself.
    workers: int = 0
    lease: float = DEFAULT_LEASE  # seconds a worker's host stays claimed

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise UsageError(f"--workers {self.workers}: not a number of workers")
        if self.workers:
            require_shared(self.store, "--workers")


@dataclass(frozen=True, slots=True, kw_only=True)
class Recovered:
    """What start-up put right after a crashed run."""

    run_id: str
    files: int  # WARC files looked at
    bytes_cut: int  # records whose checks never reached the store


@dataclass(frozen=True, slots=True, kw_only=True)
class NightlyResult:
    run_id: str
    folder: Path
    summary: RunSummary
    new_articles: int
    changed_articles: int
    rechecked: int
    recovered: tuple[Recovered, ...]
    withdrawn: tuple[str, ...] = ()  # articles whose files are gone since last night
    returned: tuple[str, ...] = ()  # withdrawn articles whose files are back


def run_nightly(settings: NightlySettings, reporter: Reporter) -> NightlyResult:
    """One night: recover, plan, fetch, record, holding the root folder's lock.

    The locks (the root's and the store's) are taken here, not by the
    command line, so a library caller cannot run two nights over one root,
    or two roots over one store, either.
    """
    root = settings.preserve.out
    # run_lock makes the root, and removes it again if the night is refused.
    with run_lock(root), store_lock(settings.store):
        return _night(settings, reporter, root)


def _night(settings: NightlySettings, reporter: Reporter, root: Path) -> NightlyResult:
    now = clock_now()
    with open_store(settings.store, rule=settings.rule) as store:
        recovered = tuple(_recover(store, root, now))
        _drop_spools(root, reporter)
        run_id = _new_run_id(store, now)
        folder = root / run_id
        store.begin_run(run_id, now, _options(settings))
        due = store.due_urls(now, settings.alive_every, settings.suspect_every, 10**9)
        gathered, seen = _gather(store, settings, now, reporter)
        changes = seen.changes
        new = sum(1 for change in changes if change.is_new)
        planned = {t.url for t in gathered.plan.targets}
        rechecks = _due_targets(store, [u for u in due if u not in planned])
        rechecks = rechecks[: settings.max_rechecks]
        targets = (*gathered.plan.targets, *rechecks)
        tonight = replace(gathered, plan=replace(gathered.plan, targets=targets))
        archive = [str(change.article.path) for change in changes]
        if settings.workers:
            # Imported here: a night of one process never loads the driver.
            from archiver.run import shared

            summary, checks = shared.night(
                shared.Night(
                    settings=settings.preserve,
                    store=require_shared(settings.store, "--workers"),
                    run_id=run_id,
                    workers=settings.workers,
                    lease=settings.lease,
                ),
                tonight,
                reporter,
                archive=archive,
                articles_archived=store.mark_archived,
                captures=lambda urls: _captures_by_url(store, root, urls),
            )
        else:
            writer = StoreWriter(store, run_id)
            summary = preserve(
                replace(settings.preserve, out=folder),
                tonight,
                reporter,
                history=writer,
                known={
                    **_known_requisites(root),
                    **_known_captures(store, root, targets),
                },
                archive_articles=archive,
                articles_archived=store.mark_archived,
            )
            checks = writer.written
        index.merge_run_indexes(root)
        counts = {str(o): summary.count(o) for o in Outcome}
        counts["checks"] = checks
        store.finish_run(run_id, clock_now(), counts, conclusive=not summary.offline)
    return NightlyResult(
        run_id=run_id,
        folder=folder,
        summary=summary,
        new_articles=new,
        changed_articles=len(changes) - new,
        rechecked=len(rechecks),
        recovered=recovered,
        withdrawn=seen.withdrawn,
        returned=seen.returned,
    )


def _recover(store: Store, root: Path, now: datetime) -> Iterable[Recovered]:
    """Repair the folders of runs that never finished, then mark them crashed.

    What is kept is exactly what the store committed: records past the last
    committed check are cut, the journal keeps only lines whose check (and
    record) survived, and the folder is indexed, so the root index lists
    every committed capture of a crashed run too.
    """
    for run in store.unfinished_runs():
        folder = root / run.id
        files = 0
        cut = 0
        if folder.is_dir():
            repair_folder(folder)
            committed = _committed_offsets(store, run.id)
            for path in sorted(folder.glob("*.warc.gz")):
                files += 1
                cut += cut_after_unit(path, committed.get(path.name))
                if record_count(path) <= 1:
                    path.unlink()  # only its warcinfo is left
            checked = store.checked_in_run(run.id)
            _keep_committed_journal(folder, checked)
            # A shared night's workers each wrote a folder inside it.
            for worker in sorted(p for p in folder.iterdir() if _worker_folder(p)):
                looked, lost = repair_worker_folder(worker, committed)
                files, cut = files + looked, cut + lost
                _keep_committed_journal(worker, checked)
                index.write_cdxj(
                    sorted(worker.glob("*.warc.gz")), worker / index.INDEX_NAME
                )
            index.write_cdxj(
                sorted(folder.glob("*.warc.gz")), folder / index.INDEX_NAME
            )
            index.merge_run_indexes(folder)
        store.finish_run(run.id, now, {}, conclusive=False, status=RunStatus.CRASHED)
        yield Recovered(run_id=run.id, files=files, bytes_cut=cut)


def _worker_folder(path: Path) -> bool:
    """A folder a worker of a shared night wrote (not a spool, not a file)."""
    return path.is_dir() and not path.name.startswith(".")


def _drop_spools(root: Path, reporter: Reporter) -> None:
    """Remove the spool folders killed runs left in their run folders.

    With the root's lock and the store's held, no run is using any of them:
    a spool holds only bodies that were never archived (a check is committed
    after its record is written, and its spool file deleted), so nothing in
    them is owed to the history. One kill leaves tens of megabytes.
    """
    for spool in sorted([*root.glob("*/.spool-*"), *root.glob("*/*/.spool-*")]):
        shutil.rmtree(spool, ignore_errors=True)
        reporter.note(f"removed {spool}: bodies a killed run had not archived")


def _keep_committed_journal(folder: Path, committed: set[str]) -> None:
    """Rewrite a crashed run's journal to the checks the store committed.

    A journal line is written when a URL finishes, before its check reaches
    the store; a line whose check was lost (or whose record was cut) would
    point at nothing. Lines that say nothing about a record are kept when
    their URL's check is committed.
    """
    journal = folder / manifest.PARTIAL_NAME
    sizes = {path.name: path.stat().st_size for path in folder.glob("*.warc.gz")}
    try:
        lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveWriteError(f"{journal}: cannot read: {exc}") from exc
    kept = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the torn last line of a killed run
        if not isinstance(entry, dict) or entry.get("url") not in committed:
            continue
        name, offset = entry.get("warc_file"), entry.get("warc_offset")
        if name is not None and not (
            isinstance(offset, int) and offset < sizes.get(str(name), 0)
        ):
            continue
        kept.append(line if line.endswith("\n") else line + "\n")
    try:
        replace_text(journal, "".join(kept))
    except OSError as exc:
        raise ArchiveWriteError(f"{journal}: cannot rewrite: {exc}") from exc


def _committed_offsets(store: Store, run_id: str) -> dict[str, int]:
    """Per WARC file of the run, the offset of the last record the store holds."""
    last: dict[str, int] = {}
    for url in store.checked_in_run(run_id):
        for check in store.history(url):
            if check.run_id == run_id and check.record is not None:
                name = check.record.warc_file
                last[name] = max(last.get(name, -1), check.record.offset)
    return last


def _new_run_id(store: Store, now: datetime) -> str:
    base = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id, n = base, 1
    while store.run(run_id) is not None:
        n += 1
        run_id = f"{base}-{n}"
    return run_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Articles:
    """What became of the night's articles, as the store saw them."""

    changes: tuple[ArticleChange, ...]  # new or changed: their links gathered
    withdrawn: tuple[str, ...]  # paths whose files are gone since the last night
    returned: tuple[str, ...]  # paths withdrawn before, back tonight


def _gather(
    store: Store, settings: NightlySettings, now: datetime, reporter: Reporter
) -> tuple[Gathered, Articles]:
    """Read every article; gather the links of those new or changed since.

    Articles whose files are gone are withdrawn first: from tonight their
    links are re-checked only while another article still cites them.
    """
    articles: dict[str, Article] = {}
    skipped: list[str] = []

    def skip(message: str) -> None:
        skipped.append(message)
        reporter.article_error(message)

    inputs = settings.preserve.inputs
    files = seeds.discover(inputs)
    for article in seeds.read_each(files, skip):
        articles[str(article.path)] = article
    withdrawn, returned = _withdrawals(store, inputs, files)
    store.withdraw(withdrawn, now)
    for path in withdrawn:
        reporter.note(f"{path}: withdrawn (its file is gone from the inputs)")
    for path in returned:
        reporter.note(f"{path}: back among the inputs, cited again")
    changes = store.record_articles(articles.values(), now)
    found: list[FoundLink] = []
    for change in changes:
        found.extend(extract.links(change.article, settings.rules))
    built = plan.build(found)
    store.record_citations(
        (*built.targets, *built.unfetched),
        now,
        articles=[str(change.article.path) for change in changes],
    )
    heads = {path: article.head() for path, article in articles.items()}
    gathered = Gathered(articles=heads, plan=built, skipped=tuple(skipped))
    return gathered, Articles(
        changes=changes, withdrawn=tuple(withdrawn), returned=tuple(returned)
    )


def _withdrawals(
    store: Store, inputs: Sequence[Path], files: Sequence[Path]
) -> tuple[list[str], list[str]]:
    """Articles whose files are gone from the inputs tonight, and those back.

    A file that is there but unreadable is not gone (it is reported and
    skipped, and keeps its links). Nor is anything under an input folder
    that holds no article file at all tonight: an unmounted disk or an
    emptied share looks like that, and must not withdraw a whole collection.
    """
    present = {str(path) for path in files}
    empty = [
        folder
        for folder in inputs
        if folder.is_dir() and not any(path.is_relative_to(folder) for path in files)
    ]
    withdrawn: list[str] = []
    returned: list[str] = []
    for stored in store.articles():
        if stored.path in present:
            if stored.withdrawn is not None:
                returned.append(stored.path)
        elif stored.withdrawn is None and not any(
            Path(stored.path).is_relative_to(folder) for folder in empty
        ):
            withdrawn.append(stored.path)
    return withdrawn, returned


def _due_targets(store: Store, urls: Sequence[str]) -> list[Target]:
    cited = store.citations(urls)
    return [
        Target(url=NormalizedURL(url), citations=cited[url])
        for url in urls
        if cited.get(url)
    ]


def _known_captures(
    store: Store, root: Path, targets: Iterable[Target]
) -> dict[str, Capture]:
    """Each target's last payload, so an unchanged one is written as a revisit."""
    known: dict[str, Capture] = {}
    for target in targets:
        digest = store.last_digest(target.url)
        if digest is None or digest in known:
            continue
        copy = store.first_capture(target.url, digest)
        capture = _capture(root, copy) if copy is not None else None
        if capture is not None:
            known[digest] = capture
    return known


def _captures_by_url(
    store: Store, root: Path, urls: Iterable[str]
) -> dict[str, tuple[str, Capture]]:
    """Each URL's last payload digest and where it was first archived.

    What a worker of a shared night writes a revisit for; read from the
    run folders under ``root`` (the workers started on this machine).
    """
    found: dict[str, tuple[str, Capture]] = {}
    for url in urls:
        digest = store.last_digest(url)
        copy = store.first_capture(url, digest) if digest is not None else None
        capture = _capture(root, copy) if copy is not None else None
        if digest is not None and capture is not None:
            found[url] = (digest, capture)
    return found


def _known_requisites(root: Path) -> dict[str, Capture]:
    """The payloads earlier runs archived as requisites, and where first."""
    known: dict[str, Capture] = {}
    for path in sorted(root.glob(f"*/{manifest.REQUISITES_NAME}")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            continue  # a run's list is gone or broken: its bodies are fetched again
        for text in lines:
            try:
                entry = json.loads(text)
            except ValueError:
                continue
            digest, first = entry.get("payload_digest"), entry.get("revisit_of")
            if not isinstance(digest, str) or digest in known:
                continue
            if isinstance(first, dict):
                uri, date = first.get("uri"), first.get("date")
            else:
                uri, date = entry.get("final_url"), entry.get("warc_date")
            if isinstance(uri, str) and isinstance(date, str):
                known[digest] = Capture(uri=uri, date=date)
    return known


def _capture(root: Path, copy: ArchivedCopy) -> Capture | None:
    """The URI and WARC-Date of the record a revisit will refer to."""
    path = root / copy.run_id / copy.record.warc_file
    try:
        with path.open("rb") as stream:
            stream.seek(copy.record.offset)
            record = next(iter(ArchiveIterator(stream)))
            uri = record.rec_headers.get_header("WARC-Target-URI")
            date = record.rec_headers.get_header("WARC-Date")
            record_id = record.rec_headers.get_header("WARC-Record-ID")
    except (OSError, StopIteration, ValueError):
        return None  # the copy is gone: archive the body again
    if not uri or not date:
        return None
    return Capture(
        uri=str(uri), date=str(date), record_id=str(record_id) if record_id else None
    )


def _options(settings: NightlySettings) -> dict[str, object]:
    fetch = settings.preserve.fetch
    return {
        "command": settings.preserve.command,
        "inputs": [str(p) for p in settings.preserve.inputs],
        "alive_every_days": settings.alive_every.total_seconds() / 86400,
        "suspect_every_days": settings.suspect_every.total_seconds() / 86400,
        "max_rechecks": settings.max_rechecks,
        "dead_after_failures": settings.rule.failures,
        "dead_after_days": settings.rule.span.total_seconds() / 86400,
        "timeout": fetch.timeout,
        "retries": fetch.retry.attempts,
        "concurrency": settings.preserve.politeness.concurrency,
        "per_host": settings.preserve.politeness.per_host,
        "requisites": settings.preserve.requisites.enabled,
        "max_requisites": settings.preserve.requisites.max_per_page,
        "max_requisite_bytes": settings.preserve.requisites.max_bytes_per_page,
        # A shared night's workers read it: each holds at most its share of
        # the hosts at once (archiver.store.cluster.Cluster.share).
        "workers": settings.workers,
    }
