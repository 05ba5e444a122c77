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

import math
import unicodedata
from pathlib import Path
from typing import Any

import click

from archiver.store.location import PostgresURL, StoreLocation, store_location

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
        if isinstance(location, Path) and location.is_dir():
            self.fail(f"{str(location)!r} is a directory, not a store file", param, ctx)
        return location

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:
        return "PATH|URL"
