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
import sys
import warnings
from collections.abc import Iterable, Iterator, Mapping

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning
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
        ("data-lazy-srcset", LinkKind.IMAGE, True),
        # WordPress (Jetpack) galleries open these when the image is clicked.
        ("data-orig-file", LinkKind.IMAGE, False),
        ("data-large-file", LinkKind.IMAGE, False),
    ),
    "source": (
        ("src", LinkKind.EMBED, False),
        ("srcset", LinkKind.IMAGE, True),
        ("data-srcset", LinkKind.IMAGE, True),
        ("data-lazy-srcset", LinkKind.IMAGE, True),
    ),
    "video": (("src", LinkKind.EMBED, False), ("poster", LinkKind.IMAGE, False)),
    "audio": (("src", LinkKind.EMBED, False),),
    "iframe": (("src", LinkKind.EMBED, False), ("data-src", LinkKind.EMBED, False)),
    "embed": (("src", LinkKind.EMBED, False),),
    "object": (("data", LinkKind.EMBED, False),),
    "track": (("src", LinkKind.EMBED, False),),
    "image": (("href", LinkKind.IMAGE, False), ("xlink:href", LinkKind.IMAGE, False)),
    "input": (("src", LinkKind.IMAGE, False),),  # only type=image shows it
    "link": (("href", LinkKind.EMBED, False),),  # only stylesheets and icons
}
# <link rel> values whose href the page shows: a stylesheet (an embed, like
# other page furniture) or an icon (an image).
_STYLESHEET = "stylesheet"
_ICONS = frozenset(
    {"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}
)


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
        if not attrs:
            return False
        style = attrs.get("style")
        return "background" in attrs or (
            isinstance(style, str) and "url(" in style.lower()
        )

    def allow_string_creation(self, string: str) -> bool:
        return False  # text outside a citing tag is never needed


_ONLY_CITING = _CitingTags()

_STYLE_URL = re.compile(
    # A bare URL stops at "(" too: an unclosed url( then costs one scan to
    # the next url(, not one to the end of the text for every url( (which
    # made a hostile style attribute quadratic).
    r"""url\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^()'"]*?))\s*\)""",
    re.IGNORECASE,
)
# The start of [text](url "title") or ![alt](url); _destination reads the rest.
# Link text holds no "[": the innermost brackets are the link (as CommonMark
# reads ``[a [b](url)``), and a run of "[" is scanned once, not once each.
_MARKDOWN_OPEN = re.compile(r"(?P<image>!?)\[(?P<text>[^\[\]\n]*)\]\(")
_MARKDOWN_TITLE_CLOSE = {'"': '"', "'": "'", "(": ")"}
_ASCII_PUNCTUATION = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>(?P<css>.*?)</style\s*>", re.I | re.S)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_CSS_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*(?:"(?P<udq>[^"]*)"|'(?P<usq>[^']*)'|(?P<bare>[^)'"\s]*))"""
    r"""\s*\)|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')""",
    re.IGNORECASE,
)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_AUTOLINK = re.compile(r"<(?P<url>https?://[^\s<>]+)>", re.IGNORECASE)
_BASE_TAG = re.compile(r"<base[\s>/]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_TEXT_LIMIT = 300


def links(
    article: Article, rules: Iterable[WrapperRule] = DEFAULT_RULES
) -> tuple[FoundLink, ...]:
    """Every URL occurrence in ``article``, title link first.

    Elements come in document order, then ``<style>`` blocks, then markdown.

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
    with warnings.catch_warnings():
        # A body that is only a URL is still an article's body, not a mistake.
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        soup = BeautifulSoup(
            article.body, "lxml", parse_only=_ONLY_CITING, multi_valued_attributes=None
        )
    base = _base(soup, article.body, article.url)
    found.extend(_html(soup, name, base))
    found.extend(_style_blocks(article.body, name, base))
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
        for attribute, kind, is_srcset in _sources(tag):
            value = tag.get(attribute)
            if not isinstance(value, str):
                continue
            citation = Citation(
                article=article,
                kind=kind,
                element=sys.intern(tag.name),
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
                element=sys.intern(tag.name),
                attribute="style",
                text=_clean(str(tag.get("title") or "")),
            )
            for match in _STYLE_URL.finditer(style):
                raw = match.group("dq") or match.group("sq") or match.group("bare")
                yield FoundLink(raw=raw or "", base=base, citation=citation)


def _sources(tag: Tag) -> Iterator[tuple[str, LinkKind, bool]]:
    """The attributes of ``tag`` that cite a URL a reader sees, with their kind."""
    if tag.name == "input" and str(tag.get("type") or "").lower() != "image":
        return
    if tag.name == "link":
        rel = set(str(tag.get("rel") or "").lower().split())
        if _STYLESHEET in rel and "alternate" not in rel:  # alternates stay unused
            yield ("href", LinkKind.EMBED, False)
        elif rel & _ICONS:
            yield ("href", LinkKind.IMAGE, False)
        return
    yield from _SOURCES.get(tag.name, ())
    if "background" in tag.attrs:  # the old HTML attribute, on body, table, td ...
        yield ("background", LinkKind.IMAGE, False)


def _style_blocks(body: str, article: str, base: str | None) -> Iterator[FoundLink]:
    """``url()`` and ``@import`` in ``<style>`` elements, in the order written.

    An imported stylesheet is an embed, like a ``<link rel=stylesheet>``;
    every other ``url()`` is an image, except a font's (``@font-face``): a
    browser downloads a font only if the text uses it, and page templates
    declare fonts for every script they serve (one BBC template in the test
    corpus lists 22, for Persian, Tamil, Burmese ...), which no reader of
    the article sees and an editor cannot fix.
    """
    if "<style" not in body.lower():
        return
    for block in _STYLE_BLOCK.finditer(body):
        css = _CSS_COMMENT.sub(" ", block.group("css"))
        if "url(" not in css.lower() and "@import" not in css.lower():
            continue
        skipped = [match.span() for match in _FONT_FACE.finditer(css)]
        found: list[tuple[int, str, LinkKind, str]] = []
        for match in _CSS_IMPORT.finditer(css):
            raw = next((g for g in match.groups() if g is not None), "")
            found.append((match.start(), raw, LinkKind.EMBED, "@import"))
            skipped.append(match.span())
        for match in _STYLE_URL.finditer(css):
            at = match.start()
            if not any(start <= at < end for start, end in skipped):
                raw = match.group("dq") or match.group("sq") or match.group("bare")
                found.append((at, raw or "", LinkKind.IMAGE, "url"))
        for _, raw, kind, attribute in sorted(found, key=lambda item: item[0]):
            yield FoundLink(
                raw=raw,
                base=base,
                citation=Citation(
                    article=article, kind=kind, element="style", attribute=attribute
                ),
            )


def _markdown(text: str, article: str, base: str | None) -> Iterator[FoundLink]:
    if "](" in text:
        for match in _MARKDOWN_OPEN.finditer(text):
            destination = _destination(text, match.end())
            if destination is None:
                continue
            image = bool(match.group("image"))
            yield FoundLink(
                raw=destination,
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


def markdown_destinations(text: str) -> Iterator[tuple[int, int, int, bool]]:
    """Where each markdown link's URL is written: (start, end, close, image).

    ``text[start:end]`` is the destination as written (without ``<`` and
    ``>``), ``close`` the position just past the link's ``)``. Found as
    :func:`links` finds markdown links; one whose written form is not its
    URL (a backslash escape) is not given, so an edit of the span is exact.
    """
    if "](" not in text:
        return
    for match in _MARKDOWN_OPEN.finditer(text):
        url = _destination(text, match.end())
        if not url:
            continue
        start = _skip_space(text, match.end())
        if text.startswith("<" + url + ">", start):
            start += 1
        elif not text.startswith(url, start):
            continue
        end = start + len(url)
        pos = _skip_space(text, end + (text[end : end + 1] == ">"))
        if pos < len(text) and text[pos] in _MARKDOWN_TITLE_CLOSE:
            pos = _skip_space(
                text, text.find(_MARKDOWN_TITLE_CLOSE[text[pos]], pos + 1) + 1
            )
        if text.startswith(")", pos):
            yield start, end, pos + 1, bool(match.group("image"))


def _destination(text: str, pos: int) -> str | None:
    """The URL of a markdown link whose ``](`` ends at ``pos``, or None if none.

    CommonMark's link destination: ``<...>`` (spaces allowed), or a run of
    non-space characters in which parentheses balance, so
    ``https://en.wikipedia.org/wiki/Foo_(bar)`` is whole; then an optional
    title in quotes or parentheses, then ``)``.
    """
    end = len(text)
    pos = _skip_space(text, pos)
    chars: list[str] = []
    if pos < end and text[pos] == "<":
        pos += 1
        while pos < end and text[pos] not in "<>\n":
            pos = _take(text, pos, chars)
        if pos >= end or text[pos] != ">":
            return None
        pos += 1
    else:
        depth = 0
        while pos < end and not text[pos].isspace() and ord(text[pos]) > 0x1F:
            char = text[pos]
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            pos = _take(text, pos, chars)
        if depth:
            return None
    pos = _skip_space(text, pos)
    if pos < end and text[pos] in _MARKDOWN_TITLE_CLOSE:
        close = _MARKDOWN_TITLE_CLOSE[text[pos]]
        pos = text.find(close, pos + 1)
        if pos < 0:
            return None
        pos = _skip_space(text, pos + 1)
    if pos >= end or text[pos] != ")":
        return None
    return "".join(chars)


def _take(text: str, pos: int, chars: list[str]) -> int:
    """Append the character at ``pos`` (a backslash escape as its character)."""
    if (
        text[pos] == "\\"
        and pos + 1 < len(text)
        and text[pos + 1] in _ASCII_PUNCTUATION
    ):
        chars.append(text[pos + 1])
        return pos + 2
    chars.append(text[pos])
    return pos + 1


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    return pos


def with_unwrapped(
    found: Iterable[FoundLink], rules: Iterable[WrapperRule] = DEFAULT_RULES
) -> Iterator[FoundLink]:
    """Each link, followed by the originals it wraps (``citation.wrapped_by`` set)."""
    rules = tuple(rules)
    markers = tuple(rule.marker for rule in rules)
    for link in found:
        yield link
        if not any(marker in link.raw.lower() for marker in markers):
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
    """``raw`` resolved against ``base`` as a browser would, else as written."""
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
    text = text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
    # A run's plan holds every citation to its end, and anchor texts repeat
    # ("here", "Permalink", a site's name: in the 435-article corpus half of
    # them are another's): one string for each, freed with its last holder.
    return sys.intern(text)
