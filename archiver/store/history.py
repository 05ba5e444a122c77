"""What the history store remembers about links, and what it concludes from it.

The value types the store hands out, and the two pure rules that turn a URL's
checks into a verdict: :func:`advance` folds one more check into a
:class:`Streak`, and :func:`judge` reads a streak under a :class:`DeadRule`.
The streak keeps facts, not conclusions, so changing K or D in the settings
takes effect at once, without rewriting any stored row. No I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Final

from archiver.models import Article, Outcome, RecordRef

SLACK: Final = timedelta(hours=2)
"""How much shorter than nominal a schedule interval may be and still count.

Nights are measured between run starts, and a cron job at 03:00 local time
starts 23 hours after the previous one on the night clocks go forward. Without
slack a daily re-check would silently become an every-other-day re-check, and
"3 days" of failures would need a fifth night.
"""


class RunStatus(StrEnum):
    """Where a run is: still going (or killed without a trace), or over."""

    RUNNING = "running"
    COMPLETED = "completed"
    CRASHED = "crashed"  # a later run found it unfinished and gave up on it


class Verdict(StrEnum):
    """A URL's current state, for reports and for scheduling its next check."""

    ALIVE = "alive"
    DRIFT = "drift"  # alive, but the content differs from the previous capture
    REVIVED = "revived"  # alive again after it had been confirmed dead
    SUSPECT = "suspect"  # failing, but not yet for long enough to call it dead
    DEAD = "dead"  # failed on at least K checks spanning at least D days
    UNKNOWN = "unknown"  # checked, but never with an alive or dead outcome


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadRule:
    """When a failing URL is confirmed dead: ``failures`` checks over ``span``."""

    failures: int = 3
    span: timedelta = timedelta(days=3)

    def confirms(
        self, failures: int, first: datetime | None, last: datetime | None
    ) -> bool:
        """True when ``failures`` dead checks between these nights are enough."""
        if failures < self.failures or first is None or last is None:
            return False
        return last - first >= self.span - SLACK


DEFAULT_RULE: Final = DeadRule()


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """One run as the store recorded it."""

    id: str
    started: datetime
    finished: datetime | None
    options: Mapping[str, object]
    counts: Mapping[str, int] | None
    conclusive: bool | None  # None until the run finishes
    status: RunStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """One URL checked in one run: the stored form of a manifest line."""

    url: str
    run_id: str
    checked: datetime
    outcome: Outcome
    reason: str
    detail: str
    http_status: int | None
    final_url: str | None
    attempts: int
    content_type: str | None
    length: int | None
    truncated: bool
    record: RecordRef | None  # the final response record, when one was written
    # Digest of the page's main text (archiver.crawl.maintext); None for
    # other content, and for checks recorded before schema version 5.
    text_digest: str | None = None


