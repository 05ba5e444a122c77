"""Ask web archives what they hold of a URL: Memento (RFC 7089) TimeGates and TimeMaps.

For a dead link we never captured, the fix list needs a capture someone else
made: the one nearest the article's publication (a TimeGate's answer to
``Accept-Datetime``: a redirect to the memento, with a ``Link`` header that
names the original, the memento and the TimeMap), and the newest one that
replays with a 2xx (the TimeMap lists every capture, newest last; captures
are asked, newest first, until one is alive). The ``Link`` header and the
TimeMap are read by :mod:`.linkformat`'s grammar.

Archives are hosts like any other: the same guarded client (private
addresses refused unless allowed, one resolution per host), a per-host
limit, timeouts, and retries of transient failures by tenacity. An archive
that cannot be reached (retries spent) is not asked again in the run, and
what went wrong is a :class:`~archiver.models.MementoFailure` value. Within
a run, one TimeMap per archive and URL and one status per memento are asked.
Across runs, :func:`ask` takes the answers a caller kept
(:class:`~archiver.models.ArchiveAnswer`, by archive and question: the
store keeps them, ``archiver fix`` decides which are still fresh) and asks
only about the rest; it hands back the whole answers it got, to be kept.
This module never touches the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urljoin, urlsplit

import httpx
import trio
from tenacity import AsyncRetrying, retry_if_result, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from archiver.clock import now as clock_now
from archiver.crawl import client as clients, linkformat, netguard
from archiver.crawl.politeness import HostGate
from archiver.crawl.retry import TRANSIENT_STATUSES, RetryPolicy
from archiver.models import (
    ArchiveAnswer,
    Memento,
    MementoFailure,
    MementoFinding,
    MementoProblem,
)
from archiver.version import __version__

DEFAULT_TIMEGATE: Final = "https://web.archive.org/web/"
MAX_TIMEMAP_BYTES: Final = 2 << 20  # about 20,000 captures; the rest is not read
MAX_PROBES: Final = 5  # captures asked for their status when seeking the last alive
_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True, kw_only=True)
class MementoSettings:
    """How to ask the archives: which, and how politely."""

    timegates: tuple[str, ...] = (DEFAULT_TIMEGATE,)  # URI-G = base + URI-R
    timeout: float = 20.0
    per_host: int = 2
    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(attempts=3))
    allow_private: bool = False
    user_agent: str = f"archiver/{__version__} (link preservation; Memento lookup)"
    max_timemap_bytes: int = MAX_TIMEMAP_BYTES
    max_probes: int = MAX_PROBES


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A URL, and the moment whose capture is wanted (an article's publication)."""

    url: str
    when: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class _Answer:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes
    cut: bool  # the body was longer than asked for


@dataclass(frozen=True, slots=True, kw_only=True)
class _TimeMap:
    listed: int
    truncated: bool
    last_alive: Memento | None


Known = Mapping[tuple[str, Question], ArchiveAnswer]  # (archive, question) -> answer


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookup:
    """What :func:`ask` found: a finding per question, and the answers to keep."""

    findings: Mapping[Question, MementoFinding]
    answers: tuple[ArchiveAnswer, ...]  # whole answers asked this time, not known


async def look_up(
    questions: Iterable[Question], settings: MementoSettings
) -> dict[Question, MementoFinding]:
    """What the archives hold for each question; every question gets a finding."""
    return dict((await ask(questions, settings)).findings)


async def ask(
    questions: Iterable[Question], settings: MementoSettings, known: Known | None = None
) -> Lookup:
    """:func:`look_up`, asking no archive about a question whose answer is ``known``.

    A finding combines the known answers with the new ones as if all had
    been asked now. No client is opened when every answer is known.
    """
    wanted = list(dict.fromkeys(questions))
    kept = known or {}
    found: dict[Question, MementoFinding] = {}
    fresh: list[ArchiveAnswer] = []
    if all((gate, q) in kept for q in wanted for gate in settings.timegates):
        for question in wanted:
            found[question] = _combine(
                question, [kept[(gate, question)] for gate in settings.timegates], []
            )
        return Lookup(findings=found, answers=())
    guard = netguard.GuardedBackend(
        netguard.Resolver(), allow_private=settings.allow_private
    )
    async with clients.build_client(
        clients.ClientSettings(user_agent=settings.user_agent),
        timeout=settings.timeout,
        concurrency=settings.concurrency,
        guard=guard,
    ) as http:
        asker = _Asker(http, settings)
        limiter = trio.CapacityLimiter(settings.concurrency)

        async def one(question: Question) -> None:
            async with limiter:
                found[question], new = await asker.finding(question, kept)
                fresh.extend(new)

        async with trio.open_nursery() as nursery:
            for question in wanted:
                nursery.start_soon(one, question)
    return Lookup(findings=found, answers=tuple(fresh))


