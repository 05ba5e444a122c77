"""Put back in order what a crash left: WARC files still named ``.open``.

A file is written one gzip member per record and flushed after each, so a
crash (even ``kill -9``) leaves whole records followed by at most one torn
member. Repair keeps every whole record, cuts the file back to the end of the
last one and gives it its final name; nothing complete is lost and nothing is
written twice. Files are read in blocks, so a 1 GB file costs little memory.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from archiver.errors import ArchiveWriteError
from archiver.warc.index import INDEX_NAME
from archiver.warc.writer import OPEN_SUFFIX

_BLOCK = 1024 * 1024
_HEAD_LIMIT = 64 * 1024  # WARC headers are far shorter than this


@dataclass(frozen=True, slots=True, kw_only=True)
class Repair:
    """What became of one ``.open`` file."""

    path: Path  # the final name, or the .open name when nothing was kept
    records: int  # whole records kept
    dropped_bytes: int  # the torn tail cut off
    removed: bool  # no whole record at all: the file was deleted

    def describe(self) -> str:
        """One log line saying what was done, for the person running archiver."""
        if self.removed:
            return f"removed {self.path}: a crashed run left no whole record in it"
        return (
            f"repaired {self.path}: kept {self.records} whole records, cut "
            f"{self.dropped_bytes} bytes a crashed run left half-written"
        )


def repair_folder(folder: Path) -> list[Repair]:
    """Repair what the last run in ``folder`` (not below it) may have left torn.

    Every ``*.warc.gz.open`` file is cut back to its whole records and
    renamed. A closed file that ``index.cdxj`` does not list was never
    verified by a finished run (the run stopped before indexing, or an older
    version of archiver closed it after a failed write): its whole records are
    checked too, and a torn tail is cut, so the index written next never
    lists a record that is not whole.
    """
    repairs = [repair_file(path) for path in sorted(folder.glob(f"*{OPEN_SUFFIX}"))]
    indexed = _indexed_files(folder / INDEX_NAME)
    for path in sorted(folder.glob("*.warc.gz")):
        if path.name not in indexed:
            repair = _trim_closed(path)
            if repair is not None:
                repairs.append(repair)
    return repairs


def _indexed_files(index: Path) -> set[str]:
    """The WARC file names an ``index.cdxj`` lists (empty if there is none)."""
    names: set[str] = set()
    try:
        with index.open(encoding="utf-8") as lines:
            for line in lines:
                _, _, fields = line.partition(" {")
                try:
                    name = json.loads("{" + fields).get("filename")
                except ValueError:
                    continue
                if isinstance(name, str):
                    names.add(name)
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveWriteError(f"{index}: cannot read: {exc}") from exc
    return names


def _trim_closed(path: Path) -> Repair | None:
    """Cut a closed file's torn tail, if it has one; None when it is whole."""
    try:
        size = path.stat().st_size
        ends = list(_record_ends(path))
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot repair: {exc}") from exc
    if ends and ends[-1] == size:
        return None
    return _keep_whole(path, ends, size, final=path)


def repair_file(path: Path) -> Repair:
    """Cut ``path`` back to its last whole record and drop the ``.open`` suffix."""
    try:
        size = path.stat().st_size
        ends = list(_record_ends(path))
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot repair: {exc}") from exc
    final = path.with_name(path.name.removesuffix(OPEN_SUFFIX))
    return _keep_whole(path, ends, size, final=final)


def _keep_whole(path: Path, ends: list[int], size: int, *, final: Path) -> Repair:
    """Truncate ``path`` after its last whole record and name it ``final``.

    A file with no whole record is deleted.
    """
    keep = ends[-1] if ends else 0
    try:
        if keep == 0:
            path.unlink()
            return Repair(path=path, records=0, dropped_bytes=size, removed=True)
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
        if final != path:
            path.rename(final)
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot repair: {exc}") from exc
    return Repair(
        path=final, records=len(ends), dropped_bytes=size - keep, removed=False
    )


def cut_after_unit(path: Path, offset: int | None) -> int:
    """Cut ``path`` back to the end of the fetch written at ``offset``.

    A fetch's records are its response (or revisit) followed by its request;
    everything after them is cut. ``offset`` None keeps only the records
    that open the file before any fetch: the warcinfo and the archived
    article files (``resource`` and ``metadata``). This is how a resumed run
    drops records whose checks a crash kept from reaching the store: they are
    fetched again, never written twice. Returns the bytes cut.
    """
    members = list(_members(path))
    if not members:
        return 0
    leading = 0
    while leading + 1 < len(members) and members[leading + 1].kind in _PREAMBLE:
        leading += 1
    keep = members[leading].end
    if offset is not None:
        index = next((i for i, m in enumerate(members) if m.start == offset), None)
        if index is None:
            raise ArchiveWriteError(f"{path}: no record starts at offset {offset}")
        keep = members[index].end
        following = members[index + 1] if index + 1 < len(members) else None
        if following is not None and following.kind == "request":
            keep = following.end
    try:
        size = path.stat().st_size
        with path.open("r+b") as handle:
            handle.truncate(keep)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise ArchiveWriteError(f"{path}: cannot cut back: {exc}") from exc
    return size - keep


_PREAMBLE = frozenset({"resource", "metadata"})


def record_count(path: Path) -> int:
    """How many whole records ``path`` holds."""
    return sum(1 for _ in _record_ends(path))


@dataclass(frozen=True, slots=True)
class _Span:
    start: int
    end: int
    kind: str  # WARC-Type


def _members(path: Path) -> Iterator[_Span]:
    start = 0
    for end, kind in _whole_records(path):
        yield _Span(start, end, kind)
        start = end


def _record_ends(path: Path) -> Iterator[int]:
    """Byte offsets where each whole, well-formed record's gzip member ends."""
    for end, _kind in _whole_records(path):
        yield end


def _whole_records(path: Path) -> Iterator[tuple[int, str]]:
    """(end offset, WARC-Type) of each whole, well-formed record, in order."""
    with path.open("rb") as handle:
        member = _Member()
        pending = b""
        position = 0  # file offset of the first byte of ``pending``
        while True:
            if not pending:
                pending = handle.read(_BLOCK)
                if not pending:
                    return  # the file ends: a member still open is the torn tail
            try:
                used = member.feed(pending)
            except zlib.error:
                return  # garbage where a member should be: the torn tail
            position += used
            pending = pending[used:]
            if member.finished:
                if not member.well_formed():
                    return
                yield position, member.kind()
                member = _Member()


class _Member:
    """One gzip member being decompressed: counts its output, keeps its head."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._head = b""
        self._length = 0
        self.finished = False

    def feed(self, data: bytes) -> int:
        """Decompress from ``data``; return how many input bytes this member used."""
        out = self._inflate.decompress(data)
        self._length += len(out)
        if len(self._head) < _HEAD_LIMIT:
            self._head += out[: _HEAD_LIMIT - len(self._head)]
        if self._inflate.eof:
            self.finished = True
            return len(data) - len(self._inflate.unused_data)
        return len(data)

    def kind(self) -> str:
        for line in self._head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"warc-type":
                return value.strip().decode("ascii", "replace")
        return ""

    def well_formed(self) -> bool:
        """A WARC record whose block is as long as its Content-Length says."""
        if not self._head.startswith(b"WARC/"):
            return False
        head_end = self._head.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        length = None
        for line in self._head[:head_end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    return False
        return length is not None and self._length == head_end + 4 + length + 4
