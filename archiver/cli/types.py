"""Option types that refuse what would only fail later: one check, every command.

click's number ranges let ``nan`` and ``inf`` through (neither is below a
minimum), and they turn ``2.5`` or ``true`` from a settings file into the
integer 2 or 1. A non-finite timeout then fails deep inside trio, a huge
number of days overflows ``timedelta``, an endless delay hangs the run, and a
line break in a header value breaks every request. These types reject all of
that while the options are parsed, as a usage error (exit 2) naming the
option. They are also what ``archiver.toml`` values pass through, since the
file's settings become the options' defaults.
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import click

from archiver.store.location import (
    PostgresURL,
    StoreLocation,
    masked,
    store_location,
)

DAY = 86_400.0
LONGEST_DAYS = 36_500.0  # a century: past it a number of days means a typo


class Finite(click.FloatRange):
    """A finite number within bounds (an upper one is required: "forever" is a typo)."""

    def __init__(self, *, lowest: float, highest: float, above: bool = False) -> None:
        super().__init__(min=lowest, max=highest, min_open=above)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Any:
        if isinstance(value, bool):
            self.fail(f"{value!r} is not a number", param, ctx)
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


class Whole(click.IntRange):
    """An integer within bounds; ``2.5`` or ``true`` (from a file) is refused."""

    def __init__(self, *, lowest: int, highest: int) -> None:
        super().__init__(min=lowest, max=highest)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Any:
        if isinstance(value, bool | float):
            self.fail(f"{value!r} is not a whole number", param, ctx)
        return super().convert(value, param, ctx)


def seconds(*, most: float, positive: bool = False) -> Finite:
    """A duration in seconds: at least 0 (above 0 if ``positive``), at most ``most``."""
    return Finite(lowest=0, highest=most, above=positive)


def days() -> Finite:
    """A number of days, 0 to a century."""
    return Finite(lowest=0, highest=LONGEST_DAYS)


class Text(click.types.StringParamType):
    """One line of text with no control characters (CR, LF, tab, NUL, ...).

    ``ascii_only`` is for HTTP header values, which go on the wire as ASCII.
    """

    name = "text"

    def __init__(self, *, ascii_only: bool = False) -> None:
        self._ascii_only = ascii_only

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Any:
        if not isinstance(value, str):
            self.fail(f"{value!r} is not text", param, ctx)
        value = super().convert(value, param, ctx)
        for char in value:
            if unicodedata.category(char) == "Cc":
                self.fail(
                    f"{value!r} contains a control character ({ord(char):#04x})",
                    param,
                    ctx,
                )
            if self._ascii_only and not char.isascii():
                self.fail(f"{value!r} is not plain ASCII ({char!r})", param, ctx)
        return value


class HostPort(Text):
    """``--allow-private-host``: a host, or a host and a port, never a URL.

    The fetcher compares the value with each request's host and port as
    written; a URL, a port past 65535 or a port that is not a number would
    match no request, and every URL would be refused as private with no hint
    that the value was never understood.
    """

    name = "host[:port]"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Any:
        text = str(super().convert(value, param, ctx)).strip()
        if not text or re.search(r"[/\s@?#]", text):
            self.fail(f"{text!r} is not a host or HOST:PORT (not a URL)", param, ctx)
        bracketed = re.fullmatch(r"\[([^\]]+)\](?::([^:]*))?", text)
        if bracketed is not None:
            host, port = bracketed.group(1), bracketed.group(2)
            if port is None:  # "[::1]" names the host without its brackets
                self.fail(f"{text!r}: write an IPv6 host as {host}", param, ctx)
            self._address(host, param, ctx)
        elif text.count(":") > 1:
            host, port = text, None
            self._address(host, param, ctx)
        else:
            host, colon, after = text.partition(":")
            port = after if colon else None
        if not host:
            self.fail(f"{text!r} names no host", param, ctx)
        if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
            self.fail(f"{text!r}: the port must be a number 1-65535", param, ctx)
        return text

    def _address(
        self, host: str, param: click.Parameter | None, ctx: click.Context | None
    ) -> None:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            self.fail(f"{host!r} is not an IPv6 address", param, ctx)


def is_web_url(text: str) -> bool:
    """Whether ``text`` is an http:// or https:// URL naming a host."""
    try:
        parts = urlsplit(text)
    except ValueError:  # "http://[bad": an IPv6 host left open, say
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


class WebURL(Text):
    """An http:// or https:// URL with a host (a canary, a replay base).

    ``relative`` also admits a path from the site's root ("/replay"), which
    a replay address may start with; anything else would be written into
    every address the report or the fix list gives, as a broken link.
    """

    name = "url"

    def __init__(self, *, relative: bool = False) -> None:
        super().__init__()
        self._relative = relative

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Any:
        text = str(super().convert(value, param, ctx))
        if (text == "" and self._relative) or (self._relative and text.startswith("/")):
            return text
        if not is_web_url(text):
            wanted = "an http(s):// URL" + (" or a /path" if self._relative else "")
            self.fail(f"{text!r} is not {wanted}", param, ctx)
        return text


# What a URL of any other scheme starts with (RFC 3986's scheme, then "://").
_OTHER_SCHEME: Final = re.compile(r"([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


class StoreParam(click.ParamType[StoreLocation, Any]):
    """A history store: a ``postgresql://`` URL, or else a SQLite file's path.

    Only the kind is decided here; a URL is checked when the store is opened,
    so a bad one is a store error (one line, exit 1) like a server that is
    down, and a path that names a folder is refused as ``click.Path`` does.
    """

    name = "store"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> StoreLocation:
        if not isinstance(value, str | Path | PostgresURL):
            self.fail(f"{value!r} is not a path or a postgresql:// URL", param, ctx)
        location = store_location(value)
        if isinstance(value, str) and isinstance(location, Path):
            scheme = _OTHER_SCHEME.match(value)
            if scheme is not None:
                # A mistyped scheme would otherwise become a SQLite file
                # under a folder named after it, and the night would run
                # there, in silence, instead of in the database meant.
                self.fail(
                    f"{masked(value)!r} is a {scheme.group(1)}:// URL: a store is a "
                    "postgresql:// URL or a SQLite file's path",
                    param,
                    ctx,
                )
        if isinstance(location, Path) and location.is_dir():
            self.fail(f"{str(location)!r} is a directory, not a store file", param, ctx)
        return location

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "PATH|URL"
