"""From URL occurrences to the work list: one entry per distinct URL.

Occurrences are normalised (:func:`archiver.urls.normalise`) and merged, so a
URL cited by ten articles, or ten times by one, is fetched once and the
manifest still names every citation. What cannot be fetched is kept, with its
reason, for the manifest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from archiver.models import (
    Citation,
    FoundLink,
    NormalizedURL,
    Rejection,
    Target,
    Unfetched,
)
from archiver.urls import normalise


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Distinct URLs to fetch and distinct URLs listed but not fetched."""

    targets: tuple[Target, ...]
    unfetched: tuple[Unfetched, ...]


def build(found: Iterable[FoundLink]) -> Plan:
    """Normalise, deduplicate and group ``found``, keeping first-seen order."""
    # Most URLs are cited once: their one citation is kept as it is, and a
    # dict of citations (some 200 bytes) is made only for a second one.
    fetch: dict[NormalizedURL, Citation | dict[Citation, None]] = {}
    skip: dict[str, tuple[Rejection, dict[Citation, None]]] = {}
    for link in found:
        result = normalise(link.raw, link.base)
        if isinstance(result, Rejection):
            key = _unfetched_key(link, result)
            skip.setdefault(key, (result, {}))[1][link.citation] = None
            continue
        held = fetch.setdefault(result, link.citation)
        if isinstance(held, dict):
            held[link.citation] = None
        elif held != link.citation:
            fetch[result] = {held: None, link.citation: None}
    return Plan(
        targets=tuple(
            Target(
                url=url,
                citations=tuple(cited) if isinstance(cited, dict) else (cited,),
            )
            for url, cited in fetch.items()
        ),
        unfetched=tuple(
            Unfetched(url=key, citations=tuple(citations), rejection=rejection)
            for key, (rejection, citations) in skip.items()
        ),
    )


def _unfetched_key(link: FoundLink, rejection: Rejection) -> str:
    """How an unfetched URL is named: as written, trimmed; schemes lower-cased."""
    raw = link.raw.strip()
    if rejection.reason.startswith("scheme-"):
        scheme, _, rest = raw.partition(":")
        return f"{scheme.lower()}:{rest}"
    return raw
