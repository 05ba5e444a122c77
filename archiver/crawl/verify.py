"""Responses that look alive but are not: soft 404s, parked domains, bot walls.

Many sites answer a missing page with 200 and a "not found" page, or redirect
it to their home page; a lapsed domain often redirects every path to one
parking or sales page on another site. A status code cannot tell these from
a live page, but the site itself can: this module asks each host, once per
run, for a path that cannot exist, and compares the link's response with that
answer (status, where the redirects ended, and the text).

A page that looks the same as the made-up path's is only called *dead* when
that page reads like an error page; otherwise (a JavaScript-only site answers
every path with the same shell) the honest verdict is that we cannot tell.

Bot walls are recognised from the response itself (challenge headers and
the markers challenge pages carry).

The bodies are the servers' to choose, so every check is bounded: at most
``_READ_LIMIT`` decoded bytes are read, however far they would inflate (see
:mod:`archiver.crawl.content`), the patterns that strip markup run in linear
time, and the checks run in worker threads (``trio.to_thread``) under a time
limit, so a page built to be slow to read delays neither the other fetches
nor the run's deadline.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final, TypeVar
from urllib.parse import unquote, urlsplit

import trio

from archiver import bodies
from archiver.crawl.content import decoded_body
from archiver.crawl.fetch import Fetcher, Resting
from archiver.crawl.retry import RetryPolicy
from archiver.models import FetchResult, Hop, NormalizedURL, Suspicion, Target
from archiver.urls import authority, site

PROBE_PREFIX = "/archiver-probe-"
SIMILAR = 0.9  # Jaccard similarity of the texts above which two pages are one
_READ_LIMIT = 512 * 1024  # body bytes compared; a not-found page is small
_SHINGLE_LIMIT = 256 * 1024  # characters shingled, which bounds the set's size
_SHINGLE = 6  # characters per shingle: works for spaced and unspaced scripts
CHECK_SECONDS = 10.0  # longest one check may take; past it there is no verdict
_CHECK_THREADS = 2  # checks at once; the machine's other cores keep fetching

_MISSING_WORDS = (
    "404",
    "not found",
    "no longer available",
    "does not exist",
    "doesn't exist",
    "could not be found",
    "can't be found",
    "cannot be found",
    "page you requested",
    "找不到",
    "不存在",
    "已删除",
    "已刪除",
    "无法找到",
    "無法找到",
)
_WALL_MARKERS = (
    "captcha",
    "challenge-platform",
    "cf-challenge",
    "just a moment...",
    "attention required",
    "verify you are human",
    "are you a robot",
    "ddos-guard",
    "px-captcha",
)
_WALL_STATUSES = frozenset({403, 429, 503})
# Both patterns match in linear time: from each "<" they scan forward once,
# and an unclosed tag or script runs to the end of the text (as in a browser)
# instead of being retried from every later "<".
_SCRIPT = re.compile(
    r"<(script|style)\b(?:[^<]|<(?!/\1))*(?:</\1[^<>]*>?|\Z)", re.IGNORECASE
)
_TAG = re.compile(r"<[^>]*(?:>|\Z)")
_SPACE = re.compile(r"\s+")
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Probe:
    """What a host answered for a path that cannot exist."""

    url: str
    status: int | None  # None: no answer at all
    final_url: str | None
    redirected: bool
    text: str
    shingles: frozenset[int]

    @property
    def answers_missing_with_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def reads_missing(self) -> bool:
        lowered = self.text.lower()
        return any(word in lowered for word in _MISSING_WORDS)


class Verifier:
    """Checks finished fetches against each host's answer for a made-up path."""

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        probe: bool = True,
        make_token: Callable[[], str] = lambda: secrets.token_hex(8),
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        self._fetcher = fetcher
        self._probe_enabled = probe
        self._make_token = make_token
        self._check_seconds = check_seconds
        self._probes: dict[str, Probe | None] = {}
        self._pending: dict[str, trio.Event] = {}
        self._threads: trio.CapacityLimiter | None = None

    async def fetch(
        self, target: Target, *, rest: Resting | None = None
    ) -> FetchResult:
        """Fetch ``target`` and verify what came back (``rest``: as Fetcher.fetch)."""
        result = await self._fetcher.fetch(target, rest=rest)
        try:
            return await self.verify(result)
        except BaseException:
            for hop in result.bodies:
                bodies.discard(hop.body)
            raise

    async def verify(self, result: FetchResult) -> FetchResult:
        """``result``, with a ``suspicion`` when the response is not what it seems."""
        if result.failure is not None or not result.hops:
            return result
        final = result.hops[-1]
        # Only a 403, 429 or 503 can be a wall: the others (nearly every
        # response) need no trip to a worker thread, which cost more CPU
        # than the rest of the check.
        if final.status in _WALL_STATUSES:
            wall = await self._off_loop(lambda: bot_wall(final))
            if wall is not None:
                return replace(result, suspicion=wall)
        if not self._probe_enabled or not 200 <= final.status < 300:
            return result
        start = urlsplit(result.target.url)
        if start.path in ("", "/") and not start.query:
            return result  # a home page is what a missing page may land on
        probe = await self._probe_for(start.scheme, authority(result.target.url))
        if probe is None or not probe.answers_missing_with_success:
            return result
        suspicion = await self._off_loop(lambda: compare(result, final, probe))
        return replace(result, suspicion=suspicion) if suspicion else result

    async def _off_loop(self, check: Callable[[], T]) -> T | None:
        """``check()`` in a worker thread, or None when it takes too long.

        A check reads a file and works over its text: done on the trio thread
        it would stall every other fetch. On timeout (or when the run is
        cancelled) the thread is left to finish on its own; its work is
        bounded by the read and decode limits.
        """
        if self._threads is None:
            self._threads = trio.CapacityLimiter(_CHECK_THREADS)
        with trio.move_on_after(self._check_seconds):
            return await trio.to_thread.run_sync(
                check, limiter=self._threads, abandon_on_cancel=True
            )
        return None

    async def _probe_for(self, scheme: str, netloc: str) -> Probe | None:
        origin = f"{scheme}://{netloc}"
        if origin in self._probes:
            return self._probes[origin]
        if origin in self._pending:
            await self._pending[origin].wait()
            return self._probes.get(origin)
        event = self._pending[origin] = trio.Event()
        try:
            self._probes[origin] = await self._run_probe(origin)
        finally:
            event.set()
        return self._probes[origin]

    async def _run_probe(self, origin: str) -> Probe | None:
        url = NormalizedURL(f"{origin}{PROBE_PREFIX}{self._make_token()}")
        result = await self._fetcher.fetch(
            Target(url=url, citations=()), policy=RetryPolicy(attempts=1)
        )
        try:
            if not result.hops:
                return None
            final = result.hops[-1]
            read = await self._off_loop(lambda: _text_and_shingles(final, url))
            if read is None:
                return None
            text, text_shingles = read
            return Probe(
                url=url,
                status=final.status,
                final_url=final.url,
                redirected=len(result.hops) > 1,
                text=text,
                shingles=text_shingles,
            )
        finally:
            for hop in result.bodies:
                bodies.discard(hop.body)


