"""What a browser loads to show a page: its requisites, found in HTML and CSS.

A page archived as its HTML alone replays without its stylesheets, fonts,
images and frames, and may not be readable at all. This module reads a
fetched page (or stylesheet) and names everything a browser would load to
show it, with the kind of thing each is (a stylesheet is searched in turn,
a frame is a page of its own). It errs on the side of gathering, as
:mod:`archiver.articles.extract` does: every ``srcset`` candidate, lazy-loading
attributes a script would swap in, icons, posters, ``url()`` in ``<style>``
blocks and ``style`` attributes.

URLs are resolved with :func:`archiver.urls.normalise`, against ``<base
href>`` when the page has one, so a requisite has the same spelling (and
identity) as the same URL cited by an article. Pure: text in, URLs out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from bs4 import BeautifulSoup
from bs4.element import Tag

from archiver.articles.extract import srcset_urls
from archiver.models import NormalizedURL, RequisiteKind
from archiver.urls import normalise

_K = RequisiteKind

# (attribute, kind, holds a srcset list) per element, links and styles aside.
_SOURCES: dict[str, tuple[tuple[str, RequisiteKind, bool], ...]] = {
    "img": (
        ("src", _K.IMAGE, False),
        ("srcset", _K.IMAGE, True),
        ("data-src", _K.IMAGE, False),
        ("data-srcset", _K.IMAGE, True),
        ("data-original", _K.IMAGE, False),
        ("data-lazy-src", _K.IMAGE, False),
        ("data-lazy-srcset", _K.IMAGE, True),
    ),
    "source": (
        ("srcset", _K.IMAGE, True),
        ("data-srcset", _K.IMAGE, True),
        ("src", _K.MEDIA, False),
    ),
    "video": (("poster", _K.IMAGE, False), ("src", _K.MEDIA, False)),
    "audio": (("src", _K.MEDIA, False),),
    "track": (("src", _K.OTHER, False),),
    "input": (("src", _K.IMAGE, False),),  # <input type=image>
    "script": (("src", _K.SCRIPT, False),),
    "embed": (("src", _K.OTHER, False),),
    "object": (("data", _K.OTHER, False),),
    "body": (("background", _K.IMAGE, False),),
    "table": (("background", _K.IMAGE, False),),
    "td": (("background", _K.IMAGE, False),),
    "th": (("background", _K.IMAGE, False),),
    "image": (("href", _K.IMAGE, False), ("xlink:href", _K.IMAGE, False)),  # SVG
    "use": (("href", _K.IMAGE, False), ("xlink:href", _K.IMAGE, False)),  # SVG
}
_FRAMES: dict[str, tuple[str, ...]] = {
    "iframe": ("src", "data-src"),
    "frame": ("src",),
}
_ICON_RELS = frozenset(
    {"icon", "apple-touch-icon", "apple-touch-icon-precomposed", "mask-icon"}
)
_PRELOAD_AS = {
    "style": _K.STYLESHEET,
    "font": _K.FONT,
    "image": _K.IMAGE,
    "script": _K.SCRIPT,
    "document": _K.FRAME,
}

_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_QUOTED_OR_URL = (
    r"""url\(\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^)'"\s]*))\s*\)"""
)
_URL = re.compile(_QUOTED_OR_URL, re.IGNORECASE)
_IMPORT = re.compile(
    r"""@import\s+(?:""" + _QUOTED_OR_URL + r"""|"(?P<idq>[^"]*)"|'(?P<isq>[^']*)')""",
    re.IGNORECASE,
)
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.IGNORECASE)
_IMAGE_SET = re.compile(r"image-set\((?P<args>[^;{}]*)\)", re.IGNORECASE)
_STRING = re.compile(r""""(?P<dq>[^"]*)"|'(?P<sq>[^']*)'""")


@dataclass(frozen=True, slots=True)
class Requisite:
    """One thing a page or stylesheet needs, resolved, and what it is to it."""

    url: NormalizedURL
    kind: RequisiteKind


def in_html(
    markup: bytes,
    url: str,
    *,
    encoding: str | None = None,
    frames: bool = True,
) -> tuple[Requisite, ...]:
    """Every distinct requisite of the HTML page at ``url``, in document order.

    ``encoding`` is the charset the response declared, if any; otherwise the
    page's own ``<meta charset>`` or a guess decides. ``frames`` is False for
    a page that is itself a frame: frames are followed one level only.
    """
    soup = BeautifulSoup(
        markup, "lxml", from_encoding=encoding, multi_valued_attributes=None
    )
    base = _base(soup, url)
    return _distinct(_html(soup, base, frames), url)


