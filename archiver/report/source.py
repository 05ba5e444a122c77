"""Read what a report needs from the store, in one pass, and nothing else.

A report may be made while a nightly run is writing (WAL lets it read). The
reads are separate transactions, so they are made in an order that keeps the
result whole: checks before runs (a check's run is always recorded before
it), articles before citations. A report reads no checks here: it folds them
afterwards, batch by batch (:mod:`.marks`), skipping those of any run begun
after the runs were read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from archiver.models import Citation
from archiver.store.base import Store
from archiver.store.history import Check, CitationSpan, Run, StoredArticle


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreData:
    """Everything the store knows that a report reads."""

    runs: tuple[Run, ...]  # oldest first
    articles: tuple[StoredArticle, ...]
    citations: Mapping[str, tuple[Citation, ...]]  # URL -> its citations now
    spans: tuple[CitationSpan, ...]  # every citation ever, with when it held
    checks: tuple[Check, ...]  # by URL, then time; empty when not asked for


def read(store: Store, *, checks: bool = True) -> StoreData:
    """The store's runs, articles, citations and (unless told not to) checks."""
    every = store.all_checks() if checks else ()
    articles = store.articles()
    citations = store.all_citations()
    spans = store.citation_spans()
    runs = store.runs()
    return StoreData(
        runs=runs, articles=articles, citations=citations, spans=spans, checks=every
    )
