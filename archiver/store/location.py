"""Where a history store is: a SQLite file, or a PostgreSQL database by URL.

``--store`` and ``archiver.toml``'s ``store`` take either. A value that starts
``postgresql://`` (or libpq's other spelling, ``postgres://``) is a database
URL, as libpq reads it (user, password, host, port, database, and parameters
such as ``sslmode`` or ``options=-csearch_path%3Dname``); anything else is a
file path. No I/O and no driver here: the URL is only checked when the store
is opened, so a bad one fails like any other store that cannot be opened.

A URL may hold a password. :class:`PostgresURL` prints with it masked, and
that printed form is the only one that reaches messages, logs, reports and
the runs' recorded options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeAlias

SCHEMES: Final = ("postgresql://", "postgres://")
MASK: Final = "***"


@dataclass(frozen=True, slots=True)
class PostgresURL:
    """A PostgreSQL database named by a libpq URL; prints with its password masked."""

    url: str = field(repr=False)

    def __str__(self) -> str:
        return masked(self.url)

    def __repr__(self) -> str:
        return f"PostgresURL({masked(self.url)!r})"

    def scrub(self, text: str) -> str:
        """``text`` (a driver's message) with the URL's passwords masked.

        libpq quotes a URL it cannot parse, password and all.
        """
        text = text.replace(self.url, str(self))
        for secret in _passwords(self.url):
            text = text.replace(secret, MASK)
        return text


StoreLocation: TypeAlias = Path | PostgresURL


def store_location(value: str | Path | PostgresURL) -> StoreLocation:
    """Read a ``--store`` value: a PostgreSQL URL, else a SQLite file path."""
    if isinstance(value, Path | PostgresURL):
        return value
    if value.lower().startswith(SCHEMES):
        return PostgresURL(value)
    return Path(value)


_USER_PASSWORD: Final = re.compile(r"://[^:@/?#]*:([^@/?#]+)@")
_PARAMETER_PASSWORD: Final = re.compile(r"[?&]password=([^&#]+)", re.IGNORECASE)


def _passwords(url: str) -> list[str]:
    """The passwords written in ``url``, however malformed the rest of it is."""
    found = _USER_PASSWORD.findall(url) + _PARAMETER_PASSWORD.findall(url)
    return [str(secret) for secret in found if secret != MASK]


def masked(url: str) -> str:
    """``url`` with any password (in the user part or a parameter) as ``***``.

    One rule for every URL, parsable or not (an unbalanced "[" in the host,
    a "/" or "#" not escaped in the password), so the rest is shown as
    written and still says what is wrong with it: everything from the first
    ``:`` after the scheme to the last ``@`` is the password, which masks
    more than it, never less.
    """
    scheme, separator, rest = url.partition("://")
    user_end = rest.rfind("@")
    if user_end >= 0 and ":" in rest[:user_end]:
        user = rest[:user_end].split(":", 1)[0]
        rest = f"{user}:{MASK}{rest[user_end:]}"
    rest = _PARAMETER_PASSWORD.sub(_masked_parameter, rest)
    return f"{scheme}{separator}{rest}"


def _masked_parameter(found: re.Match[str]) -> str:
    start = found.start(1) - found.start(0)
    return found.group(0)[:start] + MASK
