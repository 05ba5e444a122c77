"""Where each URL sits in its article: the lead image, the text, or the footer.

A dead lead image or a dead link in the running text is what a reader
meets; a dead link in a "related stories" box or a footer is boilerplate
that no one follows. The fix list (``archiver fix``) ranks articles by
their dead citations weighted by this, so it is read from the article's
own markup: what :mod:`.extract` finds, in document order, and whether a
URL appears only inside ``<footer>``, ``<aside>`` or ``<nav>``. No I/O.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Final

from archiver.articles.extract import links, srcset_urls
from archiver.models import Article, LinkKind, Placement
from archiver.urls import normalise

BOILERPLATE: Final = frozenset({"footer", "aside", "nav"})
# Most prominent first: a URL cited twice takes its more prominent place.
ORDER: Final = (
    Placement.OWN_PAGE,
    Placement.LEAD_IMAGE,
    Placement.IN_TEXT,
    Placement.MEDIA,
    Placement.FOOTER,
)


def placements(article: Article) -> dict[str, Placement]:
    """Each URL the article cites (normalised), with its most prominent place."""
    walker = _Boilerplate(article.url)
    walker.feed(article.body)
    walker.close()
    found: dict[str, Placement] = {}
    lead_taken = False
    for link in links(article):
        url = normalise(link.raw, link.base)
        if not isinstance(url, str):
            continue
        kind = link.citation.kind
        if kind is LinkKind.ARTICLE:
            place = Placement.OWN_PAGE
        elif url in walker.inside and url not in walker.outside:
            place = Placement.FOOTER
        elif kind is LinkKind.IMAGE and not lead_taken:
            place, lead_taken = Placement.LEAD_IMAGE, True
        elif kind is LinkKind.LINK:
            place = Placement.IN_TEXT
        else:
            place = Placement.MEDIA
        before = found.get(url, place)
        found[url] = min(before, place, key=ORDER.index)
    return found


class _Boilerplate(HTMLParser):
    """Sorts the URLs in attributes into inside and outside boilerplate elements."""

    def __init__(self, base: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self._base = base
        self._depth = 0
        self.inside: set[str] = set()
        self.outside: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BOILERPLATE:
            self._depth += 1
        into = self.inside if self._depth else self.outside
        for name, value in attrs:
            if not value:
                continue
            for raw in srcset_urls(value) if name.endswith("srcset") else [value]:
                url = normalise(raw, self._base)
                if isinstance(url, str):
                    into.add(url)

    def handle_endtag(self, tag: str) -> None:
        if tag in BOILERPLATE and self._depth:
            self._depth -= 1
