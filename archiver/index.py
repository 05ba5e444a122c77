"""Write a CDXJ index of a run's WARC files: the lookup table replay tools read.

pywb finds a capture by URL and time through a sorted CDXJ index (one line
per record: SURT key, 14-digit timestamp, JSON with file, offset, length,
status, digest). Without one it has to be rebuilt from the WARCs. The lines
come from ``cdxj-indexer``, the indexer pywb and py-wacz use themselves, so
the file is what those tools expect; this module only picks the options,
names the files relative to the index, and writes atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from cdxj_indexer import CDXJIndexer  # type: ignore[import-untyped]
from warcio.recordloader import ArchiveLoadFailed

from archiver.errors import ArchiveWriteError

INDEX_NAME: Final = "index.cdxj"

# The record types a replay tool serves. Named here rather than taken from
# cdxj-indexer's default list, which py-wacz changes when it is imported.
INDEXED_RECORDS: Final = ("response", "revisit", "resource", "metadata")


def write_cdxj(warc_files: Sequence[Path], out: Path) -> Path:
    """Index ``warc_files`` into ``out``, sorted as pywb needs; return ``out``.

    File names in the index are relative to the folder of ``out`` (plain
    names when the WARCs sit beside it, as in a run folder), which is where
    pywb's ``archive_paths`` and a WACZ's ``archive/`` look for them. The file
    is written under a temporary name and renamed, so a reader never sees
    half an index. Raises ``ArchiveWriteError`` if a WARC cannot be read or
    the index cannot be written.
    """
    tmp = out.with_name(out.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as stream:
            indexer = CDXJIndexer(
                stream,
                [str(path) for path in warc_files],
                sort=True,
                records=",".join(INDEXED_RECORDS),
                dir_root=str(out.parent),
            )
            indexer.process_all()
        os.replace(tmp, out)
    except (OSError, ArchiveLoadFailed) as exc:
        tmp.unlink(missing_ok=True)
        raise ArchiveWriteError(f"{out}: cannot write the CDXJ index: {exc}") from exc
    return out