Mark = tuple[str, str, str, str, str | None, int, str | None, str | None]
"""One check, lean: (url, run id, checked as stored text, outcome, digest, record,
text digest, content type).

What a report folds for each of millions of checks (``Store.marks``), where
a :class:`Check` per row would cost the time and memory of the whole
history; the few checks a report shows are then read whole by their keys
(``Store.checks_at``). The digest is the record's, None without a record;
``record`` is 1 when the check wrote one, else 0. Stored times compare as
text in the order of the times they are.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tally:
    """One URL's checks summed up by the database: one row, however many checks.

    Most links of a big store were found alive, with a copy, at every check
    (or behind a bot wall at every one): for them these sums say all a
    report's fold would work out check by check, so their checks never
    cross into Python one by one (``Store.tallies``). ``runs`` is the run
    ids of the checks in time order, joined by :data:`RUN_SEPARATOR`. The
    ``low_``/``high_`` pairs are the least and greatest value of a column
    over the checks (``''`` for NULL where named so): equal, it is one value.
    """

    url: str
    checks: int  # every check recorded, skipped or not
    alive_records: int  # alive checks that wrote a record
    dead: int
    blocked: int
    first_checked: str  # as stored, so text order is time order
    last_checked: str
    last_alive: str | None  # the latest alive check's time
    first_dead: str | None  # the earliest dead check's time
    runs: str
    # Over the alive checks only (None without any):
    low_text: str | None  # text digest, '' for NULL
    high_text: str | None
    low_type: str | None  # content type, '' for NULL
    high_type: str | None
    low_payload: str | None  # payload digest; NULLs left out
    high_payload: str | None
    payloads: int  # alive checks with a payload digest


RUN_SEPARATOR: Final = "\x1f"  # the unit separator: in no run id nightly makes


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedCopy:
    """A check that left a response in a WARC file: where a copy of the page is."""

    url: str
    run_id: str
    checked: datetime
    record: RecordRef


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredArticle:
    """An article as the store remembers it: what a report says about its source."""

    path: str  # as given to the run that recorded it; the key of its citations
    url: str | None
    title: str
    published: datetime | None
    first_seen: datetime
    last_seen: datetime
    # When its file was found gone from the inputs; None while it is there.
    withdrawn: datetime | None = None
    # Every time it was away: (withdrawn, returned), returned None while away.
    # A report counts its citations on no night in between, and the same in
    # every later report, whether or not the file has come back since.
    away: tuple[tuple[datetime, datetime | None], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CitationSpan:
    """When one article cited one URL: from ``added`` until ``removed``.

    The store keeps a citation an article dropped, dated, so a report can
    count a link on the nights it was cited and not only if it is cited now.
    """

    url: str
    article: str
    added: datetime  # the night that found the citation (or its article's first)
    removed: datetime | None  # the night that found it gone; None while cited


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleChange:
    """An article whose links the store does not have for its current content."""

    article: Article
    previous_sha256: str | None  # content whose links were recorded; None if new

    @property
    def path(self) -> Path:
        return self.article.path

    @property
    def is_new(self) -> bool:
        return self.previous_sha256 is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Streak:
    """Everything the verdict needs about one URL's checks, folded in order.

    Times named ``*_night`` are the start of the run that made the check: the
    schedule counts nights, so a long run does not make tomorrow's re-check
    look early. ``failing_since`` is the check's own time, for reports.
    """

    url: str
    checked: datetime  # the latest check, whatever its outcome
    night: datetime
    outcome: Outcome
    # The rest default to "nothing seen yet": a URL's first check, or a link
    # folded from sums, names only what it knows.
    conclusive: Outcome | None = None  # ALIVE or DEAD: the latest that said either
    failures: int = 0  # dead checks since the last alive one
    failing_since: datetime | None = None
    first_failure_night: datetime | None = None
    last_failure_night: datetime | None = None
    ended_failures: int = 0  # the failing streak the latest alive check ended
    ended_first_night: datetime | None = None
    ended_last_night: datetime | None = None
    last_alive: datetime | None = None
    digest: str | None = None  # payload digest of the latest alive check with one
    drifted: bool = False  # the latest alive check's content differs from before
    # The latest alive check's content key (:func:`content_key`), what
    # ``drifted`` compares; None until a check had one.
    content: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlState:
    """A URL's verdict with the facts a report shows next to it."""

    url: str
    verdict: Verdict
    checked: datetime  # the latest check
    outcome: Outcome  # the latest check's outcome (may be inconclusive)
    failures: int  # dead checks in the current failing streak
    dead_since: datetime | None  # first failing check of that streak
    last_alive: datetime | None
    digest: str | None


class Basis(StrEnum):
    """What two captures are compared by to say whether a link's content drifted."""

    MAIN_TEXT = "main-text"  # an HTML page: its extracted main text
    PAYLOAD = "payload"  # anything else (an image, a PDF): its bytes


HTML_TYPES: Final = ("text/html", "application/xhtml+xml")


def content_key(check: Check) -> str | None:
    """What drift compares for this check, as ``<basis>:<digest>``; None if nothing.

    An HTML page is compared by its main text only: its bytes change with
    every ad and timestamp. A page recorded before main texts were digested
    (schema version 5) has no text digest, and so is compared with nothing;
    neither is a check without a record. Other content is compared by its
    payload digest. Keys of two bases never compare (see :func:`drifted`).
    """
    payload = check.record.payload_digest if check.record else None
    return key_of(check.text_digest, check.content_type, payload)


