"""Article files: find them, decode them, split header from body.

An article file looks like this (the ``<!--ms-->`` line is optional, older
files have a ``日期：`` date line at the top of the body instead)::

    <!--1729735621000-->
    [Title, which may contain [brackets]](https://example.com/article)
    ------

    <p>The body, as HTML, often on one line ...</p>

A file that does not follow it raises :class:`InputError` with one line naming
the file and what is wrong, so the run can report it and go on.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from charset_normalizer import from_bytes

from archiver.errors import InputError, UsageError
from archiver.models import Article

ARTICLE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm"})

_TIMESTAMP = re.compile(r"<!--\s*(\d{1,16})\s*-->")
# Greedy on the title: titles may hold brackets. The URL is the rest of the
# line, so a space in it (or the <...> form markdown allows) is still a URL;
# normalising encodes the space as a browser does.
_BRACKETED = re.compile(r"<(?P<url>[^<>]*)>")
_RULE = re.compile(r"-{3,}|={3,}")
_DATE_LINE = re.compile(r"日期[：:]\s*(?P<date>.+)")


def discover(paths: Iterable[Path]) -> list[Path]:
    """Every article file under ``paths``, each once, in a stable order.

    A file named on the command line is read whatever its name; inside a
    folder only article suffixes count, and hidden files and folders (such as
    ``.git``) are passed over.
    """
    found: dict[Path, None] = {}
    for path in paths:
        if path.is_file():
            found[path] = None
        elif path.is_dir():
            for child in sorted(path.rglob("*")):
                relative = child.relative_to(path).parts
                if (
                    child.is_file()
                    and child.suffix.lower() in ARTICLE_SUFFIXES
                    and not any(part.startswith(".") for part in relative)
                ):
                    found[child] = None
        else:
            raise UsageError(f"{path}: no such file or folder")
    return list(found)


def read_all(
    paths: Iterable[Path], on_error: Callable[[str], None]
) -> Iterator[Article]:
    """Every readable article under ``paths``; each unreadable one goes to ``on_error``.

    One bad file must not stop a run over thousands: it is reported, as one
    line naming the file, and skipped.
    """
    return read_each(discover(paths), on_error)


def read_each(
    files: Iterable[Path], on_error: Callable[[str], None]
) -> Iterator[Article]:
    """Each of ``files`` (found by :func:`discover`) read, as :func:`read_all` does."""
    for path in files:
        try:
            yield read(path)
        except InputError as exc:
            on_error(str(exc))


def read(path: Path) -> Article:
    """Read one article file; :class:`InputError` says why it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse(path, data)


def parse(path: Path, data: bytes) -> Article:
    """Split an article's bytes into title, URL, date and body."""
    text = _decode(path, data)
    lines = text.splitlines()
    index = _skip_blank(lines, 0)
    published = None
    if index < len(lines) and (stamp := _TIMESTAMP.fullmatch(lines[index].strip())):
        published = _from_millis(int(stamp.group(1)))
        index = _skip_blank(lines, index + 1)
    if index >= len(lines):
        raise InputError(f"{path}: empty article (no title line)")
    title = title_link(lines[index].strip())
    if title is None:
        raise InputError(
            f"{path}: line {index + 1} is not a title link '[title](url)': "
            f"{_clip(lines[index])}"
        )
    rule = _skip_blank(lines, index + 1)
    if rule >= len(lines) or not _RULE.fullmatch(lines[rule].strip()):
        raise InputError(
            f"{path}: no '------' line after the title on line {index + 1}"
        )
    body = "\n".join(lines[rule + 1 :]).strip("\n")
    if published is None:
        published = _dated_body(body)
    return Article(
        path=path,
        url=title[1].strip() or None,
        title=title[0].strip(),
        published=published,
        body=body,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def title_link(line: str) -> tuple[str, str] | None:
    """(title, URL) of a ``[title](url)`` or ``[title](<url>)`` line, else None.

    The title runs to the last ``](`` (titles hold brackets, URLs rarely
    hold ``](``). Found with ``rfind``, not a backtracking pattern, so a
    hostile line of a megabyte costs a scan, not hours.
    """
    if not (line.startswith("[") and line.endswith(")")):
        return None
    split = line.rfind("](")
    if split < 1:
        return None
    target = line[split + 2 : -1]
    bracketed = _BRACKETED.fullmatch(target)
    return line[1:split], bracketed.group("url") if bracketed else target


def _decode(path: Path, data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise InputError(f"{path}: not a text file (it contains NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise InputError(f"{path}: cannot tell the text encoding")
    return str(best)


def _skip_blank(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _from_millis(millis: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(millis / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _dated_body(body: str) -> datetime | None:
    first = body.lstrip().split("\n", 1)[0]
    match = _DATE_LINE.match(first)
    if match is None:
        return None
    try:
        when = parsedate_to_datetime(match.group("date").strip())
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _clip(line: str, width: int = 60) -> str:
    line = line.strip()
    return line if len(line) <= width else line[: width - 1] + "…"