def compare(result: FetchResult, final: Hop, probe: Probe) -> Suspicion | None:
    """The verdict of comparing a 2xx response with the site's made-up-path answer."""
    redirected = len(result.hops) > 1
    if (
        redirected
        and probe.redirected
        and site(final.url) != site(result.target.url)
        and probe.final_url is not None
        and site(probe.final_url) == site(final.url)
    ):
        return Suspicion(
            reason="redirects-everywhere",
            detail=f"it redirects to {final.url}, and so does a made-up path on "
            "the same site: the domain now sends every page elsewhere "
            "(parked, sold or taken over)",
        )
    if redirected and probe.redirected and probe.final_url == final.url:
        return Suspicion(
            reason="soft-404",
            detail=f"it redirects to {final.url}, where a made-up path on the "
            "same site is sent too",
        )
    asked = (result.target.url, final.url)
    similarity = jaccard(shingles(masked(page_text(final), *asked)), probe.shingles)
    if similarity < SIMILAR:
        return None
    if probe.reads_missing:
        return Suspicion(
            reason="soft-404",
            detail=f"the page is {similarity:.0%} the same as the site's "
            "'not found' page for a made-up path",
        )
    return Suspicion(
        reason="same-as-missing",
        detail=f"the site answers a made-up path with the same page "
        f"({similarity:.0%} alike), so whether this page exists cannot be told",
    )


def bot_wall(hop: Hop) -> Suspicion | None:
    """A challenge page or header standing where the page should be."""
    if hop.status not in _WALL_STATUSES:
        return None
    for name, value in hop.response_headers:
        if name.lower() == b"cf-mitigated":
            return Suspicion(
                reason="bot-wall", detail=f"cf-mitigated: {value.decode('latin-1')}"
            )
    lowered = page_text(hop, strip=False).lower()
    for marker in _WALL_MARKERS:
        if marker in lowered:
            return Suspicion(reason="bot-wall", detail=f"the page says {marker!r}")
    return None


def page_text(hop: Hop, *, strip: bool = True) -> str:
    """The readable text of a spooled body: decoded, without markup."""
    text = decoded_body(hop, _READ_LIMIT).decode("utf-8", errors="replace")
    if strip:
        text = _TAG.sub(" ", _SCRIPT.sub(" ", text))
    return _SPACE.sub(" ", text).strip()


def _text_and_shingles(hop: Hop, asked: str) -> tuple[str, frozenset[int]]:
    text = page_text(hop)
    return text, shingles(masked(text, asked, hop.url))


def masked(text: str, *urls: str) -> str:
    """``text`` with every echo of what was asked for (``urls``) blanked out.

    Many "not found" pages repeat the path they could not find, in the
    title, the heading and a search box: a long path then makes two such
    pages of one site look different (the probe's made-up path against
    this page's). Blanked are each URL, its path (with and without query,
    decoded or not), its last segment, and both of those with their
    separators read as spaces (what a "search for" box shows); only
    pieces of at least 4 characters, so the page's own words stay.
    """
    pieces: set[str] = set()
    for url in urls:
        parts = urlsplit(url)
        path = unquote(parts.path)
        slug = path.rstrip("/").rsplit("/", 1)[-1]
        pieces |= {url, parts.path, path, slug}
        if parts.query:
            pieces.add(f"{parts.path}?{parts.query}")
        pieces |= {_WORDS.sub(" ", piece).strip() for piece in (path, slug)}
    for piece in sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True):
        text = re.sub(re.escape(piece), " ", text, flags=re.IGNORECASE)
    return _SPACE.sub(" ", text).strip()


_WORDS: Final = re.compile(r"[/\-_.]+")


def shingles(text: str) -> frozenset[int]:
    """Hashes of every run of ``_SHINGLE`` characters in the text's start."""
    lowered = text[:_SHINGLE_LIMIT].lower()
    if len(lowered) <= _SHINGLE:
        return frozenset({hash(lowered)}) if lowered else frozenset()
    return frozenset(
        hash(lowered[i : i + _SHINGLE]) for i in range(len(lowered) - _SHINGLE + 1)
    )


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