def key_of(
    text_digest: str | None, content_type: str | None, payload_digest: str | None
) -> str | None:
    """:func:`content_key` from the three columns it reads (a report's lean fold)."""
    if text_digest:
        return f"{Basis.MAIN_TEXT}:{text_digest}"
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in HTML_TYPES:
        return None
    return f"{Basis.PAYLOAD}:{payload_digest}" if payload_digest else None


def basis_of(key: str) -> Basis:
    """The basis a content key was made on."""
    return Basis(key.split(":", 1)[0])


def drifted(before: str | None, after: str | None) -> bool:
    """Whether content key ``after`` says the content changed since ``before``.

    Only keys of one basis compare: a page whose first capture was judged
    by its bytes (before main texts were kept) and whose next is judged by
    its text has not been seen to change, it is only seen better.
    """
    if before is None or after is None:
        return False
    return basis_of(before) is basis_of(after) and before != after


def advance(previous: Streak | None, check: Check, night: datetime) -> Streak:
    """Fold ``check``, made in the run that started at ``night``, into a streak.

    Only alive and dead outcomes move the verdict. Blocked, error and the rest
    say nothing about whether the page is still there, so they neither count
    as a failure nor end a failing streak.
    """
    base = previous or Streak(
        url=check.url, checked=check.checked, night=night, outcome=check.outcome
    )
    base = replace(base, checked=check.checked, night=night, outcome=check.outcome)
    if check.outcome is Outcome.ALIVE:
        digest = check.record.payload_digest if check.record else None
        key = content_key(check)
        return replace(
            base,
            conclusive=Outcome.ALIVE,
            failures=0,
            failing_since=None,
            first_failure_night=None,
            last_failure_night=None,
            ended_failures=base.failures,
            ended_first_night=base.first_failure_night,
            ended_last_night=base.last_failure_night,
            last_alive=check.checked,
            digest=digest or base.digest,
            content=key or base.content,
            drifted=drifted(base.content, key),
        )
    if check.outcome is Outcome.DEAD:
        first = base.failures == 0
        return replace(
            base,
            conclusive=Outcome.DEAD,
            failures=base.failures + 1,
            failing_since=check.checked if first else base.failing_since,
            first_failure_night=night if first else base.first_failure_night,
            last_failure_night=night,
            ended_failures=0,
            ended_first_night=None,
            ended_last_night=None,
        )
    return base


def judge(streak: Streak, rule: DeadRule) -> Verdict:
    """The verdict on a streak: revived beats drift, which beats plain alive."""
    if streak.conclusive is Outcome.DEAD:
        confirmed = rule.confirms(
            streak.failures, streak.first_failure_night, streak.last_failure_night
        )
        return Verdict.DEAD if confirmed else Verdict.SUSPECT
    if streak.conclusive is Outcome.ALIVE:
        if rule.confirms(
            streak.ended_failures, streak.ended_first_night, streak.ended_last_night
        ):
            return Verdict.REVIVED
        return Verdict.DRIFT if streak.drifted else Verdict.ALIVE
    return Verdict.UNKNOWN


def url_state(streak: Streak, rule: DeadRule) -> UrlState:
    """The report's view of a streak."""
    return UrlState(
        url=streak.url,
        verdict=judge(streak, rule),
        checked=streak.checked,
        outcome=streak.outcome,
        failures=streak.failures,
        dead_since=streak.failing_since,
        last_alive=streak.last_alive,
        digest=streak.digest,
    )


def due(
    candidates: Iterable[tuple[str, datetime, Streak | None]],
    now: datetime,
    alive_every: timedelta,
    suspect_every: timedelta,
    rule: DeadRule,
    limit: int,
) -> tuple[str, ...]:
    """Which of ``(url, first_seen, streak)`` to check at ``now``, in order.

    Suspect URLs first, because their verdict is waiting on the next check;
    then URLs never checked; then the rest. Most overdue first in each group.
    """
    found: list[tuple[int, datetime, str]] = []
    for url, first_seen, streak in candidates:
        if streak is None:
            found.append((1, first_seen, url))
            continue
        suspect = judge(streak, rule) is Verdict.SUSPECT
        every = suspect_every if suspect else alive_every
        if streak.night <= now - every + SLACK:
            found.append((0 if suspect else 2, streak.night, url))
    found.sort()
    return tuple(url for _, _, url in found[: max(limit, 0)])
