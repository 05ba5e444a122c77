"""The run's book of page requisites: what each page needs, what was fetched.

A page found alive is searched for what a browser loads to show it
(:mod:`archiver.articles.requisites`); its stylesheets are searched in turn,
and its frames once. Everything found is written here, and only what is new
to the run is handed back to be fetched, so a site's shared stylesheet is
fetched once however many pages use it. Each page pays for what it brings
in: at most ``max_per_page`` requisites and ``max_bytes_per_page`` bytes,
so one hostile page cannot swallow the run.

At the end the book says, for every page, how many of its requisites (its
own, its stylesheets', its frames') were found, archived, failed or not
fetched, and lists every requisite with the pages that use it. Requisites
are not citations: none of this makes a link dead.

The book is used from trio tasks of one thread only; it does no I/O, except
:func:`discover`, which reads a spooled body and is meant for a worker thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from archiver.articles import requisites as found_in
from archiver.articles.requisites import Requisite
from archiver.crawl import content
from archiver.models import (
    FetchResult,
    Hop,
    LinkStatus,
    NormalizedURL,
    Outcome,
    RequisiteCheck,
    RequisiteCounts,
    RequisiteKind,
    RequisiteOutcome,
    Target,
)
from archiver.run.limits import DEFAULT_MAX_BYTES_PER_PAGE, DEFAULT_MAX_PER_PAGE

MAX_DEPTH: Final = 6  # page -> stylesheet -> @import ... ; stops @import loops
HTML_LIMIT: Final = 8 * 1024 * 1024  # decoded bytes of a page searched
CSS_LIMIT: Final = 4 * 1024 * 1024  # decoded bytes of a stylesheet searched
HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})

NOT_FETCHED_REASONS: Final = {
    "over-max-requisites": "not fetched: the page already has --max-requisites "
    "requisites",
    "over-byte-budget": "not fetched: the page's requisites already came to "
    "--max-requisite-bytes",
    "too-deep": f"not fetched: more than {MAX_DEPTH} stylesheets deep (an "
    "@import loop, or close to one)",
    "deadline": "not fetched: the run's --deadline passed first",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class RequisiteSettings:
    """Whether and how far pages are captured whole; the CLI's options land here."""

    enabled: bool = True
    max_per_page: int = DEFAULT_MAX_PER_PAGE
    max_bytes_per_page: int = DEFAULT_MAX_BYTES_PER_PAGE


@dataclass(frozen=True, slots=True)
class Wanted:
    """A requisite to fetch, and the page whose budget pays for it."""

    url: NormalizedURL
    kind: RequisiteKind
    owner: NormalizedURL  # the page that first needed it
    depth: int  # steps from that page: its stylesheet is 1, an @import in it 2

    @property
    def target(self) -> Target:
        return Target(url=self.url, citations=())


@dataclass(frozen=True, slots=True, kw_only=True)
class RequisiteLine:
    """One requisite and every page that needs it, for ``requisites.jsonl``."""

    check: RequisiteCheck
    pages: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class RequisiteReport:
    """What the book says at the end of a run."""

    pages: Mapping[str, RequisiteCounts]  # by the page's manifest URL
    lines: tuple[RequisiteLine, ...]  # sorted by URL

    @property
    def complete(self) -> int:
        return sum(1 for c in self.pages.values() if c.archived == c.found)

    @property
    def partial(self) -> int:
        return len(self.pages) - self.complete

    def count(self, outcome: RequisiteOutcome) -> int:
        return sum(1 for line in self.lines if line.check.outcome is outcome)


@dataclass(slots=True)
class _Node:
    """A URL of the book: a page searched, or a requisite to fetch."""

    url: NormalizedURL
    kind: RequisiteKind | None  # None for a page (a cited URL)
    children: list[NormalizedURL] = field(default_factory=list)
    check: RequisiteCheck | None = None


_NOTHING_NEEDED: Final = RequisiteCounts(found=0, archived=0, failed=0, not_fetched=0)


class _PageCounts(Mapping[str, RequisiteCounts]):
    """Each page's counts: those that needed nothing share one, uncopied.

    Most pages of a run need nothing (a PDF, a plain page): a dict with an
    entry for each was 7 MB at 100,000 URLs, made at the end of the run, when
    its memory peaks. This reads the book's own page table instead.
    """

    def __init__(
        self,
        pages: Mapping[NormalizedURL, _Node | None],
        needing: Mapping[str, RequisiteCounts],
    ) -> None:
        self._pages = pages  # every page searched; None for one needing nothing
        self._needing = needing  # the counts of the others

    def __getitem__(self, url: str) -> RequisiteCounts:
        counts = self._needing.get(url)
        if counts is not None:
            return counts
        if url in self._pages:
            return _NOTHING_NEEDED
        raise KeyError(url)

    def __contains__(self, url: object) -> bool:
        return url in self._pages

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)


