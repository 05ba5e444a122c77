"""The preserve run: articles -> links -> fetches -> WARC records -> manifest.

This is the one module that knows the whole chain. It holds no business
rules: it wires the stages, bounds the concurrency and decides the run's
fate. Only fetching is concurrent; the WARC file is owned by a single task
that writes from one worker thread, in the order results arrive.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import signal
import tempfile
import time
from collections import defaultdict
from collections.abc import (
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Protocol, TextIO

import trio

from archiver import heap
from archiver.articles import extract, plan, seeds
from archiver.articles.unwrap import DEFAULT_RULES, WrapperRule
from archiver.browser.settings import BrowserSettings
from archiver.clock import now as clock_now
from archiver.crawl import maintext
from archiver.crawl.client import ClientSettings, build_client
from archiver.crawl.fetch import Fetcher, FetchSettings
from archiver.crawl.netguard import GuardedBackend, Resolver
from archiver.crawl.politeness import HostGate, Politeness
from archiver.crawl.verify import Verifier
from archiver.errors import ArchiveWriteError, Interrupted, Terminated
from archiver.models import (
    ArticleHead,
    Capture,
    Citation,
    FetchResult,
    FoundLink,
    LinkKind,
    LinkStatus,
    Outcome,
    Target,
)
from archiver.run import browsing, classify, manifest
from archiver.run.frontier import Feed, Frontier, Work
from archiver.run.lock import run_lock
from archiver.run.offline import DEFAULT_CANARIES, any_canary_answers
from archiver.run.recorder import Finished, History, Item, Recorder, Reporter, Tally
from archiver.run.requisites import (
    Book,
    RequisiteReport,
    RequisiteSettings,
    Wanted,
    discover,
    searchable,
)
from archiver.run.statuses import StatusFile
from archiver.urls import authority, normalise
from archiver.version import distribution_version
from archiver.warc import index
from archiver.warc.repair import repair_folder
from archiver.warc.writer import WarcSettings, WarcSink, article_uri


@dataclass(frozen=True, slots=True, kw_only=True)
class PreserveSettings:
    """Everything one ``archiver preserve`` run needs, options resolved."""

    inputs: tuple[Path, ...]
    out: Path
    fetch: FetchSettings = FetchSettings()  # one request: timeouts, retries, limits
    politeness: Politeness = Politeness()
    client: ClientSettings = ClientSettings()
    warc: WarcSettings = WarcSettings()
    command: str = "archiver preserve"
    deadline: float | None = None  # seconds the whole run may take
    probe: bool = True  # ask each host for a made-up path to spot soft 404s
    canaries: tuple[str, ...] = DEFAULT_CANARIES
    requisites: RequisiteSettings = RequisiteSettings()
    browser: BrowserSettings = BrowserSettings()  # --browser auto|always|never


@dataclass(frozen=True, slots=True, kw_only=True)
class Gathered:
    """What the articles cite, before any fetching."""

    articles: Mapping[str, ArticleHead]  # by path; their text is not kept
    plan: plan.Plan
    skipped: tuple[str, ...]  # one line per article that could not be read


@dataclass(slots=True, kw_only=True)
class RunSummary:
    """The run's outcome, as the summary screen and the exit code need it."""

    articles: int
    skipped_articles: tuple[str, ...]
    statuses: Sequence[LinkStatus]  # a StatusFile: read back from disk on demand
    bytes: int
    elapsed: float
    warc_files: tuple[Path, ...]
    manifest: Path
    dead_links: Path
    index: Path | None = None
    offline: bool = False
    requisites: RequisiteReport | None = None  # None when --no-requisites
    requisites_file: Path | None = None

    def count(self, outcome: Outcome) -> int:
        if isinstance(self.statuses, StatusFile):
            return self.statuses.count(outcome)  # counted as kept: nothing read
        return sum(1 for s in self.statuses if s.outcome is outcome)

    def by_reason(self, outcome: Outcome) -> dict[str, int]:
        if isinstance(self.statuses, StatusFile):
            return self.statuses.by_reason(outcome)
        found: dict[str, int] = defaultdict(int)
        for status in self.statuses:
            if status.outcome is outcome:
                found[status.reason] += 1
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


def default_user_agent() -> str:
    version = distribution_version("archiver")
    return f"Mozilla/5.0 (compatible; archiver/{version}; link preservation)"


