"""Each link's checks folded run by run: its group after every run, and its copies.

The fold uses the store's own rules (:func:`archiver.store.history.advance` and
:func:`~archiver.store.history.judge`), so a report never disagrees with
``store.state`` about a verdict. It keeps what the store's one-row summary
drops: the run in which a link was confirmed dead or came back, and which
captures hold which version of the page. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from archiver.models import Outcome
from archiver.report.model import Counts, Group
from archiver.store.history import Check, DeadRule, Streak, Verdict, advance, judge

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
    first_copy: Check | None  # the first alive check that wrote a record
    last_copy: Check | None  # the latest one
    current_since: Check | None  # first alive check with today's payload
    versions: int  # distinct payloads captured while alive
    after_run: Mapping[int, Group]  # run position -> group just after that run
    confirmed_dead_in: tuple[int, ...]  # run positions that confirmed it dead
    revived_in: tuple[int, ...]

    @property
    def drifted(self) -> bool:
        """Alive now, with content other than its first capture's."""
        first, now = self.first_copy, self.current_since
        return (
            self.group is Group.ALIVE
            and first is not None
            and now is not None
            and _digest(first) != _digest(now)
        )


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
    last_dead = first_copy = last_copy = current_since = None
    dead_since_run: str | None = None
    digests: set[str] = set()
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
            first_copy = first_copy or check
            last_copy = check
            digest = _digest(check)
            if digest is not None:
                digests.add(digest)
            if current_since is None or (digest and digest != _digest(current_since)):
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
        first_copy=first_copy,
        last_copy=last_copy,
        current_since=current_since,
        versions=len(digests),
        after_run=after,
        confirmed_dead_in=tuple(died),
        revived_in=tuple(revived),
    )


def _digest(check: Check) -> str | None:
    return check.record.payload_digest if check.record is not None else None


def counts_after_each_run(
    lives: Iterable[LinkLife], runs: int
) -> tuple[list[Counts], list[int]]:
    """The groups' sizes just after each run, and how many checks each run made.

    A link counts from its first check on, in the group its latest check so
    far put it in; only the runs where its group changed are touched.
    """
    deltas: list[Counter[Group]] = [Counter() for _ in range(runs)]
    checks = [0] * runs
    for life in lives:
        previous: Group | None = None
        for position in sorted(life.after_run):
            group = life.after_run[position]
            checks[position] += 1
            if group is not previous:
                deltas[position][group] += 1
                if previous is not None:
                    deltas[position][previous] -= 1
            previous = group
    running: Counter[Group] = Counter()
    counts = []
    for delta in deltas:
        running.update(delta)
        counts.append(Counts(**{str(group): running[group] for group in Group}))
    return counts, checks
