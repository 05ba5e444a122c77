"""The preserve run: articles -> links -> fetches -> WARC records -> manifest.

This is the one module that knows the whole chain. It holds no business
rules: it wires the stages, bounds the concurrency and decides the run's
fate. Only fetching is concurrent; the WARC file is owned by a single task
that writes from one worker thread, in the order results arrive.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import trio

from archiver.articles import extract, plan, seeds
from archiver.articles.unwrap import DEFAULT_RULES, WrapperRule
from archiver.browser.settings import BrowserSettings
from archiver.crawl.client import build_client
from archiver.crawl.fetch import Fetcher, FetchSettings
from archiver.crawl.netguard import GuardedBackend, Resolver
from archiver.crawl.politeness import HostGate
from archiver.crawl.verify import Verifier
from archiver.errors import ArchiveWriteError
from archiver.models import (
    Article,
    Capture,
    Citation,
    FoundLink,
    LinkKind,
    LinkStatus,
    Outcome,
    Target,
)
from archiver.run import browsing, classify, manifest
from archiver.run.lock import run_lock
from archiver.run.offline import DEFAULT_CANARIES, any_canary_answers
from archiver.run.recorder import History, Item, Recorder, Reporter, Tally
from archiver.urls import normalise
from archiver.version import distribution_version
from archiver.warc import index
from archiver.warc.repair import repair_folder
from archiver.warc.writer import WarcSink


@dataclass(frozen=True, slots=True, kw_only=True)
class PreserveSettings:
    """Everything one ``archiver preserve`` run needs, options resolved."""

    inputs: tuple[Path, ...]
    out: Path
    fetch: FetchSettings = FetchSettings()
    concurrency: int = 64
    per_host: int = 4
    delay: float = 0.0  # minimum seconds between request starts to one host
    user_agent: str = ""
    proxy: str | None = None
    ca_bundle: Path | None = None
    operator: str | None = None
    command: str = "archiver preserve"
    deadline: float | None = None  # seconds the whole run may take
    probe: bool = True  # ask each host for a made-up path to spot soft 404s
    canaries: tuple[str, ...] = DEFAULT_CANARIES
    warc_prefix: str = "archiver"
    max_file_size: int = 1_000_000_000
    browser: BrowserSettings = BrowserSettings()  # --browser auto|always|never


@dataclass(frozen=True, slots=True, kw_only=True)
class Gathered:
    """What the articles cite, before any fetching."""

    articles: dict[str, Article]
    plan: plan.Plan
    skipped: tuple[str, ...]  # one line per article that could not be read


@dataclass(slots=True, kw_only=True)
class RunSummary:
    """The run's outcome, as the summary screen and the exit code need it."""

    articles: int
    skipped_articles: tuple[str, ...]
    statuses: list[LinkStatus]
    bytes: int
    elapsed: float
    warc_files: tuple[Path, ...]
    manifest: Path
    dead_links: Path
    index: Path | None = None
    offline: bool = False

    def count(self, outcome: Outcome) -> int:
        return sum(1 for s in self.statuses if s.outcome is outcome)

    def by_reason(self, outcome: Outcome) -> dict[str, int]:
        found: dict[str, int] = defaultdict(int)
        for status in self.statuses:
            if status.outcome is outcome:
                found[status.reason] += 1
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))


def default_user_agent() -> str:
    version = distribution_version("archiver")
    return f"Mozilla/5.0 (compatible; archiver/{version}; link preservation)"


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
    articles: dict[str, Article] = {}
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
    found = list(extract.with_unwrapped(given, rules))
    skipped: list[str] = []

    def skip(message: str) -> None:
        skipped.append(message)
        if reporter is not None:
            reporter.article_error(message)

    for article in seeds.read_all(inputs, skip):
        articles[str(article.path)] = article
        found.extend(extract.links(article, rules))
    return Gathered(articles=articles, plan=plan.build(found), skipped=tuple(skipped))


def preserve(
    settings: PreserveSettings,
    gathered: Gathered,
    reporter: Reporter,
    *,
    history: History | None = None,
    known: Mapping[str, Capture] | None = None,
    archive_articles: Iterable[str] | None = None,
) -> RunSummary:
    """Fetch and archive everything ``gathered`` planned, then write the manifest.

    The run holds the folder's lock throughout (a second run into the same
    folder raises :class:`~archiver.errors.RunLocked`) and first repairs the
    WARC files a killed run left open, so a library caller is as safe as the
    command line.

    ``known`` maps payload digests to earlier captures, which the WARC sink
    writes revisit records for instead of the same bytes again. The article
    files named in ``archive_articles`` (default: all read) are archived
    themselves, with the links they cite.
    """
    settings.out.mkdir(parents=True, exist_ok=True)
    with run_lock(settings.out):
        for repair in repair_folder(settings.out):
            reporter.note(repair.describe())
        return _preserve_locked(
            settings,
            gathered,
            reporter,
            history=history,
            known=known,
            archive_articles=archive_articles,
        )