class SharedFeed(Protocol):
    """Adds work to a running frontier; ``remember`` takes earlier captures."""

    def __call__(
        self, frontier: Frontier, *, remember: Callable[[str, Capture], None]
    ) -> Awaitable[None]: ...


COMMAND_LINE = "<command line>"  # the "article" citing URLs given as arguments


def gather(
    inputs: Sequence[Path],
    reporter: Reporter | None = None,
    *,
    urls: Sequence[str] = (),
    rules: Sequence[WrapperRule] = DEFAULT_RULES,
) -> Gathered:
    """Read every article and plan the distinct URLs they (and ``urls``) cite.

    An article that cannot be read is reported and skipped; the run goes on.
    """
    articles: dict[str, ArticleHead] = {}
    given = [
        FoundLink(
            raw=url,
            base=None,
            citation=Citation(
                article=COMMAND_LINE,
                kind=LinkKind.LINK,
                element="argument",
                attribute="url",
            ),
        )
        for url in urls
    ]
    skipped: list[str] = []

    def skip(message: str) -> None:
        skipped.append(message)
        if reporter is not None:
            reporter.article_error(message)

    def found() -> Iterator[FoundLink]:
        # One article's links at a time, straight into the plan: a list of
        # every link found was a transient 20 MB per hundred thousand URLs.
        yield from extract.with_unwrapped(given, rules)
        for article in seeds.read_all(inputs, skip):
            articles[str(article.path)] = article.head()
            yield from extract.links(article, rules)

    built = plan.build(found())
    return Gathered(articles=articles, plan=built, skipped=tuple(skipped))


def preserve(
    settings: PreserveSettings,
    gathered: Gathered,
    reporter: Reporter,
    *,
    history: History | None = None,
    known: Mapping[str, Capture] | None = None,
    archive_articles: Iterable[str] | None = None,
    articles_archived: Callable[[Sequence[str]], None] | None = None,
    feed: SharedFeed | None = None,
) -> RunSummary:
    """Fetch and archive everything ``gathered`` planned, then write the manifest.

    The run holds the folder's lock throughout (a second run into the same
    folder raises :class:`~archiver.errors.RunLocked`) and first repairs the
    WARC files a killed run left open, so a library caller is as safe as the
    command line.

    ``known`` maps payload digests to earlier captures, which the WARC sink
    writes revisit records for instead of the same bytes again. The article
    files named in ``archive_articles`` (default: all read) are archived
    themselves, with the links they cite; ``articles_archived`` is then told
    which of them are on disk (synced), before any link is fetched.

    ``feed``, when given, adds work while the run goes on (a worker of a
    shared night, :mod:`archiver.run.worker`); it is handed the frontier and
    the sink's ``remember``, for the earlier captures of what it adds.
    """
    settings.out.mkdir(parents=True, exist_ok=True)
    with run_lock(settings.out):
        for repair in repair_folder(settings.out):
            reporter.note(repair.describe())
        for message in _tidy_after_a_killed_run(settings.out):
            reporter.note(message)
        return _preserve_locked(
            settings,
            gathered,
            reporter,
            history=history,
            known=known,
            archive_articles=archive_articles,
            articles_archived=articles_archived,
            feed=feed,
        )