def _combine(
    question: Question,
    answers: Iterable[ArchiveAnswer],
    failures: Iterable[MementoFailure],
) -> MementoFinding:
    """Every archive's answer as one finding: the nearest capture, the newest alive."""
    got = list(answers)
    nearest = [a.nearest for a in got if a.nearest is not None]
    alive = [a.last_alive for a in got if a.last_alive is not None]
    when = question.when
    return MementoFinding(
        url=question.url,
        nearest=min(nearest, key=lambda m: abs(m.captured - when), default=None),
        last_alive=max(alive, key=lambda m: m.captured, default=None),
        listed=sum(a.listed for a in got),
        truncated=any(a.truncated for a in got),
        failures=tuple(failures),
    )


class _Asker:
    """One run's conversation with the archives, remembered for the run."""

    def __init__(self, http: httpx.AsyncClient, settings: MementoSettings) -> None:
        self._http = http
        self._settings = settings
        self._gate = HostGate(
            concurrency=settings.concurrency, per_host=settings.per_host
        )
        self._down: dict[str, MementoFailure] = {}
        self._timemaps: dict[tuple[str, str], _TimeMap | MementoFailure] = {}
        self._statuses: dict[str, _Answer | MementoFailure] = {}
        self._locks: dict[object, trio.Lock] = {}

    async def finding(
        self, question: Question, known: Known
    ) -> tuple[MementoFinding, list[ArchiveAnswer]]:
        """Every archive's answer, combined, and the whole ones asked for now."""
        answers: list[ArchiveAnswer] = []
        fresh: list[ArchiveAnswer] = []
        failures: list[MementoFailure] = []
        for archive in self._settings.timegates:
            kept = known.get((archive, question))
            if kept is not None:
                answers.append(kept)
                continue
            if archive in self._down:
                failures.append(self._down[archive])
                continue
            answer, problems = await self._answer(archive, question)
            answers.append(answer)
            failures += problems
            # A partial answer is used, never kept; so is a capture whose
            # status the archive did not tell.
            unprobed = answer.nearest is not None and answer.nearest.status is None
            if not problems and not unprobed:
                fresh.append(answer)
        return _combine(question, answers, failures), fresh

    async def _answer(
        self, archive: str, question: Question
    ) -> tuple[ArchiveAnswer, list[MementoFailure]]:
        """One archive's answer (as far as it came), and what went wrong on the way."""
        answer = ArchiveAnswer(
            archive=archive, url=question.url, wanted=question.when, asked=clock_now()
        )
        gate = await self._timegate(archive, question)
        if isinstance(gate, MementoFailure):
            return answer, [gate]
        memento, timemap_url = gate
        if memento is not None:
            answer = replace(
                answer,
                nearest=memento,
                last_alive=memento if _alive(memento) else None,
            )
        if timemap_url is None:
            return answer, []
        timemap = await self._timemap(archive, question.url, timemap_url)
        if isinstance(timemap, MementoFailure):
            return answer, [timemap]
        last = answer.last_alive
        if timemap.last_alive is not None and (
            last is None or timemap.last_alive.captured > last.captured
        ):
            last = timemap.last_alive
        return replace(
            answer, last_alive=last, listed=timemap.listed, truncated=timemap.truncated
        ), []

    async def _timegate(
        self, archive: str, question: Question
    ) -> tuple[Memento | None, str | None] | MementoFailure:
        """The memento a TimeGate picks for the moment, and the TimeMap it names."""
        uri_g = archive + question.url
        accept = {"Accept-Datetime": linkformat.format_http_date(question.when)}
        answer = await self._get(archive, uri_g, accept, body=0)
        if isinstance(answer, MementoFailure):
            return answer
        if answer.status == 404:
            return None, None  # the archive holds nothing of it
        try:
            links = _links(answer)
        except linkformat.LinkFormatError as exc:
            return _failure(archive, MementoProblem.MALFORMED, f"Link header: {exc}")
        timemap = _timemap_link(links)
        if answer.status in _REDIRECTS and "location" in answer.headers:
            uri_m = urljoin(uri_g, answer.headers["location"])
        elif 200 <= answer.status < 300 and "memento-datetime" in answer.headers:
            uri_m = urljoin(uri_g, answer.headers.get("content-location", uri_g))
        else:
            return _failure(
                archive,
                MementoProblem.HTTP_ERROR,
                f"{uri_g} answered {answer.status}, not a TimeGate's redirect",
            )
        said = next(
            (
                linkformat.http_date(link.param("datetime"))
                for link in links
                if "memento" in link.rels and link.target == uri_m
            ),
            None,
        )
        replay = await self._status(archive, uri_m)
        status = None if isinstance(replay, MementoFailure) else replay.status
        if said is None and not isinstance(replay, MementoFailure):
            said = linkformat.http_date(replay.headers.get("memento-datetime"))
        if said is None:
            return _failure(
                archive,
                MementoProblem.MALFORMED,
                f"{uri_g}: the memento {uri_m} has no datetime",
            )
        memento = Memento(url=uri_m, captured=said, archive=archive, status=status)
        return memento, timemap

    async def _timemap(
        self, archive: str, url: str, timemap_url: str
    ) -> _TimeMap | MementoFailure:
        key = (archive, url)
        async with self._lock(key):
            if key not in self._timemaps:
                self._timemaps[key] = await self._read_timemap(archive, timemap_url)
            return self._timemaps[key]

    async def _read_timemap(
        self, archive: str, uri_t: str
    ) -> _TimeMap | MementoFailure:
        """The TimeMap's captures (as much of it as is read), and the newest alive."""
        limit = self._settings.max_timemap_bytes
        accept = {"Accept": "application/link-format"}
        answer = await self._get(archive, uri_t, accept, body=limit)
        if isinstance(answer, MementoFailure):
            return answer
        if answer.status == 404:
            return _TimeMap(listed=0, truncated=False, last_alive=None)
        if not 200 <= answer.status < 300:
            return _failure(
                archive,
                MementoProblem.HTTP_ERROR,
                f"TimeMap {uri_t} answered {answer.status}",
            )
        text = answer.body.decode("utf-8", errors="replace")
        try:
            links = linkformat.parse(text, uri_t, cut=answer.cut)
        except linkformat.LinkFormatError as exc:
            return _failure(
                archive, MementoProblem.MALFORMED, f"TimeMap {uri_t}: {exc}"
            )
        captures = sorted(
            (
                (when, link.target)
                for link in links
                if "memento" in link.rels
                and (when := linkformat.http_date(link.param("datetime"))) is not None
            ),
            reverse=True,
        )
        last_alive = None
        for when, uri_m in captures[: self._settings.max_probes]:
            replay = await self._status(archive, uri_m)
            if isinstance(replay, MementoFailure):
                break
            if 200 <= replay.status < 300:
                last_alive = Memento(
                    url=uri_m, captured=when, archive=archive, status=replay.status
                )
                break
        return _TimeMap(
            listed=len(captures), truncated=answer.cut, last_alive=last_alive
        )

    async def _status(self, archive: str, uri_m: str) -> _Answer | MementoFailure:
        """How the archive answers for a memento (its head only), asked once a run."""
        async with self._lock(uri_m):
            if uri_m not in self._statuses:
                self._statuses[uri_m] = await self._get(archive, uri_m, {}, body=0)
            return self._statuses[uri_m]

    def _lock(self, key: object) -> trio.Lock:
        return self._locks.setdefault(key, trio.Lock())

    async def _get(
        self, archive: str, url: str, headers: Mapping[str, str], *, body: int
    ) -> _Answer | MementoFailure:
        """One GET, retried while transient; at most ``body`` bytes of the body."""
        if archive in self._down:
            return self._down[archive]
        policy = self._settings.retry
        retrying = AsyncRetrying(
            stop=stop_after_attempt(policy.attempts),
            wait=wait_exponential_jitter(
                multiplier=policy.base, max=policy.max_wait, jitter=policy.base
            ),
            retry=retry_if_result(_transient),
            retry_error_callback=lambda state: (
                state.outcome.result() if state.outcome is not None else None
            ),
            sleep=trio.sleep,
        )
        result: _Answer | MementoFailure = await retrying(
            self._once, archive, url, headers, body
        )
        if isinstance(result, MementoFailure) and result.problem in _ARCHIVE_DOWN:
            self._down.setdefault(archive, result)
        return result

    async def _once(
        self, archive: str, url: str, headers: Mapping[str, str], limit: int
    ) -> _Answer | MementoFailure:
        host = urlsplit(url).hostname or ""
        result: _Answer | MementoFailure = _failure(
            archive, MementoProblem.TIMEOUT, f"{url}: too slow"
        )
        async with self._gate.slot(host):
            # A server trickling bytes must not hold the run past a bound.
            with trio.move_on_after(self._settings.timeout * 3):
                try:
                    result = await self._request(url, headers, limit)
                except httpx.HTTPError as exc:
                    result = _translate(archive, url, exc)
        if isinstance(result, _Answer) and result.status in (429, 503):
            # "Slow down" is for the whole host, not the one request.
            asked = _retry_after(result.headers.get("retry-after"))
            if asked is not None:
                cap = self._settings.retry.retry_after_cap
                self._gate.slow_down(host, min(asked, cap))
        return result

    async def _request(
        self, url: str, headers: Mapping[str, str], limit: int
    ) -> _Answer:
        async with self._http.stream("GET", url, headers=dict(headers)) as response:
            data = bytearray()
            cut = False
            if limit > 0:
                chunks = response.aiter_bytes()
                try:
                    async for chunk in chunks:
                        if cut:
                            continue
                        data += chunk
                        if len(data) > limit:
                            del data[limit:]
                            cut = True
                            # Hang up, so the rest is never read; the loop
                            # then ends at once, finishing httpx's generators
                            # (left half-way, each would warn when collected).
                            await response.aclose()
                except httpx.HTTPError:
                    if not cut:  # the hang-up's own error is no failure
                        raise
            return _Answer(
                url=url,
                status=response.status_code,
                headers=response.headers,
                body=bytes(data),
                cut=cut,
            )


