"""Each link's history folded from sums or lean marks: how a report scales.

:func:`archiver.report.timeline.fold` takes whole :class:`Check` values, and a
year of nights over 100,000 links is millions of them: building one per row
cost a report minutes and gigabytes. Here the database first sums each URL's
checks into one row (:meth:`Store.tallies`: counts, first and last times,
the runs in time order); for a link those sums settle (alive with a copy,
then dead, either part possibly empty, content unchanged; or blocked
throughout) the fold is made from them (:func:`fold_tally`). Only the other
links' checks come over as plain tuples (:meth:`Store.marks`, a batch of
URLs at a time), folded keeping a handful of numbers per link. Then the few
checks a report shows of a link (latest, last dead, last copy, the compared
contents) are read whole, by key (:meth:`Store.checks_at`).

Both folds are :func:`~archiver.store.history.advance` and
:func:`~archiver.store.history.judge` written out over those numbers, so they
must give what ``timeline.fold`` gives for every history:
tests/unit/test_report_marks.py compares them on many-night stores, under
several dead rules, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from array import array
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from operator import lt
from typing import Final, cast

from archiver.models import Outcome
from archiver.report.model import Group
from archiver.report.timeline import LinkLife, RunIndex
from archiver.store.base import Store
from archiver.store.history import (
    RUN_SEPARATOR,
    Check,
    DeadRule,
    Mark,
    Streak,
    Tally,
    Verdict,
    drifted as content_drifted,
    key_of,
)
from archiver.store.rows import from_text, maybe_time

_NOT_CHECKS: Final = frozenset({str(Outcome.SKIPPED), str(Outcome.INVALID)})
_ALIVE: Final = str(Outcome.ALIVE)
_DEAD: Final = str(Outcome.DEAD)
_BLOCKED: Final = str(Outcome.BLOCKED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Folded:
    """A link folded from its marks, waiting for the few checks it shows."""

    streak: Streak
    verdict: Verdict
    # The runs of the checks it shows (its marks are not kept: a row each).
    latest: str
    latest_outcome: str
    first_checked: datetime
    checks: int
    last_dead: str | None
    dead_since_run: str | None
    last_copy: str | None
    baseline: str | None
    current_since: str | None
    versions: int
    checked_in: array[int]
    changes: tuple[tuple[int, Group], ...]
    confirmed_dead_in: tuple[int, ...]
    revived_in: tuple[int, ...]
    # The streak's digest is the last copy's payload digest, read with it.
    digest_of_last_copy: bool = False

    def shown(self) -> tuple[str, ...]:
        """The runs of the checks a report shows."""
        found = (
            self.latest,
            self.last_dead,
            self.last_copy,
            self.baseline,
            self.current_since,
        )
        return tuple(run for run in found if run is not None)


_OUTCOMES: Final = {str(outcome): str(outcome) for outcome in Outcome}


def _run(mark: Mark | None) -> str | None:
    return None if mark is None else mark[1]


def _same_basis(one: str, other: str) -> bool:
    return one.split(":", 1)[0] == other.split(":", 1)[0]


def _compared(keys: list[str | None]) -> tuple[int | None, int | None, int]:
    """Drift's baseline and current content among alive captures' keys.

    As ``timeline.fold``: comparing starts at the first capture with a key,
    and again at the first whose key is on another basis (main text after
    bytes); the current content is the first capture with today's key.
    Returns their indexes and the number of distinct keys on that basis.
    """
    baseline = current = None
    base = now = ""
    seen: set[str] = set()
    for n, key in enumerate(keys):
        if key is None:
            continue
        if baseline is None or not _same_basis(key, base):
            baseline, current, base, now, seen = n, n, key, key, {key}
        else:
            seen.add(key)
            if key != now:
                current, now = n, key
    return baseline, current, len(seen)


def _group(verdict: Verdict, outcome: str) -> Group:
    """:func:`archiver.report.timeline.group_of`, from the outcome's text."""
    if verdict is Verdict.DEAD:
        return Group.DEAD
    if verdict is Verdict.SUSPECT:
        return Group.SUSPECT
    if outcome == _ALIVE:
        return Group.ALIVE
    if outcome == _BLOCKED:
        return Group.BLOCKED
    return Group.INCONCLUSIVE