@dataclass(slots=True)
class _Budget:
    count: int = 0
    bytes: int = 0


class Book:
    """Requisites found, fetched and owed, for every page of one run."""

    def __init__(self, settings: RequisiteSettings, cited: Iterable[str]) -> None:
        self._settings = settings
        self._cited = frozenset(cited)  # fetched as citations anyway
        self._nodes: dict[NormalizedURL, _Node] = {}
        # A page searched that needs nothing (most of a run's) costs one
        # entry here, None: no node, no budget.
        self._pages: dict[NormalizedURL, _Node | None] = {}
        self._budgets: dict[NormalizedURL, _Budget] = {}

    def found(
        self,
        parent: NormalizedURL,
        requisites: Sequence[Requisite],
        *,
        wanted: Wanted | None = None,
    ) -> list[Wanted]:
        """Note what ``parent``'s body needs; return what is new to fetch.

        ``wanted`` is how ``parent`` itself came to be fetched (None for a
        cited page, which then becomes a page of the report and pays for
        its own requisites).
        """
        if wanted is None:
            if not requisites:
                self._pages.setdefault(parent, None)
                return []
            node = self._pages.get(parent) or _Node(parent, None)
            self._pages[parent] = node
            owner, depth = parent, 1
        else:
            node = self._nodes[parent]
            owner, depth = wanted.owner, wanted.depth + 1
        budget = self._budgets.setdefault(owner, _Budget())
        fresh: list[Wanted] = []
        for requisite in requisites:
            node.children.append(requisite.url)
            if requisite.url in self._nodes or requisite.url in self._cited:
                continue
            child = _Node(requisite.url, requisite.kind)
            self._nodes[requisite.url] = child
            if depth > MAX_DEPTH:
                child.check = _not_fetched(requisite, "too-deep")
            elif budget.count >= self._settings.max_per_page:
                child.check = _not_fetched(requisite, "over-max-requisites")
            elif budget.bytes >= self._settings.max_bytes_per_page:
                child.check = _not_fetched(requisite, "over-byte-budget")
            else:
                budget.count += 1
                fresh.append(Wanted(requisite.url, requisite.kind, owner, depth))
        return fresh

    def may_fetch(self, wanted: Wanted) -> bool:
        """Whether ``wanted`` still fits its page's byte budget; if not, say so."""
        budget = self._budgets[wanted.owner]
        if budget.bytes < self._settings.max_bytes_per_page:
            return True
        self._nodes[wanted.url].check = _not_fetched(
            Requisite(wanted.url, wanted.kind), "over-byte-budget"
        )
        return False

    def checked(self, wanted: Wanted, check: RequisiteCheck, spent: int) -> None:
        """Record what fetching ``wanted`` gave, and charge its bytes to its page."""
        self._nodes[wanted.url].check = check
        self._budgets[wanted.owner].bytes += spent

    def cited_requisites(self) -> set[NormalizedURL]:
        """The requisites that are cited URLs too: their status is their check.

        The report needs these statuses only (see :meth:`report`), so a run
        reads back those alone.
        """
        return {
            child
            for page in (*self._pages.values(), *self._nodes.values())
            if page is not None
            for child in page.children
            if child in self._cited
        }

    def report(self, statuses: Mapping[str, LinkStatus]) -> RequisiteReport:
        """Per page the counts, per requisite its line.

        ``statuses`` by URL, at least those of :meth:`cited_requisites`.
        """
        users: dict[NormalizedURL, set[str]] = {}
        pages: dict[str, RequisiteCounts] = {}  # of those that needed something
        for url, page in self._pages.items():
            if page is None:
                continue
            reached = self._reach(page)
            tally = dict.fromkeys(RequisiteOutcome, 0)
            for child in reached:
                users.setdefault(child, set()).add(url)
                tally[self._outcome(child, statuses)] += 1
            pages[url] = RequisiteCounts(
                found=len(reached),
                archived=tally[RequisiteOutcome.ARCHIVED],
                failed=tally[RequisiteOutcome.FAILED]
                + tally[RequisiteOutcome.REFUSED_PRIVATE],
                not_fetched=tally[RequisiteOutcome.NOT_FETCHED],
            )
        lines = []
        for url in sorted(users):
            check = self._check_of(url, statuses)
            lines.append(RequisiteLine(check=check, pages=tuple(sorted(users[url]))))
        return RequisiteReport(
            pages=_PageCounts(self._pages, pages), lines=tuple(lines)
        )

    def _reach(self, page: _Node) -> dict[NormalizedURL, None]:
        """Every URL ``page`` needs, through its stylesheets and frames, in order."""
        reached: dict[NormalizedURL, None] = {}
        todo = list(reversed(page.children))
        while todo:
            url = todo.pop()
            if url in reached or url == page.url:
                continue
            reached[url] = None
            node = self._nodes.get(url) or self._pages.get(url)
            if node is not None:
                todo.extend(reversed(node.children))
        return reached

    def _outcome(
        self, url: NormalizedURL, statuses: Mapping[str, LinkStatus]
    ) -> RequisiteOutcome:
        return self._check_of(url, statuses).outcome

    def _check_of(
        self, url: NormalizedURL, statuses: Mapping[str, LinkStatus]
    ) -> RequisiteCheck:
        node = self._nodes.get(url)
        if node is not None and node.check is not None:
            return node.check
        status = statuses.get(url)
        if status is not None:
            return from_status(status, node.kind if node else None)
        kind = node.kind if node and node.kind else RequisiteKind.OTHER
        return _not_fetched(Requisite(url, kind), "deadline")


