"""How every format writes times, shares, the dead rule and the filters.

One place, so the HTML, Markdown and CSV forms of a report say the same thing
in the same words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from archiver.report.model import Filters
from archiver.store.history import DeadRule

TITLE = "Link rot report"


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, as the JSON and CSV forms write times."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds")


def human(when: datetime | None) -> str:
    """A time for people: ``2026-01-02 03:00 UTC``; empty for none."""
    if when is None:
        return ""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d") if when else ""


def percent(share: float | None) -> str:
    """``18.2 %``; a dash when there was nothing to count."""
    return "–" if share is None else f"{share * 100:.1f} %"


def ratio(share: float | None) -> float | None:
    """A share as the JSON form writes it: 0 to 1, four decimals."""
    return None if share is None else round(share, 4)


def days(span: timedelta) -> float:
    return round(span.total_seconds() / 86400, 4)


def rule_text(rule: DeadRule) -> str:
    return (
        f"a link is dead after {rule.failures} failed checks spanning at least "
        f"{days(rule.span):g} days"
    )


def filters_text(filters: Filters) -> str:
    """``since 2026-01-01, domain example.com``; ``none`` when unfiltered."""
    parts = []
    if filters.since is not None:
        parts.append(f"since {human(filters.since)}")
    parts += [f"domain {d}" for d in filters.domains]
    parts += [f"article {a}" for a in filters.articles]
    return ", ".join(parts) or "none"


def window_text(filters: Filters) -> str:
    """What "newly dead" and "revived" are counted over."""
    if filters.since is None:
        return "in the latest run"
    return f"since {human(filters.since)}"


WITHDRAWN: Final = "articles withdrawn (files gone from the inputs; not counted)"
UNSETTLED_TITLE: Final = "Suspect, blocked and inconclusive links"
FIXED: Final = "links fixed (dead or suspect, then no longer cited) over these runs"
