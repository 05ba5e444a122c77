"""A patched copy of an article: dead links rewritten, or archived copies beside them.

Only the body's HTML tags (and markdown links) that cite a replaced URL
change; every other character of the file stays as it was, so a diff of
the copy against the original shows exactly the fixes. The tags are found
by the standard library's HTML tokenizer, which says where each start tag
begins and gives its raw text, so nothing is re-serialised; markdown links
are found as extraction finds them (:func:`~.extract.markdown_destinations`).
The original is never written: :func:`patched` returns text, and the caller
writes it elsewhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from typing import Final

from archiver.articles.extract import markdown_destinations, srcset_urls
from archiver.urls import normalise

_RULE: Final = re.compile(r"-{3,}|={3,}")
# Attributes that cite a URL (as extraction reads them), and those holding a list.
_URL_ATTRIBUTES: Final = frozenset(
    {
        "href",
        "src",
        "srcset",
        "data-src",
        "data-srcset",
        "data-original",
        "data-lazy-src",
        "data-lazy-srcset",
        "data-orig-file",
        "data-large-file",
        "poster",
        "data",
        "background",
    }
)
_VOID: Final = frozenset({"img", "source", "input", "embed", "track", "link", "area"})
_ATTRIBUTE: Final = re.compile(
    r"""(?P<name>[^\s"'>/=]+)(?:\s*=\s*(?P<value>"[^"]*"|'[^']*'|[^\s"'=<>`]+))?"""
)


class PatchMode(StrEnum):
    """How a dead link is fixed in the copy."""

    REPLACE = "replace"  # the dead URL becomes the replacement's
    BESIDE = "beside"  # the dead URL stays; an "archived copy" link follows it


ARCHIVED_COPY: Final = "archived copy"


@dataclass(frozen=True, slots=True, kw_only=True)
class Patched:
    """The copy's text and how many citations were fixed in it."""

    text: str
    fixed: int


def patched(
    text: str, base: str | None, replacements: Mapping[str, str], mode: PatchMode
) -> Patched:
    """``text`` (a whole article file) with every cited URL in ``replacements`` fixed.

    Keys are normalised URLs, as the store names links; ``base`` is what the
    article's relative URLs resolve against (its own URL). The header (the
    timestamp and title lines, up to the ``------`` rule) is left alone.
    """
    lines = text.splitlines(keepends=True)
    rule = next(
        (i for i, line in enumerate(lines) if _RULE.fullmatch(line.strip())), None
    )
    if rule is None:
        return Patched(text=text, fixed=0)
    head = "".join(lines[: rule + 1])
    finder = _Finder(text[len(head) :], base, replacements, mode)
    body, fixed = finder.apply()
    return Patched(text=head + body, fixed=fixed)


class _Finder(HTMLParser):
    """Collects the edits to make to a body: (start, end, new text)."""

    def __init__(
        self,
        body: str,
        base: str | None,
        replacements: Mapping[str, str],
        mode: PatchMode,
    ) -> None:
        super().__init__(convert_charrefs=True)
        self._body = body
        self._base = base
        self._replacements = replacements
        self._mode = mode
        self._starts = [0]
        for match in re.finditer("\n", body):
            self._starts.append(match.end())
        self._edits: list[tuple[int, int, str]] = []
        self._open: list[tuple[str, list[str]]] = []  # elements awaiting their end
        self._fixed = 0

    def apply(self) -> tuple[str, int]:
        self.feed(self._body)
        self.close()
        self._markdown()
        out, at = [], 0
        for start, end, new in sorted(self._edits):
            if start < at:
                continue  # never two edits over one span
            out.append(self._body[at:start])
            out.append(new)
            at = end
        out.append(self._body[at:])
        return "".join(out), self._fixed

    def _markdown(self) -> None:
        """Markdown links and images in the body, found as extraction finds them."""
        for start, end, close, _image in markdown_destinations(self._body):
            url = normalise(self._body[start:end], self._base)
            if not isinstance(url, str) or url not in self._replacements:
                continue
            new = self._replacements[url]
            self._fixed += 1
            if self._mode is PatchMode.REPLACE:
                body = self._body
                bracketed = (
                    body[start - 1 : start] == "<" and body[end : end + 1] == ">"
                )
                written = new if bracketed else _markdown_url(new)
                self._edits.append((start, end, written))
            else:
                extra = f" ([{ARCHIVED_COPY}]({_markdown_url(new)}))"
                self._edits.append((close, close, extra))

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text()
        if raw is None:
            return
        found: dict[str, str] = {}  # raw URL as written -> replacement
        for name, value in attrs:
            if name not in _URL_ATTRIBUTES or not value:
                continue
            for written in srcset_urls(value) if "srcset" in name else [value]:
                url = normalise(written, self._base)
                if isinstance(url, str) and url in self._replacements:
                    found[written] = self._replacements[url]
        if not found:
            return
        start = self._offset()
        self._fixed += len(found)
        if self._mode is PatchMode.REPLACE:
            self._edits.append((start, start + len(raw), _rewrite(raw, found)))
            return
        extra = "".join(
            f' <a href="{html.escape(new)}" class="archived-copy">{ARCHIVED_COPY}</a>'
            for new in dict.fromkeys(found.values())
        )
        if tag in _VOID or raw.rstrip().endswith("/>"):
            end = start + len(raw)
            self._edits.append((end, end, extra))
        else:
            self._open.append((tag, [extra]))

    def handle_endtag(self, tag: str) -> None:
        if not self._open or self._open[-1][0] != tag:
            return
        _, extras = self._open.pop()
        start = self._offset()
        close = self._body.find(">", start)
        end = len(self._body) if close < 0 else close + 1
        self._edits.append((end, end, "".join(extras)))


def _markdown_url(url: str) -> str:
    """``url`` as a markdown destination: in ``<>`` when it would end one early."""
    if any(char.isspace() for char in url) or url.count("(") != url.count(")"):
        return f"<{url}>"
    return url


def _rewrite(raw: str, found: Mapping[str, str]) -> str:
    """The start tag ``raw`` with each URL attribute value's dead URLs replaced."""

    def one(match: re.Match[str]) -> str:
        name, value = match.group("name"), match.group("value")
        if value is None or name.lower() not in _URL_ATTRIBUTES:
            return match.group(0)
        quote = value[0] if value[0] in "\"'" else ""
        inner = value[1:-1] if quote else value
        text = html.unescape(inner)
        for old, new in found.items():
            if "srcset" in name.lower():
                text = " ".join(
                    new + part[len(old) :] if part.rstrip(",") == old else part
                    for part in text.split(" ")
                )
            elif text.strip() == old.strip():
                text = new
        if text == html.unescape(inner):
            return match.group(0)
        kept = match.group(0)[: match.start("value") - match.start()]
        return f'{kept}"{html.escape(text)}"'

    head = re.match(r"<\s*[^\s/>]+", raw)
    cut = head.end() if head else 0
    return raw[:cut] + _ATTRIBUTE.sub(one, raw[cut:])