def from_status(status: LinkStatus, kind: RequisiteKind | None) -> RequisiteCheck:
    """A requisite's line from the status its fetch was given (as a citation, or not).

    Only a 2xx response counts as archived; a 404 is a failure, never "dead".
    """
    if status.outcome is Outcome.ALIVE or (
        status.http_status is not None and 200 <= status.http_status < 300
    ):
        outcome = RequisiteOutcome.ARCHIVED
    elif status.outcome is Outcome.REFUSED_PRIVATE:
        outcome = RequisiteOutcome.REFUSED_PRIVATE
    elif status.reason == "deadline":
        outcome = RequisiteOutcome.NOT_FETCHED
    else:
        outcome = RequisiteOutcome.FAILED
    return RequisiteCheck(
        url=status.url,
        kind=kind or RequisiteKind.OTHER,
        outcome=outcome,
        reason=status.reason,
        detail=status.detail,
        http_status=status.http_status,
        final_url=status.final_url,
        content_type=status.content_type,
        length=status.length,
        truncated=status.truncated,
        record=status.record,
        checked=status.checked,
    )


def _not_fetched(requisite: Requisite, reason: str) -> RequisiteCheck:
    return RequisiteCheck(
        url=requisite.url,
        kind=requisite.kind,
        outcome=RequisiteOutcome.NOT_FETCHED,
        reason=reason,
        detail=NOT_FETCHED_REASONS[reason],
    )


def searchable(result: FetchResult, kind: RequisiteKind | None) -> bool:
    """Whether the body of ``result`` is searched for requisites.

    A cited page or a frame is searched when it is HTML, a stylesheet when it
    is one; both only when a 2xx came back. ``kind`` is None for a cited page.
    """
    if result.failure is not None or not result.hops:
        return False
    final = result.hops[-1]
    if not 200 <= final.status < 300 or final.body.length == 0:
        return False
    if kind is RequisiteKind.STYLESHEET:
        return True  # a browser applies it whatever its type says (quirks)
    if kind not in (None, RequisiteKind.FRAME):
        return False
    media = content.media_type(final)
    return media in HTML_TYPES or (media == "" and _looks_like_html(final))


def discover(result: FetchResult, kind: RequisiteKind | None) -> tuple[Requisite, ...]:
    """The requisites in a searchable body (blocking: reads the spool file)."""
    final = result.hops[-1]
    if kind is RequisiteKind.STYLESHEET:
        text = content.decoded_body(final, CSS_LIMIT)
        encoding = content.charset(final) or "utf-8"
        try:
            decoded = text.decode(encoding, errors="replace")
        except LookupError:
            decoded = text.decode("utf-8", errors="replace")
        return found_in.in_css(decoded, final.url)
    markup = content.decoded_body(final, HTML_LIMIT)
    return found_in.in_html(
        markup,
        final.url,
        encoding=content.charset(final),
        frames=kind is None,
    )


def _looks_like_html(hop: Hop) -> bool:
    start = content.decoded_body(hop, 512).lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))
