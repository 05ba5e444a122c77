"""What must hold on disk after any crash, signal or fault: the checks, once.

Used by the crash campaigns and the kill tests: every closed WARC file reads
whole, the store is an intact SQLite file, everything the store says was
archived is where it says, and the journals say only what the WARCs hold.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archiver.store.base import open_store
from archiver.store.location import StoreLocation


def walk_whole(folder: Path, pattern: str = "**/*.warc.gz") -> list[tuple[str, str]]:
    """gzip -t and a record-by-record walk of every closed WARC: (type, URI)s."""
    seen = []
    for path in sorted(folder.glob(pattern)):
        gzip.decompress(path.read_bytes())  # raises on a torn member
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                record.content_stream().read()
                uri = record.rec_headers.get_header("WARC-Target-URI")
                seen.append((record.rec_type, uri))
    return seen


def store_is_intact(store_file: Path) -> None:
    """SQLite's own check of every page and index of the store file."""
    conn = sqlite3.connect(f"file:{store_file}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def record_at(path: Path, offset: int):
    """The record that starts at ``offset`` of ``path`` (or of its .open file)."""
    if not path.exists():
        path = path.with_name(path.name + ".open")
    with path.open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        record.content_stream().read()
        return record


def committed_captures_are_on_disk(root: Path, store_file: StoreLocation) -> int:
    """Every check the store says was archived reads back at its file and offset.

    Holds at any moment, also right after kill -9: a check is committed only
    once its record is synced. Returns how many captures were checked.
    """
    with open_store(store_file, read_only=True) as store:
        checks = [c for c in store.all_checks() if c.record is not None]
    for check in checks:
        assert check.record is not None
        path = root / check.run_id / check.record.warc_file
        record = record_at(path, check.record.offset)
        assert record.rec_type in ("response", "revisit"), (check.url, path)
    return len(checks)


def index_lists_every_capture(root: Path, store_file: StoreLocation) -> None:
    """The root index names every committed capture (file and offset)."""
    indexed = set()
    for line in (root / "index.cdxj").read_text().splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        indexed.add((fields["filename"], int(fields["offset"])))
    with open_store(store_file, read_only=True) as store:
        checks = [c for c in store.all_checks() if c.record is not None]
    assert checks
    for check in checks:
        assert check.record is not None
        where = (f"{check.run_id}/{check.record.warc_file}", check.record.offset)
        assert where in indexed, (check.url, where)


def journals_are_true(root: Path) -> None:
    """Each journal or manifest line with a record names that URL's record."""
    for journal in [
        *root.glob("**/manifest.jsonl.partial"),
        *root.glob("**/manifest.jsonl"),
    ]:
        for line in journal.read_text().splitlines():
            entry = json.loads(line)
            if not entry.get("warc_file"):
                continue
            record = record_at(
                journal.parent / entry["warc_file"], entry["warc_offset"]
            )
            assert record.rec_headers.get_header("WARC-Target-URI") == entry["url"]


def articles_are_copied(root: Path, articles: Path) -> None:
    """Every article file's bytes are the payload of some resource record."""
    wanted = {
        hashlib.sha256(p.read_bytes()).hexdigest(): p for p in articles.glob("*.txt")
    }
    found = set()
    for path in root.glob("**/*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "resource":
                    payload = record.content_stream().read()
                    found.add(hashlib.sha256(payload).hexdigest())
    missing = [p for digest, p in wanted.items() if digest not in found]
    assert not missing, missing