def _preserve_locked(
    settings: PreserveSettings,
    gathered: Gathered,
    reporter: Reporter,
    *,
    history: History | None,
    known: Mapping[str, Capture] | None,
    archive_articles: Iterable[str] | None,
    articles_archived: Callable[[Sequence[str]], None] | None,
    feed: SharedFeed | None,
) -> RunSummary:
    started = time.monotonic()
    heap.release()  # what reading and planning the articles freed
    # Kept on disk, not in memory: a status per URL is what grew with a run.
    statuses = StatusFile(settings.out)
    for item in gathered.plan.unfetched:
        status = classify.unfetched(item)
        statuses.append(status)
        reporter.done(status)
    reporter.planned(len(gathered.plan.targets) + len(statuses))
    # Each record's index line as it is written: no file is read back.
    written_index = index.WrittenIndex(settings.out)
    sink = WarcSink(
        settings.out,
        prefix=settings.warc.prefix,
        info=_warcinfo(settings),
        max_file_size=settings.warc.max_file_size,
        index=written_index,
    )
    tally = Tally(statuses=statuses)

    async def is_online() -> bool:
        return await any_canary_answers(
            settings.canaries,
            request_timeout=settings.fetch.timeout,
            client_settings=settings.client,
        )

    partial = settings.out / manifest.PARTIAL_NAME
    book = Book(settings.requisites, (t.url for t in gathered.plan.targets))
    stopped = _Stop()
    spool: Path | None = None
    journal: TextIO | None = None
    # From the first record on, whatever ends the run (an error, Ctrl-C, a
    # SIGTERM before trio's own handler is in place) closes the WARC file and
    # removes the spool: a graceful stop never leaves a .open file.
    try:
        for digest, capture in (known or {}).items():
            sink.remember(digest, capture)
        names = gathered.articles if archive_articles is None else archive_articles
        written = _archive_articles(sink, gathered, names)
        sink.sync()
        if articles_archived is not None:
            articles_archived(written)
        spool = Path(tempfile.mkdtemp(prefix=".spool-", dir=settings.out))
        try:
            journal = partial.open("w", encoding="utf-8")
        except OSError as exc:
            raise ArchiveWriteError(f"{partial}: cannot write: {exc.strerror}") from exc
        recorder = Recorder(sink, tally, reporter, history, is_online, journal, book)
        fed: Feed | None = None
        if feed is not None:
            fed = functools.partial(feed, remember=sink.remember)
        trio.run(
            _archive,
            settings,
            gathered.plan.targets,
            spool,
            recorder,
            book,
            stopped,
            fed,
        )
    except BaseException:
        statuses.close()
        written_index.close()
        # The run's own error says what went wrong; a journal that cannot be
        # flushed on a full disk must not replace it with a bare OSError.
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.close()
        raise
    else:
        try:
            journal.close()
        except OSError as exc:
            raise ArchiveWriteError(
                f"{partial}: cannot write: {exc.strerror or exc}"
            ) from exc
    finally:
        sink.close()
        if spool is not None:
            shutil.rmtree(spool, ignore_errors=True)
    heap.release()  # the crawl's buffers, before the manifest needs room
    fetched = len(statuses) - len(gathered.plan.unfetched)
    if settings.deadline is not None and stopped.signal is None:
        done = set(statuses.urls)
        now = clock_now()
        for target in gathered.plan.targets:
            if target.url not in done:
                late = classify.not_reached(target, settings.deadline, now)
                statuses.append(late)
                reporter.done(late)
        del done
    offline = tally.offline
    report: RequisiteReport | None = None
    requisites_path: Path | None = None
    if settings.requisites.enabled:
        report = book.report(statuses.pick(book.cited_requisites()))
        statuses.amend(report.pages)
        requisites_path = manifest.write_requisites(settings.out, report.lines)
    manifest_path, dead_path = manifest.write(
        settings.out, statuses.by_url(), gathered.articles, ordered=True
    )
    partial.unlink(missing_ok=True)
    heap.release()  # and the manifest's, before the index sorts its runs
    # Every WARC in the folder, not only this run's: revisit records may point
    # at captures of earlier runs, and pywb serves the whole folder (nightly
    # runs' folders in it too, when nightly shares it).
    try:
        index_path = index.merge_run_indexes(settings.out, written=written_index)
    finally:
        written_index.close()
    if stopped.signal is not None:
        stop = Terminated if stopped.signal == signal.SIGTERM else Interrupted
        finished = fetched
        statuses.close()
        raise stop(
            f"interrupted by {signal.Signals(stopped.signal).name}: "
            f"{finished} of {len(gathered.plan.targets)} URLs done; "
            f"{manifest_path} lists them"
        )
    return RunSummary(
        articles=len(gathered.articles),
        skipped_articles=gathered.skipped,
        statuses=statuses,
        bytes=tally.bytes,
        elapsed=time.monotonic() - started,
        warc_files=tuple(sink.closed_files),
        manifest=manifest_path,
        dead_links=dead_path,
        index=index_path,
        offline=offline,
        requisites=report,
        requisites_file=requisites_path,
    )


def _archive_articles(
    sink: WarcSink, gathered: Gathered, names: Iterable[str]
) -> list[str]:
    """A resource record per article file, with its outlinks beside it.

    Returns the names of the articles written.
    """
    written: list[str] = []
    outlinks: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
    for target in gathered.plan.targets:
        for citation in target.citations:
            outlinks[citation.article][(target.url, _heritrix_hop(citation))] = None
    for name in names:
        article = gathered.articles.get(name)
        if article is None:
            continue
        try:
            data = article.path.read_bytes()
        except OSError:
            continue  # read a moment ago; gone now: its links are still fetched
        live = normalise(article.url) if article.url else None
        about = [("article-file", name), ("title", article.title)]
        if isinstance(live, str):
            about.insert(0, ("article-url", live))
        sink.write_article(
            article_uri(article.sha256),
            data,
            clock_now(),
            list(outlinks.get(name, {})),
            about,
        )
        written.append(name)
    return written


