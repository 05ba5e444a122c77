"""Write a CDXJ index of a run's WARC files: the lookup table replay tools read.

pywb finds a capture by URL and time through a sorted CDXJ index (one line
per record: SURT key, 14-digit timestamp, JSON with file, offset, length,
status, digest). Without one it has to be rebuilt from the WARCs. The lines
come from ``cdxj-indexer``, the indexer pywb and py-wacz use themselves, so
the file is what those tools expect; this module only picks the options,
names the files relative to the index, and writes atomically.

Reading every record back at the end of a run was a sixth of its CPU, so
the files a run writes itself are indexed as they are written
(:class:`WrittenIndex`): the sink hands over each record with where it
lies, and the line is made from the same values the indexer would read
back (the HTTP head parsed by warcio's own parser from the bytes written).
The lines are the indexer's, field for field (a test compares them on
real WARC files); a file the run did not write, or one with a record the
sink could not describe, is still read by ``cdxj-indexer``.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

from warcio.recordloader import ArchiveLoadFailed, ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeadersParser
from warcio.timeutils import iso_date_to_timestamp

from archiver.errors import ArchiveWriteError
from archiver.files import replacing

INDEX_NAME: Final = "index.cdxj"
_SORT_RUN: Final = 4 * 1024 * 1024

# The record types a replay tool serves. Named here rather than taken from
# cdxj-indexer's default list, which py-wacz changes when it is imported.
INDEXED_RECORDS: Final = ("response", "revisit", "resource", "metadata")


# What the indexer reads an HTTP head with (cdxj-indexer leaves verify_http off).
_HTTP_HEAD: Final = StatusAndHeadersParser(ArcWarcRecordLoader.HTTP_TYPES, False)
_MIME_END: Final = re.compile(r"[;\s]")  # cdxj-indexer cuts a media type here


class Unindexable(Exception):
    """A record this module cannot describe as the indexer would: read it back."""


def entry(record: ArcWarcRecord, offset: int, length: int) -> list[Any] | None:
    """The index entry of a record just written at ``offset`` (``length`` bytes).

    ``[url, timestamp, fields]``, ``fields`` in the indexer's order but for
    ``filename`` (known only when the index is written); None for a record
    the index leaves out, as cdxj-indexer's default selection does (requests,
    warcinfo, and ``application/warc-fields`` resources and metadata). Raises
    :class:`Unindexable` for what only reading the file back can answer.
    """
    kind = record.rec_type
    headers = record.rec_headers
    content_type = headers.get_header("Content-Type")
    if kind not in INDEXED_RECORDS or (
        kind in ("resource", "metadata") and content_type == "application/warc-fields"
    ):
        return None
    url = headers.get_header("WARC-Target-URI")
    digest = headers.get_header("WARC-Payload-Digest")
    date = headers.get_header("WARC-Date")
    if not url or not digest or not date:
        raise Unindexable(kind)
    url = url.strip().strip("<>")  # as warcio reads a WARC/1.0 URI back
    http = None
    if kind in ArcWarcRecordLoader.HTTP_RECORDS and url.startswith(
        ArcWarcRecordLoader.HTTP_SCHEMES
    ):
        block = getattr(record.http_headers, "headers_buff", None)
        if not block:
            raise Unindexable(kind)
        try:
            http = _HTTP_HEAD.parse(io.BytesIO(block))
        except Exception as exc:  # whatever warcio's parser says of it
            raise Unindexable(kind) from exc
        http = http or None  # an empty head counts as none, as the indexer has it
    if kind == "revisit":
        mime: str | None = "warc/revisit"
    elif kind == "response":
        mime = http.get_header("Content-Type") if http is not None else None
    else:
        mime = content_type
    if mime:
        mime = _MIME_END.split(mime, 1)[0].strip()
    fields: dict[str, str] = {"url": url}
    if mime is not None:
        fields["mime"] = mime
    if http is not None:
        fields["status"] = http.get_statuscode()
    fields["digest"] = digest
    fields["length"] = str(length)
    fields["offset"] = str(offset)
    return [url, iso_date_to_timestamp(date), fields]


class WrittenIndex:
    """The index entries of the records a run writes, on disk until the end.

    One JSON line per record in an unlinked temporary file (a hundred
    thousand lines would hold 30 MB in memory). A file's entries count only
    when every indexed record of it was described (:meth:`cannot` says
    otherwise) and the file is whole under its final name at the end.
    """

    def __init__(self, folder: Path) -> None:
        try:
            # Open for the run, closed by close(): no ``with``.
            self._file: TextIO = tempfile.TemporaryFile(  # noqa: SIM115
                "w+", encoding="utf-8", dir=folder, prefix=".index-"
            )
        except OSError as exc:
            raise ArchiveWriteError(
                f"{folder}: cannot keep the index: {exc.strerror or exc}"
            ) from exc
        self._files: set[str] = set()
        self._unindexable: set[str] = set()

    def add(self, warc_name: str, entries: Iterable[list[Any]]) -> None:
        """Keep the entries of records now whole in the file ``warc_name``."""
        self._files.add(warc_name)
        try:
            for item in entries:
                self._file.write(json.dumps([warc_name, *item]) + "\n")
        except OSError as exc:
            raise ArchiveWriteError(
                f"cannot keep the index: {exc.strerror or exc}"
            ) from exc

    def cannot(self, warc_name: str) -> None:
        """Say that ``warc_name`` holds a record only reading it back can index."""
        self._unindexable.add(warc_name)

    def covers(self, warc_name: str) -> bool:
        """Whether every indexed record of ``warc_name`` is here."""
        return warc_name in self._files and warc_name not in self._unindexable

    def lines(self, names: dict[str, str]) -> Iterator[str]:
        """Index lines of the files in ``names`` (WARC name -> name in the index).

        In the order written: the caller sorts them.
        """
        # Loaded here, as cdxj-indexer is: surt brings tldextract.
        import surt  # type: ignore[import-untyped]

        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            warc_name, url, stamp, fields = json.loads(line)
            filename = names.get(warc_name)
            if filename is None:
                continue
            fields["filename"] = filename
            try:
                key = surt.surt(url)
            except Exception:  # noqa: BLE001 - cdxj-indexer keys the URL itself then
                key = url
            yield f"{key} {stamp} {json.dumps(fields)}\n"

    def close(self) -> None:
        self._file.close()


def merge_run_indexes(
    root: Path, out: Path | None = None, written: WrittenIndex | None = None
) -> Path:
    """One index of everything under ``root``, for one pywb collection.

    That is ``root``'s own WARC files (what ``archiver preserve`` wrote there)
    and every run folder's ``index.cdxj`` (what ``archiver nightly`` wrote),
    so a preserve and a nightly sharing one folder never drop each other's
    captures from it. Nightly runs each index their own folder; a revisit
    record of one night points at a capture of another, so replay needs them
    all in one place. The run indexes are already sorted: they are merged
    line by line (no WARC is read again) with each file name prefixed by its
    run folder. ``written`` holds the entries of the files this run wrote
    (``root``'s own): those are not read again either.
    """
    out = out or root / INDEX_NAME
    sources = sorted(path for path in root.glob(f"*/{INDEX_NAME}") if path.is_file())
    own = sorted(root.glob("*.warc.gz"))
    known = [path for path in own if written is not None and written.covers(path.name)]
    own = [path for path in own if path not in known]
    own_index = out.with_name(out.name + ".own.tmp")
    known_index = out.with_name(out.name + ".run.tmp")
    try:
        if own:
            write_cdxj(own, own_index)
        if known and written is not None:
            _sorted_lines(
                written.lines({p.name: _relative(p, out.parent) for p in known}),
                known_index,
            )
        with contextlib.ExitStack() as stack:
            opened = [
                (stack.enter_context(p.open(encoding="utf-8")), p) for p in sources
            ]
            streams: list[Iterable[str]] = [
                _prefixed(lines, path.parent) for lines, path in opened
            ]
            if own:
                streams.append(stack.enter_context(own_index.open(encoding="utf-8")))
            if known:
                streams.append(stack.enter_context(known_index.open(encoding="utf-8")))
            with replacing(out) as merged:
                merged.writelines(heapq.merge(*streams))
    except OSError as exc:
        raise ArchiveWriteError(f"{out}: cannot write the CDXJ index: {exc}") from exc
    finally:
        own_index.unlink(missing_ok=True)
        known_index.unlink(missing_ok=True)
    return out


def _relative(path: Path, root: Path) -> str:
    """``path`` as cdxj-indexer names it in an index kept in ``root``."""
    return os.path.relpath(path, root).replace(os.path.sep, "/")


def _sorted_lines(lines: Iterable[str], out: Path) -> None:
    """``lines`` sorted into ``out``, in runs as the indexer sorts its own."""
    from cdxj_indexer.main import SortingWriter  # type: ignore[import-untyped]

    with out.open("w", encoding="utf-8") as stream:
        sorting = SortingWriter(stream, _SORT_RUN)
        for line in lines:
            sorting.write(line)
        sorting.flush()


def _prefixed(lines: Iterable[str], folder: Path) -> Iterator[str]:
    """CDXJ lines with ``filename`` made relative to the folder above ``folder``."""
    for line in lines:
        key, stamp, fields = line.rstrip("\n").split(" ", 2)
        record = json.loads(fields)
        record["filename"] = f"{folder.name}/{record['filename']}"
        yield f"{key} {stamp} {json.dumps(record)}\n"


def write_cdxj(warc_files: Sequence[Path], out: Path) -> Path:
    """Index ``warc_files`` into ``out``, sorted as pywb needs; return ``out``.

    File names in the index are relative to the folder of ``out`` (plain
    names when the WARCs sit beside it, as in a run folder), which is where
    pywb's ``archive_paths`` and a WACZ's ``archive/`` look for them. The file
    is written under a temporary name and renamed, so a reader never sees
    half an index. Raises ``ArchiveWriteError`` if a WARC cannot be read or
    the index cannot be written.
    """
    # Loaded here, not with the module: cdxj-indexer brings surt, tldextract,
    # requests and pkg_resources (8 MB), which only the end of a run needs.
    from cdxj_indexer import CDXJIndexer  # type: ignore[import-untyped]

    try:
        with replacing(out) as stream:
            indexer = CDXJIndexer(
                stream,
                [str(path) for path in warc_files],
                sort=True,
                # Sorted in runs of this many characters, merged from temporary
                # files: its default (32 M) held a large run's whole index.
                max_sort_buff_size=_SORT_RUN,
                records=",".join(INDEXED_RECORDS),
                dir_root=str(out.parent),
            )
            indexer.process_all()
    except (OSError, ArchiveLoadFailed) as exc:
        raise ArchiveWriteError(f"{out}: cannot write the CDXJ index: {exc}") from exc
    return out