def in_css(text: str, url: str) -> tuple[Requisite, ...]:
    """Every distinct requisite of the stylesheet at ``url`` (or a ``<style>``).

    ``@import`` names stylesheets (searched in turn by the caller, to a depth
    limit), ``url()`` inside ``@font-face`` names fonts, and every other
    ``url()`` or ``image-set()`` candidate an image.
    """
    return _distinct(_css(text, url), url)


def _distinct(found: Iterator[Requisite], own_url: str) -> tuple[Requisite, ...]:
    """First mention wins; a URL that is the document itself is not its requisite."""
    seen: dict[NormalizedURL, Requisite] = {}
    own = normalise(own_url)
    for requisite in found:
        if requisite.url != own and requisite.url not in seen:
            seen[requisite.url] = requisite
    return tuple(seen.values())


def _resolve(raw: str, base: str, kind: RequisiteKind) -> Iterator[Requisite]:
    raw = raw.strip()
    if not raw or raw.startswith("#"):
        return  # empty, or a fragment of the same document (an inline SVG sprite)
    resolved = normalise(raw, base)
    if isinstance(resolved, str):
        yield Requisite(NormalizedURL(resolved), kind)


def _base(soup: BeautifulSoup, url: str) -> str:
    tag = soup.find("base", href=True)
    if isinstance(tag, Tag):
        resolved = normalise(str(tag["href"]), url)
        if isinstance(resolved, str):
            return resolved
    return url


def _html(soup: BeautifulSoup, base: str, frames: bool) -> Iterator[Requisite]:
    for tag in soup.find_all(True):
        name = tag.name
        if name == "link":
            yield from _link(tag, base)
        elif name == "style":
            yield from _css(tag.get_text(), base)
        elif name in _FRAMES:
            if frames:
                for attribute in _FRAMES[name]:
                    yield from _attribute(tag, attribute, base, _K.FRAME, False)
        else:
            for attribute, kind, is_srcset in _SOURCES.get(name, ()):
                yield from _attribute(tag, attribute, base, kind, is_srcset)
        style = tag.get("style")
        if isinstance(style, str) and "url(" in style.lower():
            yield from _css(style, base, imports=False)


def _attribute(
    tag: Tag, attribute: str, base: str, kind: RequisiteKind, is_srcset: bool
) -> Iterator[Requisite]:
    value = tag.get(attribute)
    if not isinstance(value, str):
        return
    for raw in srcset_urls(value) if is_srcset else [value]:
        yield from _resolve(raw, base, kind)


def _link(tag: Tag, base: str) -> Iterator[Requisite]:
    rels = set(str(tag.get("rel") or "").lower().split())
    kind: RequisiteKind | None = None
    if "stylesheet" in rels and "alternate" not in rels:
        kind = _K.STYLESHEET
    elif rels & _ICON_RELS:
        kind = _K.ICON
    elif "modulepreload" in rels:
        kind = _K.SCRIPT
    elif "preload" in rels:
        kind = _PRELOAD_AS.get(str(tag.get("as") or "").lower())
        if kind is _K.IMAGE:
            yield from _attribute(tag, "imagesrcset", base, kind, True)
    if kind is not None:
        yield from _attribute(tag, "href", base, kind, False)


def _css(text: str, base: str, *, imports: bool = True) -> Iterator[Requisite]:
    text = _COMMENT.sub(" ", text)
    if imports and "@import" in text.lower():
        for match in _IMPORT.finditer(text):
            groups = match.group("dq", "sq", "bare", "idq", "isq")
            yield from _resolve(next((g for g in groups if g), ""), base, _K.STYLESHEET)
        text = _IMPORT.sub(" ", text)
    for block in _FONT_FACE.findall(text):
        for match in _URL.finditer(block):
            yield from _resolve(_url_of(match), base, _K.FONT)
    text = _FONT_FACE.sub(" ", text)
    for match in _URL.finditer(text):
        yield from _resolve(_url_of(match), base, _K.IMAGE)
    if "image-set(" in text.lower():
        for match in _IMAGE_SET.finditer(_URL.sub(" ", text)):
            for string in _STRING.finditer(match.group("args")):
                raw = string.group("dq") or string.group("sq") or ""
                yield from _resolve(raw, base, _K.IMAGE)


def _url_of(match: re.Match[str]) -> str:
    return match.group("dq") or match.group("sq") or match.group("bare") or ""
