"""Every URL an article cites, with where and how it cites it.

A link we never saw is a link we never saved, so this errs on the side of
gathering: hyperlinks, every image candidate (``srcset``, lazy-loading
attributes, posters, ``style`` backgrounds), embedded media, markdown links
and images anywhere in the body, and the original URL behind an image proxy.
URLs are returned as written; :mod:`archiver.articles.plan` normalises and merges them.

The body is parsed once (BeautifulSoup on lxml) and walked once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

from bs4 import BeautifulSoup
from bs4.element import Tag
from bs4.filter import SoupStrainer

from archiver.articles.unwrap import DEFAULT_RULES, WrapperRule, unwrap
from archiver.models import Article, Citation, FoundLink, LinkKind
from archiver.urls import resolve

# (attribute, kind, holds a srcset list) per element.
_SOURCES: dict[str, tuple[tuple[str, LinkKind, bool], ...]] = {
    "a": (("href", LinkKind.LINK, False),),
    "area": (("href", LinkKind.LINK, False),),
    "img": (
        ("src", LinkKind.IMAGE, False),
        ("srcset", LinkKind.IMAGE, True),
        ("data-src", LinkKind.IMAGE, False),
        ("data-original", LinkKind.IMAGE, False),
        ("data-lazy-src", LinkKind.IMAGE, False),
        ("data-srcset", LinkKind.IMAGE, True),
    ),
    "source": (
        ("src", LinkKind.EMBED, False),
        ("srcset", LinkKind.IMAGE, True),
        ("data-srcset", LinkKind.IMAGE, True),
    ),
    "video": (("src", LinkKind.EMBED, False), ("poster", LinkKind.IMAGE, False)),
    "audio": (("src", LinkKind.EMBED, False),),
    "iframe": (("src", LinkKind.EMBED, False), ("data-src", LinkKind.EMBED, False)),
    "embed": (("src", LinkKind.EMBED, False),),
    "object": (("data", LinkKind.EMBED, False),),
    "track": (("src", LinkKind.EMBED, False),),
}


class _CitingTags(SoupStrainer):
    """Build only the tags that can cite a URL (and whatever they contain).

    Building the full tree costs most of extraction's time; the rest of an
    article's markup is never looked at.
    """

    def allow_tag_creation(
        self, nsprefix: str | None, name: str, attrs: Mapping[str, str] | None
    ) -> bool:
        if name in _SOURCES or name == "base":
            return True
        style = attrs.get("style") if attrs else None
        return isinstance(style, str) and "url(" in style.lower()

    def allow_string_creation(self, string: str) -> bool:
        return False  # text outside a citing tag is never needed


_ONLY_CITING = _CitingTags()

_STYLE_URL = re.compile(
    r"""url\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^)'"]*?))\s*\)""",
    re.IGNORECASE,
)
# [text](url "title") and ![alt](url); the URL may sit in <angle brackets>.
_MARKDOWN = re.compile(
    r"(?P<image>!?)\[(?P<text>[^\]\n]*)\]\(\s*<?(?P<url>[^\s()<>]*)>?"
    r"""(?:\s+(?:"[^"\n]*"|'[^'\n]*'))?\s*\)"""
)
_AUTOLINK = re.compile(r"<(?P<url>https?://[^\s<>]+)>", re.IGNORECASE)
_BASE_TAG = re.compile(r"<base[\s>/]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_TEXT_LIMIT = 300


def links(
    article: Article, rules: Iterable[WrapperRule] = DEFAULT_RULES
) -> tuple[FoundLink, ...]:
    """Every URL occurrence in ``article``, in document order, title link first.

    A URL cited twice is returned twice; wrapped originals follow their
    wrapper with ``citation.wrapped_by`` set.
    """
    rules = tuple(rules)
    name = str(article.path)
    found: list[FoundLink] = []
    if article.url:
        found.append(
            FoundLink(
                raw=article.url,
                base=None,
                citation=Citation(
                    article=name,
                    kind=LinkKind.ARTICLE,
                    element="title",
                    attribute="markdown",
                    text=_clean(article.title),
                ),
            )
        )
    soup = BeautifulSoup(
        article.body, "lxml", parse_only=_ONLY_CITING, multi_valued_attributes=None
    )
    base = _base(soup, article.body, article.url)
    found.extend(_html(soup, name, base))
    found.extend(_markdown(article.body, name, base))
    if not rules:
        return tuple(found)
    return tuple(with_unwrapped(found, rules))


def srcset_urls(value: str) -> list[str]:
    """The candidate URLs of a ``srcset``, per the HTML parsing rules.

    URLs may contain commas (``w_100,h_80``); a comma only separates
    candidates after whitespace or at the end of a URL.
    """
    urls: list[str] = []
    pos, end = 0, len(value)
    while pos < end:
        while pos < end and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        start = pos
        while pos < end and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            depth = 0
            while pos < end:
                char = value[pos]
                pos += 1
                if char == "(":
                    depth += 1
                elif char == ")":
                    depth = max(0, depth - 1)
                elif char == "," and depth == 0:
                    break
        if url:
            urls.append(url)
    return urls


def _base(soup: BeautifulSoup, body: str, article_url: str | None) -> str | None:
    if not _BASE_TAG.search(body):
        return article_url  # the usual case: no tree search needed
    tag = soup.find("base", href=True)
    if isinstance(tag, Tag):
        href = str(tag["href"]).strip()
        if href:
            # HTML: a <base href> that does not parse leaves the document's URL.
            return resolve(href, article_url) or article_url
    return article_url


def _html(soup: BeautifulSoup, article: str, base: str | None) -> Iterator[FoundLink]:
    for tag in soup.find_all(True):
        sources = _SOURCES.get(tag.name, ())
        for attribute, kind, is_srcset in sources:
            value = tag.get(attribute)
            if not isinstance(value, str):
                continue
            citation = Citation(
                article=article,
                kind=kind,
                element=tag.name,
                attribute=attribute,
                text=_label(tag),
                title=_clean(str(tag.get("title") or "")),
            )
            for raw in srcset_urls(value) if is_srcset else [value]:
                yield FoundLink(raw=raw, base=base, citation=citation)
        style = tag.get("style")
        if isinstance(style, str) and "url(" in style.lower():
            citation = Citation(
                article=article,
                kind=LinkKind.IMAGE,
                element=tag.name,
                attribute="style",
                text=_clean(str(tag.get("title") or "")),
            )
            for match in _STYLE_URL.finditer(style):
                raw = match.group("dq") or match.group("sq") or match.group("bare")
                yield FoundLink(raw=raw or "", base=base, citation=citation)


def _markdown(text: str, article: str, base: str | None) -> Iterator[FoundLink]:
    if "](" in text:
        for match in _MARKDOWN.finditer(text):
            image = bool(match.group("image"))
            yield FoundLink(
                raw=match.group("url"),
                base=base,
                citation=Citation(
                    article=article,
                    kind=LinkKind.IMAGE if image else LinkKind.LINK,
                    element="markdown",
                    attribute="image" if image else "link",
                    text=_clean(match.group("text")),
                ),
            )
    if "<http" in text.lower():
        for match in _AUTOLINK.finditer(text):
            yield FoundLink(
                raw=match.group("url"),
                base=base,
                citation=Citation(
                    article=article,
                    kind=LinkKind.LINK,
                    element="markdown",
                    attribute="autolink",
                ),
            )


def with_unwrapped(
    found: Iterable[FoundLink], rules: Iterable[WrapperRule] = DEFAULT_RULES
) -> Iterator[FoundLink]:
    """Each link, followed by the originals it wraps (``citation.wrapped_by`` set)."""
    rules = tuple(rules)
    hosts = tuple(rule.host for rule in rules)
    for link in found:
        yield link
        if not any(host in link.raw.lower() for host in hosts):
            continue  # cheap test first: most links wrap nothing
        absolute = _absolute(link.raw, link.base)
        for inner in unwrap(absolute, rules):
            yield FoundLink(
                raw=inner,
                base=None,
                citation=Citation(
                    article=link.citation.article,
                    kind=link.citation.kind,
                    element=link.citation.element,
                    attribute=link.citation.attribute,
                    text=link.citation.text,
                    title=link.citation.title,
                    wrapped_by=absolute,
                ),
            )


def _absolute(raw: str, base: str | None) -> str:
    """``raw`` resolved against ``base`` as a browser would; as written if it cannot be."""
    return resolve(raw, base) or raw.strip()


def _label(tag: Tag) -> str:
    """What a reader sees for this element: anchor text, else alt text."""
    if tag.name in ("a", "area"):
        text = tag.get_text(" ", strip=True) if tag.name == "a" else ""
        alt = tag.get("alt")
        return _clean(text or (alt if isinstance(alt, str) else ""))
    alt = tag.get("alt")
    return _clean(alt) if isinstance(alt, str) else ""


def _clean(text: str) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
