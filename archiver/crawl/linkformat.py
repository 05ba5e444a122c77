"""Parse web links: a ``Link`` header (RFC 8288) or a TimeMap (RFC 6690).

Memento archives answer in this format twice: a TimeGate's ``Link`` header
names the original, the TimeMap and the chosen memento; a TimeMap is a
whole document of link-values, one per capture. Both are lists of
``<URI>; name="value"; name=token`` separated by commas, and a comma or a
semicolon may sit inside a quoted value (``datetime="Sat, 01 Jan 2000 ..."``).
So they are read character by character by the grammar, never split on
commas or matched with patterns over loose text: one bad entry must fail
loudly (:class:`LinkFormatError`), not turn into a wrong date. No I/O here;
linear in the input, so a caller bounds what it reads, not the parser.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urljoin

# RFC 9110 tchar, for parameter names.
_TCHAR: Final = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)
# RFC 6690 ptokenchar (a superset of tchar: "/", ":", "<" ...), for unquoted
# values; "," and ";" are never part of one, since they end the value.
_PTOKEN: Final = _TCHAR | frozenset("()/:<=>?@[]{}")
_SPACE: Final = frozenset(" \t\r\n")


class LinkFormatError(ValueError):
    """The text is not a list of link-values; says where it went wrong."""

    def __init__(self, message: str, *, at_end: bool = False) -> None:
        super().__init__(message)
        self.at_end = at_end  # the text ran out inside a link-value


@dataclass(frozen=True, slots=True, kw_only=True)
class Link:
    """One link-value: its target (resolved against the document) and parameters."""

    target: str
    params: tuple[tuple[str, str | None], ...]  # names lower case, in order

    def param(self, name: str) -> str | None:
        """The first value of parameter ``name`` (later ones are ignored, §3.3)."""
        return next((value for key, value in self.params if key == name), None)

    @property
    def rels(self) -> frozenset[str]:
        """The relation types, lower case (``rel="first memento"`` is two)."""
        return frozenset((self.param("rel") or "").lower().split())


def parse(text: str, base: str | None = None, *, cut: bool = False) -> tuple[Link, ...]:
    """Every link-value in ``text``; relative targets resolve against ``base``.

    Empty list elements (``a, , b``) and whitespace, line breaks included,
    between elements are allowed, as RFC 9110's list rule says. ``cut`` says
    the text is the start of a longer document (a TimeMap read up to a
    bound): its last link-value, unless a comma closed it, may be a piece of
    one (``datetime="Sat, 01 J``, or ``rel=mem`` for ``rel=memento``), so it
    is dropped, and running out inside it is no error. Anything malformed
    before that point still is.
    """
    reader = _Reader(text)
    links: list[Link] = []
    while True:
        reader.skip(_SPACE | {","})
        if reader.at_end():
            return tuple(links)
        try:
            link = reader.link_value(base)
        except LinkFormatError as exc:
            if cut and exc.at_end:
                return tuple(links)
            raise
        reader.skip(_SPACE)
        if reader.at_end():
            return tuple(links) if cut else (*links, link)
        if not reader.take(","):
            raise reader.error("expected ',' between links")
        links.append(link)


def http_date(value: str | None) -> datetime | None:
    """A Memento-Datetime or ``datetime`` parameter (RFC 7089 §2.1.1), or None."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def format_http_date(when: datetime) -> str:
    """``when`` as an Accept-Datetime value: RFC 9110's IMF-fixdate, in GMT."""
    return email.utils.format_datetime(when.astimezone(UTC), usegmt=True)


class _Reader:
    """A cursor over the text, with the grammar's productions as methods."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0

    def at_end(self) -> bool:
        return self._pos >= len(self._text)

    def error(self, what: str) -> LinkFormatError:
        near = self._text[self._pos : self._pos + 20]
        return LinkFormatError(
            f"{what} at character {self._pos} ({near!r})", at_end=self.at_end()
        )

    def skip(self, chars: frozenset[str]) -> None:
        while self._pos < len(self._text) and self._text[self._pos] in chars:
            self._pos += 1

    def take(self, char: str) -> bool:
        if self._text.startswith(char, self._pos):
            self._pos += 1
            return True
        return False

    def link_value(self, base: str | None) -> Link:
        if not self.take("<"):
            raise self.error("expected '<' opening a link target")
        end = self._text.find(">", self._pos)
        if end < 0:
            self._pos = len(self._text)
            raise self.error("a link target has no closing '>'")
        target = self._text[self._pos : end]
        if any(char in _SPACE or char == "<" for char in target):
            raise self.error("a link target holds a space or '<'")
        self._pos = end + 1
        params: list[tuple[str, str | None]] = []
        while True:
            self.skip(_SPACE)
            if not self.take(";"):
                break
            self.skip(_SPACE)
            params.append(self._param())
        resolved = urljoin(base, target) if base else target
        return Link(target=resolved, params=tuple(params))

    def _param(self) -> tuple[str, str | None]:
        name = self._run(_TCHAR)
        if not name:
            raise self.error("expected a parameter name")
        self.skip(_SPACE)
        if not self.take("="):
            return name.lower(), None
        self.skip(_SPACE)
        if self.take('"'):
            return name.lower(), self._quoted()
        value = self._run(_PTOKEN)
        if not value:
            raise self.error(f"parameter {name!r} has no value")
        return name.lower(), value

    def _run(self, chars: frozenset[str]) -> str:
        start = self._pos
        self.skip(chars)
        return self._text[start : self._pos]

    def _quoted(self) -> str:
        out: list[str] = []
        while not self.at_end():
            char = self._text[self._pos]
            self._pos += 1
            if char == '"':
                return "".join(out)
            if char == "\\":
                if self.at_end():
                    break
                char = self._text[self._pos]
                self._pos += 1
            out.append(char)
        raise self.error("a quoted value is not closed")