def _usable(marks: list[Mark], runs: RunIndex) -> list[Mark]:
    """The marks that checked the link, in the order the store's rules fold them."""
    usable: list[Mark] = []
    ordered = True
    previous = ""
    for mark in marks:
        if mark[3] in _NOT_CHECKS or mark[1] not in runs:
            continue
        if mark[2] <= previous:
            ordered = False  # a tie in time is broken by the run's start
        previous = mark[2]
        usable.append(mark)
    if not ordered:
        usable.sort(key=lambda m: (m[2], runs[m[1]][1]))
    return usable


def _always_alive(url: str, marks: list[Mark], runs: RunIndex) -> Folded | None:
    """The fold of a link found alive, with a copy, by every check; else None.

    Most links are, and for them the fold has little to do: no failure, one
    group. Done with list operations that run in C rather than one Python
    step per check, which is where a report's time went.
    """
    outcomes = [mark[3] for mark in marks]
    if outcomes.count(_ALIVE) != len(marks) or 0 in [mark[5] for mark in marks]:
        return None
    found = [runs.get(mark[1]) for mark in marks]
    if None in found:
        return None
    times = [mark[2] for mark in marks]
    positions = [run[0] for run in found if run is not None]
    if not all(map(lt, times, times[1:])) or not all(map(lt, positions, positions[1:])):
        return None  # ties in time, or a run's check after a later run's
    known = [mark[4] for mark in marks if mark[4] is not None]
    keys = [key_of(mark[6], mark[7], mark[4]) for mark in marks]
    held = [key for key in keys if key is not None]
    before = next((key for key in reversed(keys[:-1]) if key is not None), None)
    drifted = content_drifted(before, keys[-1])
    baseline, current, versions = _compared(keys)
    latest = marks[-1]
    checked = from_text(latest[2])
    streak = Streak(
        url=url,
        checked=checked,
        night=runs[latest[1]][1],
        outcome=Outcome.ALIVE,
        conclusive=Outcome.ALIVE,
        last_alive=checked,
        digest=known[-1] if known else None,
        drifted=drifted,
        content=held[-1] if held else None,
    )
    return Folded(
        streak=streak,
        verdict=Verdict.DRIFT if drifted else Verdict.ALIVE,
        latest=latest[1],
        latest_outcome=_ALIVE,
        first_checked=from_text(times[0]),
        checks=len(marks),
        last_dead=None,
        dead_since_run=None,
        last_copy=latest[1],
        baseline=None if baseline is None else marks[baseline][1],
        current_since=None if current is None else marks[current][1],
        versions=versions,
        checked_in=array("I", positions),
        changes=((positions[0], Group.ALIVE),),
        confirmed_dead_in=(),
        revived_in=(),
    )


_BY_BYTES: Final = "x"  # a stand-in payload digest: is a type compared by bytes?