def _heritrix_hop(citation: Citation) -> str:
    """How Heritrix writes what a link is to its page: hop type, then context.

    ``L`` a link a reader follows, ``E`` something the page embeds; the
    context is the element and attribute it was found in (``a/@href``,
    ``img/@srcset``), or the element alone (a markdown link, the title).
    """
    hop = "L" if citation.kind in (LinkKind.LINK, LinkKind.ARTICLE) else "E"
    where = citation.element or "text"
    context = f"{where}/@{citation.attribute}" if citation.attribute else where
    return f"{hop} {context}"


def _warcinfo(settings: PreserveSettings) -> dict[str, str]:
    info = {
        "software": f"archiver/{distribution_version('archiver')} "
        f"(warcio/{distribution_version('warcio')}; "
        f"httpx/{distribution_version('httpx')})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/"
        "specifications/warc-format/warc-1.1/",
        "command": settings.command,
        "http-header-user-agent": settings.client.user_agent,
        # The collection the file belongs to: its run (a nightly run's id, or
        # the output folder of a one-off preserve), as Heritrix says it.
        "isPartOf": settings.out.resolve().name,
        "description": "pages, images and media cited by articles, with what "
        "they need to show, and the article files themselves",
    }
    if settings.warc.operator:
        info["operator"] = settings.warc.operator
    return info


# How long, after the first Ctrl-C, responses already received may take to
# be written before the recorder is stopped too.
GRACE_SECONDS: Final = 5.0


@dataclass(slots=True)
class _Stop:
    """Which signal stopped the run, if one did (set inside trio.run)."""

    signal: int | None = None


def _tidy_after_a_killed_run(out: Path) -> Iterator[str]:
    """Keep a killed run's journal and drop its spool; say what was done.

    Called with the folder's lock held, so no other run is using either.
    """
    partial = out / manifest.PARTIAL_NAME
    if partial.exists():
        stamp = clock_now().strftime("%Y%m%dT%H%M%SZ")
        kept = out / f"manifest.interrupted-{stamp}.jsonl"
        try:
            partial.rename(kept)
        except OSError as exc:
            raise ArchiveWriteError(f"{partial}: cannot keep: {exc}") from exc
        yield f"kept {kept}: what an interrupted run had done"
    for spool in sorted(out.glob(".spool-*")):
        shutil.rmtree(spool, ignore_errors=True)
        yield f"removed {spool}: bodies a killed run had not archived"


async def _archive(
    settings: PreserveSettings,
    targets: Sequence[Target],
    spool: Path,
    recorder: Recorder,
    book: Book,
    stopped: _Stop,
    feed: Feed | None = None,
) -> None:
    """Fetch everything, record it, and stop gracefully on SIGINT or SIGTERM.

    The first signal stops new fetches; responses already received are still
    written, for up to ``GRACE_SECONDS``. A second signal stops everything
    at once. Either way the WARC writes in progress finish (they run in a
    thread that is never abandoned), so every file stays whole.
    """
    async with trio.open_nursery() as watching:
        fetching = trio.CancelScope()
        recording = trio.CancelScope()
        everything = trio.CancelScope()

        async def watch() -> None:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as got:
                async for signum in got:
                    if stopped.signal is None:
                        stopped.signal = signum
                        fetching.cancel()
                        recording.deadline = trio.current_time() + GRACE_SECONDS
                    else:
                        everything.cancel()

        watching.start_soon(watch)
        watching.start_soon(_release_heap)
        with everything:
            await _crawl(
                settings, targets, spool, recorder, book, fetching, recording, feed
            )
        watching.cancel_scope.cancel()


async def _release_heap() -> None:
    """Give the C heap's free pages back every few seconds while the run crawls.

    Each response's buffers are freed between longer-lived objects, and
    the holes they leave are not returned on their own (:mod:`archiver.heap`):
    at 100,000 URLs they were a fifth of the run's peak memory.
    """
    if not heap.available():
        return
    while True:
        await trio.sleep(heap.RELEASE_EVERY)
        heap.release()