def _preserve_locked(
    settings: PreserveSettings,
    gathered: Gathered,
    reporter: Reporter,
    *,
    history: History | None,
    known: Mapping[str, Capture] | None,
    archive_articles: Iterable[str] | None,
) -> RunSummary:
    started = time.monotonic()
    statuses = [classify.unfetched(item) for item in gathered.plan.unfetched]
    for status in statuses:
        reporter.done(status)
    reporter.planned(len(gathered.plan.targets) + len(statuses))
    settings.out.mkdir(parents=True, exist_ok=True)
    sink = WarcSink(
        settings.out,
        prefix=settings.warc_prefix,
        info=_warcinfo(settings),
        max_file_size=settings.max_file_size,
    )
    for digest, capture in (known or {}).items():
        sink.remember(digest, capture)
    names = gathered.articles if archive_articles is None else archive_articles
    _archive_articles(sink, gathered, names)
    spool = Path(tempfile.mkdtemp(prefix=".spool-", dir=settings.out))
    tally = Tally()

    async def is_online() -> bool:
        return await any_canary_answers(
            settings.canaries,
            request_timeout=settings.fetch.timeout,
            user_agent=settings.user_agent,
            proxy=settings.proxy,
            ca_bundle=settings.ca_bundle,
        )

    partial = settings.out / manifest.PARTIAL_NAME
    try:
        journal = partial.open("w", encoding="utf-8")
    except OSError as exc:
        raise ArchiveWriteError(f"{partial}: cannot write: {exc.strerror}") from exc
    recorder = Recorder(sink, tally, reporter, history, is_online, journal)
    try:
        trio.run(_archive, settings, gathered.plan.targets, spool, recorder)
    finally:
        sink.close()
        journal.close()
        shutil.rmtree(spool, ignore_errors=True)
    fetched = tally.statuses
    if settings.deadline is not None:
        done = {status.url for status in fetched}
        now = datetime.now(UTC)
        for target in gathered.plan.targets:
            if target.url not in done:
                late = classify.not_reached(target, settings.deadline, now)
                fetched.append(late)
                reporter.done(late)
    offline = tally.offline
    if offline:
        hosts = len({s.url.split("/", 3)[2] for s in fetched})
        fetched = [classify.offline(s, hosts) for s in fetched]
        held = {s.url for s in tally.held}
        for status in fetched:
            if status.url in held:
                reporter.done(status)
    statuses += fetched
    manifest_path, dead_path = manifest.write(settings.out, statuses, gathered.articles)
    partial.unlink(missing_ok=True)
    # Every WARC in the folder, not only this run's: revisit records may point
    # at captures of earlier runs, and pywb serves the whole folder.
    index_path = index.write_cdxj(
        sorted(settings.out.glob("*.warc.gz")), settings.out / index.INDEX_NAME
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
    )


def _archive_articles(sink: WarcSink, gathered: Gathered, names: Iterable[str]) -> None:
    """A resource record per article file, with its outlinks beside it."""
    outlinks: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for target in gathered.plan.targets:
        for name in dict.fromkeys(c.article for c in target.citations):
            outlinks[name].append((target.url, str(target.kind)))
    for name in names:
        article = gathered.articles.get(name)
        if article is None:
            continue
        try:
            data = article.path.read_bytes()
        except OSError:
            continue  # read a moment ago; gone now: its links are still fetched
        uri = normalise(article.url) if article.url else None
        sink.write_article(
            uri if isinstance(uri, str) else f"urn:sha256:{article.sha256}",
            data,
            datetime.now(UTC),
            outlinks.get(name, ()),
        )


def _warcinfo(settings: PreserveSettings) -> dict[str, str]:
    info = {
        "software": f"archiver/{distribution_version('archiver')} "
        f"(warcio/{distribution_version('warcio')}; "
        f"httpx/{distribution_version('httpx')})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/"
        "specifications/warc-format/warc-1.1/",
        "command": settings.command,
        "http-header-user-agent": settings.user_agent,
    }
    if settings.operator:
        info["operator"] = settings.operator
    return info


async def _archive(
    settings: PreserveSettings,
    targets: Sequence[Target],
    spool: Path,
    recorder: Recorder,
) -> None:
    by_host: dict[str, deque[Target]] = defaultdict(deque)
    for target in targets:
        by_host[target.host].append(target)
    gate = HostGate(
        concurrency=settings.concurrency,
        per_host=settings.per_host,
        delay=settings.delay,
    )
    send, receive = trio.open_memory_channel[Item](settings.concurrency)
    resolver = Resolver()
    async with build_client(
        timeout=settings.fetch.timeout,
        concurrency=settings.concurrency,
        user_agent=settings.user_agent,
        proxy=settings.proxy,
        ca_bundle=settings.ca_bundle,
        guard=GuardedBackend(
            resolver,
            allow_private=settings.fetch.allow_private,
            allowed=settings.fetch.private_allowed,
        ),
    ) as client:
        fetcher = Fetcher(client, gate, settings.fetch, spool, resolver=resolver)
        verifier = Verifier(fetcher, probe=settings.probe)
        async with trio.open_nursery() as nursery:
            if recorder.history is not None:
                nursery.start_soon(recorder.history.run)
            nursery.start_soon(recorder.run, receive)
            deadline = (
                trio.current_time() + settings.deadline
                if settings.deadline is not None
                else math.inf
            )
            # Past the deadline the fetches are cancelled; the recording task
            # is not, so every response already received is still archived.
            with trio.move_on_at(deadline):
                async with (
                    send,
                    browsing.stage(
                        settings.browser,
                        fetcher,
                        send.clone(),
                        spool,
                        recorder.reporter.note,
                    ) as browser,
                    trio.open_nursery() as workers,
                ):
                    for queue in by_host.values():
                        for _ in range(min(settings.per_host, len(queue))):
                            workers.start_soon(
                                _work, queue, verifier, send.clone(), browser
                            )


async def _work(
    queue: deque[Target],
    verifier: Verifier,
    send: trio.MemorySendChannel[Item],
    browser: browsing.BrowserStage | None = None,
) -> None:
    """Fetch and verify targets of one host until its queue is empty.

    A page the browser stage wants goes to its queue (which never blocks)
    instead of the recorder: it reaches the recorder once rendered.
    """
    async with send:
        while queue:
            result = await verifier.fetch(queue.popleft())
            why = browser.wants(result) if browser is not None else None
            if browser is not None and why is not None:
                browser.queue(result, why)
            else:
                await send.send(result)
