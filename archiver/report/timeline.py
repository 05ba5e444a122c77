"""Each link's checks folded run by run: its group after every run, and its copies.

The fold uses the store's own rules (:func:`archiver.store.history.advance` and
:func:`~archiver.store.history.judge`), so a report never disagrees with
``store.state`` about a verdict. It keeps what the store's one-row summary
drops: the run in which a link was confirmed dead or came back, and which
captures hold which version of the page. Pure: no I/O.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from archiver.models import Outcome
from archiver.report.model import Counts, Group
from archiver.store.history import (
    Basis,
    Check,
    DeadRule,
    Streak,
    Verdict,
    advance,
    basis_of,
    content_key,
    judge,
)

# Never fetched, so not a check of the link (the pipeline does not record
# them; a store written by other means might).
_NOT_CHECKS = frozenset({Outcome.SKIPPED, Outcome.INVALID})

RunIndex = Mapping[str, tuple[int, datetime]]  # run id -> (position, start)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkLife:
    """One link's history, folded."""

    url: str
    streak: Streak
    verdict: Verdict
    group: Group
    latest: Check  # the latest check that checked the link
    first_checked: datetime  # the earliest one's time
    checks: int  # how many checks checked the link (skipped ones do not)
    last_dead: Check | None  # the latest check that found it dead
    dead_since_run: str | None  # run of the first failing check of this streak
    last_copy: Check | None  # the latest alive check that wrote a record
    # Drift: the first check whose content (store.history.content_key) is
    # compared, on today's basis, and the first with today's content.
    baseline: Check | None
    current_since: Check | None
    versions: int  # distinct contents captured on that basis
    # The runs that checked it, by position, and where its group changed:
    # (position, group just after that run) for the first and every change.
    # Two small arrays, not a dict per check: a year of nights over 100,000
    # links is millions of checks.
    checked_in: array[int]
    changes: tuple[tuple[int, Group], ...]
    confirmed_dead_in: tuple[int, ...]  # run positions that confirmed it dead
    revived_in: tuple[int, ...]

    @property
    def after_run(self) -> dict[int, Group]:
        """Run position -> the link's group just after that run, for each check."""
        found: dict[int, Group] = {}
        changes = iter(self.changes)
        upcoming = next(changes, None)
        group = Group.INCONCLUSIVE
        for position in self.checked_in:
            while upcoming is not None and upcoming[0] <= position:
                group = upcoming[1]
                upcoming = next(changes, None)
            found[position] = group
        return found

    @property
    def drifted(self) -> bool:
        """Alive now, with content other than its first compared capture's."""
        first, now = self.baseline, self.current_since
        return (
            self.group is Group.ALIVE
            and first is not None
            and now is not None
            and content_key(first) != content_key(now)
        )

    @property
    def compared(self) -> Basis | None:
        """What its captures are compared by: main text or payload bytes."""
        key = content_key(self.baseline) if self.baseline is not None else None
        return basis_of(key) if key is not None else None


def group_of(verdict: Verdict, latest: Outcome) -> Group:
    """Dead and suspect by the store's verdict; the rest by the latest check."""
    if verdict is Verdict.DEAD:
        return Group.DEAD
    if verdict is Verdict.SUSPECT:
        return Group.SUSPECT
    if latest is Outcome.ALIVE:
        return Group.ALIVE
    if latest is Outcome.BLOCKED:
        return Group.BLOCKED
    return Group.INCONCLUSIVE


def fold(checks: Sequence[Check], runs: RunIndex, rule: DeadRule) -> LinkLife | None:
    """Fold one URL's checks; None when none of them checked the link."""
    usable = sorted(
        (c for c in checks if c.outcome not in _NOT_CHECKS and c.run_id in runs),
        key=lambda c: (c.checked, runs[c.run_id][1]),
    )
    streak: Streak | None = None
    verdict = Verdict.UNKNOWN
    last_dead = last_copy = baseline = current_since = None
    dead_since_run: str | None = None
    keys: set[str] = set()
    after: dict[int, Group] = {}
    died: list[int] = []
    revived: list[int] = []
    for check in usable:
        position, night = runs[check.run_id]
        streak = advance(streak, check, night)
        before, verdict = verdict, judge(streak, rule)
        if verdict is Verdict.DEAD and before is not Verdict.DEAD:
            died.append(position)
        if verdict is Verdict.REVIVED:
            revived.append(position)
        if check.outcome is Outcome.DEAD:
            last_dead = check
            if streak.failures == 1:
                dead_since_run = check.run_id
        if check.outcome is Outcome.ALIVE and check.record is not None:
            last_copy = check
            key = content_key(check)
            base: str | None = content_key(baseline) if baseline is not None else None
            if key is not None and (base is None or basis_of(key) != basis_of(base)):
                # The first compared capture, or the first judged by main
                # text after captures judged by bytes: comparing starts here.
                baseline = current_since = check
                keys = {key}
            elif key is not None and current_since is not None:
                keys.add(key)
                if key != content_key(current_since):
                    current_since = check
        after[position] = group_of(verdict, check.outcome)
    if streak is None:
        return None
    return LinkLife(
        url=streak.url,
        streak=streak,
        verdict=verdict,
        group=group_of(verdict, streak.outcome),
        latest=usable[-1],
        first_checked=usable[0].checked,
        checks=len(usable),
        last_dead=last_dead,
        dead_since_run=dead_since_run if streak.failures else None,
        last_copy=last_copy,
        baseline=baseline,
        current_since=current_since,
        versions=len(keys),
        checked_in=array("I", sorted(after)),
        changes=_changes(after),
        confirmed_dead_in=tuple(died),
        revived_in=tuple(revived),
    )