_ARCHIVE_DOWN: Final = frozenset(
    {MementoProblem.UNREACHABLE, MementoProblem.TIMEOUT, MementoProblem.REFUSED_PRIVATE}
)


def _alive(memento: Memento) -> bool:
    return memento.status is not None and 200 <= memento.status < 300


def _transient(result: _Answer | MementoFailure) -> bool:
    if isinstance(result, MementoFailure):
        return result.problem in (MementoProblem.UNREACHABLE, MementoProblem.TIMEOUT)
    return result.status in TRANSIENT_STATUSES


def _retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` asks for (a number or an HTTP date), or None."""
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    when = linkformat.http_date(value)
    if when is None:
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _links(answer: _Answer) -> tuple[linkformat.Link, ...]:
    values = answer.headers.get_list("link")
    return linkformat.parse(",".join(values), answer.url) if values else ()


def _timemap_link(links: Iterable[linkformat.Link]) -> str | None:
    """The TimeMap a TimeGate names, preferring the link-format one."""
    timemaps = [link for link in links if "timemap" in link.rels]
    preferred = [
        link
        for link in timemaps
        if (link.param("type") or "").lower() == "application/link-format"
    ]
    chosen = preferred or timemaps
    return chosen[0].target if chosen else None


def _failure(archive: str, problem: MementoProblem, detail: str) -> MementoFailure:
    return MementoFailure(archive=archive, problem=problem, detail=detail)


def _translate(archive: str, url: str, exc: httpx.HTTPError) -> MementoFailure:
    """An httpx error as a failure, by its type (and its causes' types)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, netguard.PrivateAddressRefused):
            return _failure(archive, MementoProblem.REFUSED_PRIVATE, str(cause))
        cause = cause.__cause__
    if isinstance(exc, httpx.TimeoutException):
        return _failure(archive, MementoProblem.TIMEOUT, f"{url}: timed out")
    return _failure(
        archive,
        MementoProblem.UNREACHABLE,
        f"{url}: {type(exc).__name__}: {exc}".rstrip(": "),
    )