def fold_tally(
    tally: Tally, positions_of: Mapping[str, int], runs: RunIndex, rule: DeadRule
) -> Folded | None:
    """The fold of a link from its :class:`Tally` alone, when that says enough.

    It does for a link whose checks found it alive with a copy, then dead
    (either part may be empty), its content the same by the rule drift
    compares while alive (one key throughout, or none); and for one found
    blocked at every check. Then the only moments its group changes are
    the first check, the first dead one and the one that confirms it dead,
    found by walking the few dead checks up to that one. None otherwise
    (and when a run is not among ``runs``, or runs are out of order), and
    the link is folded from its marks instead.
    """
    ids = tally.runs.split(RUN_SEPARATOR)
    if len(ids) != tally.checks:
        return None
    positions = list(map(positions_of.get, ids))
    if None in positions:
        return None
    ordered = cast("list[int]", positions)
    if not all(map(lt, ordered, ordered[1:])):
        return None  # a run's check after a later run's: the fold sorts them
    if tally.blocked == tally.checks:
        return _blocked(tally, ids, ordered, runs)
    alive, dead = tally.alive_records, tally.dead
    if alive + dead != tally.checks:
        return None  # blocked, errors, or alive without a copy, among them
    if alive and dead and str(tally.last_alive) >= str(tally.first_dead):
        return None  # it came back: revivals are the marks' to fold
    key, digest, of_last_copy = None, None, False
    if alive:
        if tally.low_text != tally.high_text or tally.low_type != tally.high_type:
            return None
        text, media = tally.low_text or None, tally.low_type or None
        payload = tally.low_payload
        same = payload == tally.high_payload and tally.payloads == alive
        if tally.payloads not in (0, alive):
            return None  # some copies without a digest: which is the streak's?
        by_bytes = text is None and key_of(None, media, _BY_BYTES) is not None
        if by_bytes and tally.payloads and not same:
            return None  # compared by bytes, and they changed: drift to work out
        key = key_of(text, media, payload)
        digest = payload if same else None
        of_last_copy = bool(tally.payloads) and not same
    latest = ids[-1]
    checked = from_text(tally.last_checked)
    first = from_text(tally.first_checked)
    # Times already made are used again: a datetime is 48 bytes, 100,000s here.
    last_alive = _time(tally.last_alive, (tally.last_checked, checked))
    failing_since = _time(tally.first_dead, (tally.first_checked, first))
    first_night = last_night = None
    changes: list[tuple[int, Group]] = []
    if alive:
        changes.append((ordered[0], Group.ALIVE))
    died: tuple[int, ...] = ()
    if dead:
        first_night, last_night = runs[ids[alive]][1], runs[latest][1]
        changes.append((ordered[alive], Group.SUSPECT))
        for failures, n in enumerate(range(alive, len(ids)), start=1):
            if rule.failures <= failures and rule.confirms(
                failures, first_night, runs[ids[n]][1]
            ):
                died = (ordered[n],)
                if n == alive:
                    changes.pop()
                changes.append((ordered[n], Group.DEAD))
                break
    streak = Streak(
        url=tally.url,
        checked=checked,
        night=runs[latest][1],
        outcome=Outcome.DEAD if dead else Outcome.ALIVE,
        conclusive=Outcome.DEAD if dead else Outcome.ALIVE,
        failures=dead,
        failing_since=failing_since,
        first_failure_night=first_night,
        last_failure_night=last_night,
        last_alive=last_alive,
        digest=digest,
        content=key,
    )
    verdict = Verdict.ALIVE
    if dead:
        verdict = Verdict.DEAD if died else Verdict.SUSPECT
    return Folded(
        streak=streak,
        verdict=verdict,
        latest=latest,
        latest_outcome=_DEAD if dead else _ALIVE,
        first_checked=first,
        checks=tally.checks,
        last_dead=latest if dead else None,
        dead_since_run=ids[alive] if dead else None,
        last_copy=ids[alive - 1] if alive else None,
        baseline=None if key is None else ids[0],
        current_since=None if key is None else ids[0],
        versions=0 if key is None else 1,
        checked_in=array("I", ordered),
        changes=tuple(changes),
        confirmed_dead_in=died,
        revived_in=(),
        digest_of_last_copy=of_last_copy,
    )


def _time(text: str | None, made: tuple[str, datetime]) -> datetime | None:
    """``text`` as a time: ``made``'s if it is that one's text."""
    if text is None:
        return None
    return made[1] if text == made[0] else from_text(text)


