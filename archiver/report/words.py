"""How every format writes times, shares, the dead rule and the filters.

One place, so the HTML, Markdown and CSV forms of a report say the same thing
in the same words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from archiver.report.model import Filters
from archiver.report.stats import Proportion
from archiver.store.history import DeadRule

TITLE = "Link rot report"

# How drift is judged, said once for every format (archiver.store.history).
DRIFT_BASIS: Final = (
    "HTML pages are compared by their main text (the article as a reader view "
    "extracts it, whitespace collapsed), so a change of ads, timestamps or "
    "page furniture is not drift; other files are compared by their bytes. "
    "Pages captured before main texts were recorded are compared from their "
    "first capture that has one."
)
COMPARED: Final = {"main-text": "main text", "payload": "bytes"}


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
RESEARCH_TITLE: Final = "Research figures"
RESEARCH_NOTE: Final = (
    "Each share is k of n with its 95 % Wilson score interval. Links are "
    "distinct URLs. Of checked: ÷ links with at least one check (blocked, "
    "inconclusive and suspect count as not dead). Of settled: ÷ links alive "
    "or dead now (blocked, inconclusive and suspect left out); the truth for "
    "those lies between the two. Own pages are the articles' own URLs; "
    "outbound links are the links, images and embeds they cite. Articles "
    "with a dead link count outbound links only, ÷ articles with at least one "
    "checked outbound link, by publication year (UTC). A dead link's reason "
    "is that of its latest check that found it dead."
)
KIND_NAMES: Final = {
    "article": "own pages",
    "outbound": "outbound links",
    "link": "links",
    "image": "images",
    "embed": "embeds",
}


def interval_text(p: Proportion) -> str:
    """``2 of 4: 50.0 % (15.0–85.0 %)``; ``0 of 0: –`` when nothing was counted."""
    interval = p.interval
    if interval is None:
        return f"{p.k} of {p.n}: –"
    low, high = interval
    return f"{p.k} of {p.n}: {percent(p.share)} ({low * 100:.1f}–{high * 100:.1f} %)"


FIXED: Final = "links fixed (dead or suspect, then no longer cited) over these runs"