def _changes(after: Mapping[int, Group]) -> tuple[tuple[int, Group], ...]:
    """Where, in run order, a link's group differs from the run before's."""
    found: list[tuple[int, Group]] = []
    for position in sorted(after):
        group = after[position]
        if not found or found[-1][1] is not group:
            found.append((position, group))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Spell:
    """Run positions in which a link was cited: ``start`` up to, not with, ``end``.

    ``end`` is the run that found no article citing it any more (None while
    some article does); ``dropped`` says an article dropped it then, where
    otherwise only its articles were withdrawn.
    """

    start: int
    end: int | None
    dropped: bool = True


def night_of(when: datetime, starts: Sequence[datetime]) -> int:
    """The position of the run a time belongs to: the last one started by then.

    A store records a night's citations at the run's start, so a citation
    added or removed by a run maps to that run. Before the first run, 0.
    """
    return max(bisect_right(starts, when) - 1, 0)


def merge(spells: Iterable[Spell]) -> tuple[Spell, ...]:
    """A link's spells from all its citations, joined where they overlap or touch.

    A link is cited while any of its citations is; where two spells end in
    the same run, it was dropped if either citation was.
    """
    merged: list[Spell] = []
    for spell in sorted(spells, key=lambda s: s.start):
        if spell.end is not None and spell.end <= spell.start:
            continue  # cited and dropped within one run: never in a night's figures
        if merged and (merged[-1].end is None or spell.start <= merged[-1].end):
            last = merged[-1]
            if last.end is None or spell.end is None:
                end = None
                dropped = True
            elif spell.end == last.end:
                end, dropped = last.end, last.dropped or spell.dropped
            else:
                end, dropped = max((last.end, last.dropped), (spell.end, spell.dropped))
            merged[-1] = Spell(last.start, end, dropped)
        else:
            merged.append(spell)
    return tuple(merged)


@dataclass(frozen=True, slots=True, kw_only=True)
class Nights:
    """Each run's figures, as they stood at that run: one list entry per run."""

    counts: list[Counts]
    checks: list[int]  # checks of links cited then
    newly_dead: list[int]
    revived: list[int]
    fixed: list[int]  # dead or suspect links no article cited any more
    removed: list[int]  # other links that left: alive, or their articles withdrawn


def each_night(
    lives: Mapping[str, LinkLife], spells: Mapping[str, Sequence[Spell]], runs: int
) -> Nights:
    """The figures of each run from what that run recorded, never from today's.

    A link counts in a run while some article cited it then (its spells)
    and from its first check on, in the group its checks up to that run put
    it in. So a citation dropped later does not take the link out of the
    nights before, and a figure once printed is printed the same again. The
    run where its last citation went counts it as fixed when it was dead or
    suspect then, otherwise as removed. Only the runs where something
    changes are touched, so a long history of a quiet link costs little.
    """
    deltas: list[Counter[Group]] = [Counter() for _ in range(runs)]
    checks, died, back = [0] * runs, [0] * runs, [0] * runs
    fixed, removed = [0] * runs, [0] * runs
    for url, life in lives.items():
        cited = merge(spells.get(url, ()))
        if not cited:
            continue
        checked = life.checked_in
        for spell in cited:  # merged spells do not overlap
            low = bisect_left(checked, spell.start)
            high = (
                len(checked) if spell.end is None else bisect_left(checked, spell.end)
            )
            for n in checked[low:high]:
                checks[n] += 1
        died_in = (n for n in life.confirmed_dead_in if _cited_at(cited, n))
        for n in died_in:
            died[n] += 1
        for n in life.revived_in:
            if _cited_at(cited, n):
                back[n] += 1
        # The group only changes at a change or where a spell starts or ends.
        changed = [n for n, _ in life.changes]
        edges = {n for s in cited for n in (s.start, s.end) if n is not None}
        previous: Group | None = None
        for n in sorted({*changed, *edges}):
            if n >= runs:
                break
            group = _group_at(life, changed, n) if _cited_at(cited, n) else None
            if group is not previous:
                if group is not None:
                    deltas[n][group] += 1
                if previous is not None:
                    deltas[n][previous] -= 1
            previous = group
        for spell in cited:
            if spell.end is None or spell.end >= runs:
                continue
            last = _group_at(life, changed, spell.end)
            if last is None:
                continue  # never checked while cited: nothing to say about it
            unresolved = last in (Group.DEAD, Group.SUSPECT)
            if unresolved and spell.dropped:
                fixed[spell.end] += 1
            else:
                removed[spell.end] += 1
    running: Counter[Group] = Counter()
    counts = []
    for delta in deltas:
        running.update(delta)
        counts.append(Counts(**{str(group): running[group] for group in Group}))
    return Nights(
        counts=counts,
        checks=checks,
        newly_dead=died,
        revived=back,
        fixed=fixed,
        removed=removed,
    )


def _group_at(life: LinkLife, changed: Sequence[int], n: int) -> Group | None:
    """The link's group just after run ``n``: its last change by then says."""
    at = bisect_right(changed, n) - 1
    return life.changes[at][1] if at >= 0 else None


def _cited_at(spells: Sequence[Spell], n: int) -> bool:
    return any(s.start <= n and (s.end is None or n < s.end) for s in spells)