def _blocked(
    tally: Tally, ids: list[str], positions: list[int], runs: RunIndex
) -> Folded:
    """A link behind a bot wall at every check: never alive, never dead."""
    streak = Streak(
        url=tally.url,
        checked=from_text(tally.last_checked),
        night=runs[ids[-1]][1],
        outcome=Outcome.BLOCKED,
    )
    return Folded(
        streak=streak,
        verdict=Verdict.UNKNOWN,
        latest=ids[-1],
        latest_outcome=_BLOCKED,
        first_checked=from_text(tally.first_checked),
        checks=tally.checks,
        last_dead=None,
        dead_since_run=None,
        last_copy=None,
        baseline=None,
        current_since=None,
        versions=0,
        checked_in=array("I", positions),
        changes=((positions[0], Group.BLOCKED),),
        confirmed_dead_in=(),
        revived_in=(),
    )


def fold_marks(
    url: str, marks: list[Mark], runs: RunIndex, rule: DeadRule
) -> Folded | None:
    """Fold one URL's marks as ``timeline.fold`` folds its checks; None if unchecked."""
    if marks and (quick := _always_alive(url, marks, runs)) is not None:
        return quick
    usable = _usable(marks, runs)
    if not usable:
        return None
    conclusive: Outcome | None = None
    failures = ended = 0
    failing_since: str | None = None
    first_night = last_night = ended_first = ended_last = None
    last_alive: str | None = None
    digest: str | None = None
    content: str | None = None
    drifted = False
    verdict = Verdict.UNKNOWN
    last_dead = last_copy = None
    dead_since_run: str | None = None
    copies: list[Mark] = []  # alive checks that wrote a record
    keys: list[str | None] = []  # and their content keys
    positions: list[int] = []
    groups: list[Group] = []
    died: list[int] = []
    revived: list[int] = []
    in_order = True
    least = rule.failures
    for mark in usable:
        _, run_id, checked, outcome, payload, record, text, media = mark
        position, night = runs[run_id]
        if outcome == _ALIVE:
            conclusive = Outcome.ALIVE
            ended, ended_first, ended_last = failures, first_night, last_night
            failures, failing_since, first_night, last_night = 0, None, None, None
            last_alive = checked
            key = key_of(text, media, payload)
            drifted = content_drifted(content, key)
            content = key or content
            digest = payload or digest
            if record:
                copies.append(mark)
                keys.append(key)
        elif outcome == _DEAD:
            if failures == 0:
                failing_since, first_night = checked, night
            conclusive = Outcome.DEAD
            failures += 1
            last_night = night
            ended, ended_first, ended_last = 0, None, None
        before = verdict
        if conclusive is Outcome.DEAD:
            confirmed = failures >= least and rule.confirms(
                failures, first_night, last_night
            )
            verdict = Verdict.DEAD if confirmed else Verdict.SUSPECT
        elif conclusive is Outcome.ALIVE:
            if ended >= least and rule.confirms(ended, ended_first, ended_last):
                verdict = Verdict.REVIVED
            else:
                verdict = Verdict.DRIFT if drifted else Verdict.ALIVE
        if verdict is Verdict.DEAD and before is not Verdict.DEAD:
            died.append(position)
        if verdict is Verdict.REVIVED:
            revived.append(position)
        if outcome == _DEAD:
            last_dead = mark
            if failures == 1:
                dead_since_run = run_id
        if outcome == _ALIVE and record:
            last_copy = mark
        if positions and position <= positions[-1]:
            in_order = False
        positions.append(position)
        # _group, written out: this line runs once per check.
        if verdict is Verdict.DEAD:
            groups.append(Group.DEAD)
        elif verdict is Verdict.SUSPECT:
            groups.append(Group.SUSPECT)
        elif outcome == _ALIVE:
            groups.append(Group.ALIVE)
        else:
            groups.append(Group.BLOCKED if outcome == _BLOCKED else Group.INCONCLUSIVE)
    latest = usable[-1]
    streak = Streak(
        url=url,
        checked=from_text(latest[2]),
        night=runs[latest[1]][1],
        outcome=Outcome(latest[3]),
        conclusive=conclusive,
        failures=failures,
        failing_since=maybe_time(failing_since),
        first_failure_night=first_night,
        last_failure_night=last_night,
        ended_failures=ended,
        ended_first_night=ended_first,
        ended_last_night=ended_last,
        last_alive=maybe_time(last_alive),
        digest=digest,
        drifted=drifted,
        content=content,
    )
    baseline, current, versions = _compared(keys)
    if not in_order:  # a run's check came in after a later run's
        after = dict(zip(positions, groups, strict=True))
        positions = sorted(after)
        groups = [after[n] for n in positions]
    changes: list[tuple[int, Group]] = []
    for position, group in zip(positions, groups, strict=True):
        if not changes or changes[-1][1] is not group:
            changes.append((position, group))
    return Folded(
        streak=streak,
        verdict=verdict,
        latest=latest[1],
        latest_outcome=_OUTCOMES.get(latest[3], latest[3]),
        first_checked=from_text(usable[0][2]),
        checks=len(usable),
        last_dead=_run(last_dead),
        dead_since_run=dead_since_run if failures else None,
        last_copy=_run(last_copy),
        baseline=None if baseline is None else copies[baseline][1],
        current_since=None if current is None else copies[current][1],
        versions=versions,
        checked_in=array("I", positions),
        changes=tuple(changes),
        confirmed_dead_in=tuple(died),
        revived_in=tuple(revived),
    )


