"""Write a CDXJ index of a run's WARC files: the lookup table replay tools read.

pywb finds a capture by URL and time through a sorted CDXJ index (one line
per record: SURT key, 14-digit timestamp, JSON with file, offset, length,
status, digest). Without one it has to be rebuilt from the WARCs. The lines
come from ``cdxj-indexer``, the indexer pywb and py-wacz use themselves, so
the file is what those tools expect; this module only picks the options,
names the files relative to the index, and writes atomically.
"""

from __future__ import annotations

import contextlib
import heapq
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Final

from warcio.recordloader import ArchiveLoadFailed

from archiver.errors import ArchiveWriteError
from archiver.files import replacing

INDEX_NAME: Final = "index.cdxj"
_SORT_RUN: Final = 4 * 1024 * 1024

# The record types a replay tool serves. Named here rather than taken from
# cdxj-indexer's default list, which py-wacz changes when it is imported.
INDEXED_RECORDS: Final = ("response", "revisit", "resource", "metadata")


def merge_run_indexes(root: Path, out: Path | None = None) -> Path:
    """One index of everything under ``root``, for one pywb collection.

    That is ``root``'s own WARC files (what ``archiver preserve`` wrote there)
    and every run folder's ``index.cdxj`` (what ``archiver nightly`` wrote),
    so a preserve and a nightly sharing one folder never drop each other's
    captures from it. Nightly runs each index their own folder; a revisit
    record of one night points at a capture of another, so replay needs them
    all in one place. The run indexes are already sorted: they are merged
    line by line (no WARC is read again) with each file name prefixed by its
    run folder.
    """
    out = out or root / INDEX_NAME
    sources = sorted(path for path in root.glob(f"*/{INDEX_NAME}") if path.is_file())
    own = sorted(root.glob("*.warc.gz"))
    own_index = out.with_name(out.name + ".own.tmp")
    try:
        if own:
            write_cdxj(own, own_index)
        with contextlib.ExitStack() as stack:
            opened = [
                (stack.enter_context(p.open(encoding="utf-8")), p) for p in sources
            ]
            streams: list[Iterable[str]] = [
                _prefixed(lines, path.parent) for lines, path in opened
            ]
            if own:
                streams.append(stack.enter_context(own_index.open(encoding="utf-8")))
            with replacing(out) as merged:
                merged.writelines(heapq.merge(*streams))
    except OSError as exc:
        raise ArchiveWriteError(f"{out}: cannot write the CDXJ index: {exc}") from exc
    finally:
        own_index.unlink(missing_ok=True)
    return out


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