async def _crawl(
    settings: PreserveSettings,
    targets: Sequence[Target],
    spool: Path,
    recorder: Recorder,
    book: Book,
    fetching: trio.CancelScope,
    recording: trio.CancelScope,
    feed: Feed | None = None,
) -> None:
    politeness = settings.politeness
    gate = HostGate.of(politeness)
    send, receive = trio.open_memory_channel[Item](politeness.concurrency)
    resolver = Resolver()
    async with build_client(
        settings.client,
        timeout=settings.fetch.timeout,
        concurrency=politeness.concurrency,
        per_host=politeness.per_host,
        guard=GuardedBackend(
            resolver,
            allow_private=settings.fetch.allow_private,
            allowed=settings.fetch.private_allowed,
        ),
    ) as client:
        fetcher = Fetcher(client, gate, settings.fetch, spool, resolver=resolver)
        verifier = Verifier(fetcher, probe=settings.probe)
        handle = functools.partial(
            _fetch,
            fetcher=fetcher,
            verifier=verifier,
            book=book if settings.requisites.enabled else None,
            parsers=trio.CapacityLimiter(2),
            # Only a store compares one night's text with another's.
            texts=recorder.history is not None,
        )

        async def record() -> None:
            with recording:
                await recorder.run(receive)

        # The history (the store's writer) is opened around the recording and
        # closed after it, here: what was recorded is written before it ends.
        history: AbstractAsyncContextManager[object] = (
            recorder.history.writing()
            if recorder.history is not None
            else contextlib.nullcontext()
        )
        async with history, trio.open_nursery() as nursery:
            nursery.start_soon(record)
            if settings.deadline is not None:
                fetching.deadline = trio.current_time() + settings.deadline
            # Past the deadline (or on a signal) the fetches are cancelled; the
            # recording task is not, so responses already received are archived.
            with fetching:
                async with (
                    send,
                    browsing.stage(
                        settings.browser,
                        fetcher,
                        send.clone(),
                        spool,
                        recorder.reporter.note,
                    ) as browser,
                ):
                    await Frontier(
                        politeness.per_host,
                        functools.partial(handle, browser=browser),
                        # Room to spare over the gate's limit: a URL whose
                        # host asked to slow down waits with its turn held.
                        handling=2 * politeness.concurrency,
                    ).run(targets, send, feed)


async def _fetch(
    work: Work,
    frontier: Frontier,
    *,
    fetcher: Fetcher,
    verifier: Verifier,
    book: Book | None,
    parsers: trio.CapacityLimiter,
    texts: bool = False,
    browser: browsing.BrowserStage | None = None,
) -> Finished | None:
    """Fetch one cited URL (verified) or requisite (not), and queue what it needs.

    The body is searched here, before the result goes to the recorder, which
    deletes the spool file once the records are written. A cited page the
    browser stage wants goes to its queue (which never blocks) instead of the
    recorder: it reaches the recorder once rendered. With ``texts`` a cited
    page's main text is digested here too, for the store's drift.
    """
    # Between two attempts the worker rests, and the host's turn passes on.
    rest = functools.partial(frontier.resting, authority(work.url))
    if isinstance(work, Wanted):
        if book is not None and not book.may_fetch(work):
            return None
        result = await fetcher.fetch(work.target, rest=rest)
        wanted: Wanted | None = work
    else:
        result = await verifier.fetch(work, rest=rest)
        wanted = None
        if classify.classify(result).outcome is not Outcome.ALIVE:
            return _or_rendered(result, browser)
        if texts and maintext.applies(result.hops[-1]):
            digest = await trio.to_thread.run_sync(
                maintext.text_digest, result.hops[-1], limiter=parsers
            )
            result = replace(result, text_digest=digest)
    kind = wanted.kind if wanted is not None else None
    if book is not None and searchable(result, kind):
        found = await trio.to_thread.run_sync(discover, result, kind, limiter=parsers)
        for more in book.found(work.url, found, wanted=wanted):
            frontier.add(more)
    if wanted is not None:
        return Finished(result, wanted)
    return _or_rendered(result, browser)


def _or_rendered(
    result: FetchResult, browser: browsing.BrowserStage | None
) -> Finished | None:
    """``result`` for the recorder now, or None when the browser renders it first."""
    why = browser.wants(result) if browser is not None else None
    if browser is not None and why is not None:
        browser.queue(result, why)
        return None
    return Finished(result)