def _life(
    url: str, folded: Folded, checks: Mapping[tuple[str, str], Check]
) -> LinkLife:
    def check(run: str | None) -> Check | None:
        return None if run is None else checks[url, run]

    latest = checks[url, folded.latest]
    streak = folded.streak
    copy = check(folded.last_copy)
    if folded.digest_of_last_copy and copy is not None and copy.record is not None:
        streak = replace(streak, digest=copy.record.payload_digest)
    return LinkLife(
        url=url,
        streak=streak,
        verdict=folded.verdict,
        group=_group(folded.verdict, folded.latest_outcome),
        latest=latest,
        first_checked=folded.first_checked,
        checks=folded.checks,
        last_dead=check(folded.last_dead),
        dead_since_run=folded.dead_since_run,
        last_copy=copy,
        baseline=check(folded.baseline),
        current_since=check(folded.current_since),
        versions=folded.versions,
        checked_in=folded.checked_in,
        changes=folded.changes,
        confirmed_dead_in=folded.confirmed_dead_in,
        revived_in=folded.revived_in,
    )


def lives(
    store: Store, urls: Collection[str], runs: RunIndex, rule: DeadRule
) -> dict[str, LinkLife]:
    """Every one of these URLs that was checked, folded: what the report counts.

    Memory holds the folded links and one batch of marks; a check whose
    marks were read but whose row is then gone cannot be (checks are never
    deleted), so every shown check is found.
    """
    folded: dict[str, Folded] = {}
    positions = {run: found[0] for run, found in runs.items()}
    rest: list[str] = []
    for tally in store.tallies(urls):
        summed = fold_tally(tally, positions, runs, rule)
        if summed is None:
            rest.append(tally.url)
        else:
            folded[tally.url] = summed
    for url, marks in store.marks(rest):
        found = fold_marks(url, marks, runs, rule)
        if found is not None:
            folded[url] = found
    keys = {(url, run) for url, f in folded.items() for run in f.shown()}
    checks = store.checks_at(keys)
    del keys
    made: dict[str, LinkLife] = {}
    while folded:  # each fold let go as its life is made: never all of both at once
        url, one = folded.popitem()
        made[url] = _life(url, one, checks)
    return dict(sorted(made.items()))
