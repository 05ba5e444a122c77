"""Write WARC/1.1 files: one gzip member per record, rolled over by size.

warcio builds the records and their digests; this module decides what goes in
them and keeps files safe: a file is written as ``NAME.warc.gz.open`` and
renamed when closed, and every record is flushed as it is written, so a crash
leaves whole records followed by at most one torn one. Everything here blocks;
the pipeline calls it from one worker thread.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import re
import secrets
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Final

from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from archiver.bodies import open_body
from archiver.clock import Clock, now as clock_now
from archiver.errors import ArchiveWriteError
from archiver.models import Body, Capture, Hop, RawHeaders, RecordRef
from archiver.warc.captures import Captures
from archiver.warc.index import Unindexable, WrittenIndex, entry

OPEN_SUFFIX: Final = ".open"
DEFAULT_MAX_FILE_SIZE: Final = 1_000_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class WarcSettings:
    """How a run's WARC files are named, cut and signed."""

    prefix: str = "archiver"  # the first part of every file name
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # a new file starts past this size
    operator: str | None = None  # who runs the archive, in each warcinfo record


# The response record's HTTP message is stored de-chunked (warcio and pywb
# expect a plain body, and the payload digest is over the de-chunked entity),
# so the header that said otherwise is kept under a name replay tools ignore.
RENAMED_HEADERS: Final = {b"transfer-encoding": b"X-Archiver-Orig-Transfer-Encoding"}


def _name_part(text: str) -> str:
    """A host name made safe for a file name (no separators, never empty)."""
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("._") or "host"


class _ExactHeaders(StatusAndHeaders):  # type: ignore[misc]
    """HTTP headers whose bytes go into the record exactly as they were.

    warcio re-serialises headers (percent-encoding non-ASCII values); evidence
    must hold what the server sent, so the buffer is fixed at construction.
    """

    def __init__(self, block: bytes, statusline: str, headers: list[tuple[str, str]]):
        super().__init__(statusline, headers, protocol="")
        self.headers_buff = block

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        return None


def _header_block(first_line: str, headers: RawHeaders) -> bytes:
    lines = [first_line.encode("latin-1")]
    lines += [name + b": " + value for name, value in headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _decoded(headers: RawHeaders) -> list[tuple[str, str]]:
    return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers]


def _stored_response_headers(headers: RawHeaders) -> RawHeaders:
    return tuple((RENAMED_HEADERS.get(k.lower(), k), v) for k, v in headers)


def _record_id() -> str:
    return f"<urn:uuid:{uuid.uuid4()}>"


def _warc_date(when: datetime) -> str:
    return str(datetime_to_iso_date(when.astimezone(UTC).replace(tzinfo=None), True))


@dataclass(slots=True)
class _OpenFile:
    """The file being written: its handle, its ``.open`` path and its warcinfo."""

    handle: BinaryIO  # unbuffered: a failed write leaves nothing queued behind
    path: Path
    writer: WARCWriter
    warcinfo_id: str
    whole_end: int = 0  # where the last whole, flushed record ends
    entries: list[list[object]] = field(default_factory=list)  # not yet whole
    unindexable: bool = False

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(OPEN_SUFFIX)


class WarcSink:
    """Appends records to rolling WARC files in one folder.

    Args:
        folder: where files go; created if missing.
        prefix: first part of every file name.
        info: the fields of each file's ``warcinfo`` record.
        max_file_size: a file that reaches this size is closed and another begun.
        now, make_id: the clock and record-ID source, replaceable in tests.
        host, unique: the machine's name and this writer's random part of every
            file name, replaceable in tests.
        index: where each record's index entry goes as it is written, so the
            run's index need not read the files back.

    Names follow the IIPC/Heritrix convention,
    ``PREFIX-TIMESTAMP17-SERIAL-HOST-TOKEN.warc.gz``: the host and a random
    token per writer keep names unique across runs in the same second and
    across machines, so collections merge without clashes.
    """

    def __init__(
        self,
        folder: Path,
        *,
        prefix: str = "archiver",
        info: Mapping[str, str],
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        now: Clock = clock_now,
        make_id: Callable[[], str] = _record_id,
        host: str | None = None,
        unique: str | None = None,
        index: WrittenIndex | None = None,
    ) -> None:
        self._folder = folder
        self._index = index
        self._prefix = prefix
        self._info = dict(info)
        self._max = max_file_size
        self._now = now
        self._make_id = make_id
        self._serial = 0
        self._host = _name_part(socket.gethostname() if host is None else host)
        self._unique = secrets.token_hex(4) if unique is None else unique
        self._current: _OpenFile | None = None
        self._captures = Captures()  # on disk: one per response would add up
        self.closed_files: list[Path] = []

    def remember(self, digest: str, capture: Capture) -> None:
        """Say that a payload with ``digest`` is already archived (an earlier run)."""
        self._captures.put(digest, capture, replace=False)

    def write_hop(self, hop: Hop) -> RecordRef:
        """Write a response (or a revisit) and its request; return where it starts.

        A complete payload already archived, in this run or one given to
        :meth:`remember`, is written as a ``revisit`` record (profile
        identical-payload-digest) that points at the first capture, instead of
        the same bytes again.
        """
        digest = payload_digest(hop.body) if _dedupable(hop) else None
        date = _warc_date(hop.started)
        earlier = self._captures.get(digest) if digest else None
        if earlier is not None and earlier.date > date:
            # Fetched before the capture that was written first (requests run
            # at once): a revisit must not refer to a later capture, so this
            # one is written in full. Both dates come from one format.
            earlier = None
        with self._writing() as current:
            response_id = self._make_id()
            common = {
                "WARC-Date": date,
                "WARC-Warcinfo-ID": current.warcinfo_id,
            }
            if hop.peer_ip:
                common["WARC-IP-Address"] = hop.peer_ip
            offset = current.handle.tell()
            if digest is not None and earlier is not None:
                response = _revisit_record(
                    current.writer,
                    hop,
                    digest,
                    earlier,
                    {**common, "WARC-Record-ID": response_id},
                )
                self._put(current, response)
            else:
                with open_body(hop.body) as body:
                    response = _response_record(
                        current.writer,
                        hop,
                        body,
                        {**common, "WARC-Record-ID": response_id},
                    )
                    self._put(current, response)
                if digest is not None:  # the earliest capture yet of it
                    self._captures.put(
                        digest, Capture(uri=hop.url, date=date, record_id=response_id)
                    )
            if hop.trailers:
                self._put(
                    current,
                    _trailer_record(
                        current.writer, hop, common, response_id, self._make_id()
                    ),
                )
            request_line = f"{hop.method} {hop.target} HTTP/1.1"
            request = current.writer.create_warc_record(
                hop.url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=_ExactHeaders(
                    _header_block(request_line, hop.request_headers),
                    request_line,
                    _decoded(hop.request_headers),
                ),
                warc_headers_dict={
                    **common,
                    "WARC-Record-ID": self._make_id(),
                    "WARC-Concurrent-To": response_id,
                },
            )
            self._put(current, request)
        return RecordRef(
            warc_file=current.name,
            offset=offset,
            payload_digest=response.rec_headers.get_header("WARC-Payload-Digest"),
            revisit_of=earlier,
            date=common["WARC-Date"],
        )

    def write_article(
        self,
        uri: str,
        data: bytes,
        when: datetime,
        outlinks: Sequence[tuple[str, str]],
        about: Sequence[tuple[str, str]] = (),
    ) -> RecordRef:
        """Store an article file itself, and the links it cites, in the archive.

        The file goes in a ``resource`` record under its own URI
        (:func:`article_uri`), never the article's live URL: replay of that
        URL must show the page as it was, not the markdown file archived the
        same second. A ``metadata`` record beside it holds ``about`` (the
        live URL, the file, the title) and lists the outlinks, one
        ``outlink: URL HOP CONTEXT`` field each (``L a/@href``), as Heritrix
        writes them.
        """
        with self._writing() as current:
            offset = current.handle.tell()
            written = self._resources_and_note(
                current,
                uri,
                when,
                [(uri, "text/markdown; charset=utf-8", data)],
                [
                    *about,
                    *(("outlink", f"{url} {how}") for url, how in outlinks),
                ],
            )
        return RecordRef(
            warc_file=current.name,
            offset=offset,
            payload_digest=written[0].rec_headers.get_header("WARC-Payload-Digest"),
        )

    def write_resources(
        self,
        uri: str,
        when: datetime,
        resources: Sequence[tuple[str, str, bytes]],
        fields: Sequence[tuple[str, str]],
    ) -> list[str]:
        """Store things made from ``uri`` (not fetched), and a note about them.

        Each ``(target URI, content type, bytes)`` becomes a ``resource``
        record (a screenshot as ``urn:screenshot:URL``, as Browsertrix names
        it); then one ``metadata`` record for ``uri`` holds ``fields``
        (``name: value`` lines), concurrent to the first resource. Returns
        the record IDs, resources first.
        """
        with self._writing() as current:
            written = self._resources_and_note(current, uri, when, resources, fields)
        return [record.rec_headers.get_header("WARC-Record-ID") for record in written]

    def _resources_and_note(
        self,
        current: _OpenFile,
        uri: str,
        when: datetime,
        resources: Sequence[tuple[str, str, bytes]],
        fields: Sequence[tuple[str, str]],
    ) -> list[ArcWarcRecord]:
        """``resource`` records, then a ``metadata`` record for ``uri``.

        Every record after the first is concurrent to it. Returns the records
        in the order written.
        """
        common = {
            "WARC-Date": _warc_date(when),
            "WARC-Warcinfo-ID": current.warcinfo_id,
        }
        lines = "".join(f"{name}: {_field(value)}\r\n" for name, value in fields)
        note = ("metadata", uri, "application/warc-fields", lines.encode("utf-8"))
        made = [("resource", *resource) for resource in resources]
        written: list[ArcWarcRecord] = []
        for kind, target, content_type, data in (*made, note):
            extra = (
                {
                    "WARC-Concurrent-To": written[0].rec_headers.get_header(
                        "WARC-Record-ID"
                    )
                }
                if written
                else {}
            )
            record = current.writer.create_warc_record(
                target,
                kind,
                payload=io.BytesIO(data),
                length=len(data),
                warc_content_type=content_type,
                warc_headers_dict={
                    **common,
                    "WARC-Record-ID": self._make_id(),
                    **extra,
                },
            )
            self._put(current, record)
            written.append(record)
        return written

    def _put(self, current: _OpenFile, record: ArcWarcRecord) -> None:
        """Write ``record``, and keep its index entry until the block is whole."""
        offset = current.handle.tell()
        current.writer.write_record(record)
        if self._index is None or current.unindexable:
            return
        try:
            made = entry(record, offset, current.handle.tell() - offset)
        except Unindexable:
            current.unindexable = True
            self._index.cannot(current.name)
            return
        if made is not None:
            current.entries.append(made)

    @contextmanager
    def _writing(self) -> Iterator[_OpenFile]:
        """The file to write the next records to; flushed after, errors translated.

        Whole records reach the file when the block ends, so a crash loses at
        most the records being written; :meth:`sync` makes them durable.
        """
        try:
            current = self._file_with_room()
        except OSError as exc:
            where = self._current.path if self._current else self._folder
            raise ArchiveWriteError(f"{where}: cannot write WARC: {exc}") from exc
        try:
            yield current
            current.handle.flush()
        except OSError as exc:
            current.entries.clear()  # their records are cut off
            raise ArchiveWriteError(
                f"{current.path}: cannot write WARC ({exc.strerror or exc}); "
                + self._cut_back(current)
            ) from exc
        except BaseException:
            # Some of the block's records may be whole in the file: only
            # reading it back can tell which.
            current.entries.clear()
            current.unindexable = True
            if self._index is not None:
                self._index.cannot(current.name)
            raise
        current.whole_end = current.handle.tell()
        if self._index is not None and not current.unindexable:
            self._index.add(current.name, current.entries)
        current.entries.clear()

    def _cut_back(self, current: _OpenFile) -> str:
        """After a failed write: keep the file's whole records, under its name.

        Truncating frees space, so this works on a full disk too. The file
        is then closed like any other; if even this fails it stays ``.open``
        and the next run's repair cuts it. Returns what was done, for the
        error message.
        """
        self._current = None
        final = current.path.with_name(current.name)
        try:
            os.ftruncate(current.handle.fileno(), current.whole_end)
            os.fsync(current.handle.fileno())
            current.handle.close()
            current.path.rename(final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                current.handle.close()
            return f"it stays {current.path.name} for the next run to repair ({exc})"
        self.closed_files.append(final)
        return f"{final.name} was cut back to its last whole record"

    def sync(self) -> None:
        """Make every record written so far durable (before the store says so)."""
        if self._current is not None:
            try:
                os.fsync(self._current.handle.fileno())
            except OSError as exc:
                raise ArchiveWriteError(
                    f"{self._current.path}: cannot sync WARC: {exc}"
                ) from exc

    def close(self) -> None:
        """Finish the current file: flush, sync, and drop its ``.open`` suffix."""
        current, self._current = self._current, None
        if current is None:
            return
        final = current.path.with_name(current.name)
        try:
            current.handle.flush()
            os.fsync(current.handle.fileno())
            current.handle.close()
            current.path.rename(final)
        except OSError as exc:
            raise ArchiveWriteError(
                f"{current.path}: cannot close WARC: {exc}"
            ) from exc
        self.closed_files.append(final)

    def _file_with_room(self) -> _OpenFile:
        if self._current is not None and self._current.handle.tell() >= self._max:
            self.close()
        if self._current is None:
            self._current = self._open_next()
        return self._current

    def _open_next(self) -> _OpenFile:
        self._folder.mkdir(parents=True, exist_ok=True)
        when = self._now().astimezone(UTC)
        stamp = when.strftime("%Y%m%d%H%M%S") + f"{when.microsecond // 1000:03d}"
        while True:
            self._serial += 1
            name = (
                f"{self._prefix}-{stamp}-{self._serial:05d}"
                f"-{self._host}-{self._unique}.warc.gz"
            )
            path = self._folder / (name + OPEN_SUFFIX)
            if not (self._folder / name).exists() and not path.exists():
                break
        handle = path.open("xb", buffering=0)
        try:
            return self._begin(handle, path, name)
        except OSError:
            handle.close()
            path.unlink(missing_ok=True)  # holds no record of value yet
            raise

    def _begin(self, handle: BinaryIO, path: Path, name: str) -> _OpenFile:
        """Write the ``warcinfo`` record that opens every file."""
        writer = WARCWriter(handle, gzip=True, warc_version="1.1")
        current = _OpenFile(handle, path, writer, self._make_id())
        fields = {"hostname": socket.gethostname(), **self._info}
        payload = "".join(f"{k}: {v}\r\n" for k, v in fields.items()).encode()
        record = writer.create_warc_record(
            "",
            "warcinfo",
            payload=io.BytesIO(payload),
            length=len(payload),
            warc_content_type="application/warc-fields",
            warc_headers_dict={
                "WARC-Record-ID": current.warcinfo_id,
                "WARC-Date": _warc_date(self._now()),
                "WARC-Filename": name,
            },
        )
        writer.write_record(record)
        current.whole_end = handle.tell()
        return current


def article_uri(sha256: str) -> str:
    """The URI an article file is archived under: its content, not its page.

    A URN, as Browsertrix names what it made rather than fetched, so no
    replay tool mistakes the file for the live page it describes.
    """
    return f"urn:archiver:article:sha256:{sha256}"


def _field(value: str) -> str:
    """A field value on one line: a line break would start a field of its own."""
    return " ".join(value.split())


def payload_digest(body: Body) -> str:
    """``sha1:<base32>`` of a body as received, as WARC-Payload-Digest spells it."""
    digest = hashlib.sha1(usedforsecurity=False)
    if body.path is None:
        digest.update(body.data)
    else:
        with open_body(body) as stream:
            while block := stream.read(1024 * 1024):
                digest.update(block)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def _dedupable(hop: Hop) -> bool:
    # Only whole payloads stand for each other; an empty one says nothing.
    return hop.body.complete and not hop.body.truncated and hop.body.length > 0


def _revisit_record(
    writer: WARCWriter,
    hop: Hop,
    digest: str,
    earlier: Capture,
    common: dict[str, str],
) -> ArcWarcRecord:
    headers = dict(common)
    if earlier.record_id:
        headers["WARC-Refers-To"] = earlier.record_id
    return writer.create_revisit_record(
        hop.url,
        digest,
        earlier.uri,
        earlier.date,
        http_headers=_response_headers(hop),
        warc_headers_dict=headers,
    )


def _trailer_record(
    writer: WARCWriter,
    hop: Hop,
    common: dict[str, str],
    response_id: str,
    record_id: str,
) -> ArcWarcRecord:
    """A chunked body's trailer fields, which the response record cannot hold.

    The response is stored de-chunked, so there is no place after its body
    for fields sent after it; a ``metadata`` record concurrent to it keeps
    each as ``trailer: NAME: VALUE``, the line as the server sent it.
    """
    lines = (hop.trailers or b"").splitlines()
    payload = b"".join(b"trailer: " + line.strip(b"\r\n") + b"\r\n" for line in lines)
    return writer.create_warc_record(
        hop.url,
        "metadata",
        payload=io.BytesIO(payload),
        length=len(payload),
        warc_content_type="application/warc-fields",
        warc_headers_dict={
            **common,
            "WARC-Record-ID": record_id,
            "WARC-Concurrent-To": response_id,
        },
    )


def _response_record(
    writer: WARCWriter, hop: Hop, body: BinaryIO, common: dict[str, str]
) -> ArcWarcRecord:
    headers = dict(common)
    if hop.body.truncated:
        headers["WARC-Truncated"] = "length"
    elif not hop.body.complete:
        headers["WARC-Truncated"] = "disconnect"
    return writer.create_warc_record(
        hop.url,
        "response",
        payload=body,
        length=hop.body.length,
        http_headers=_response_headers(hop),
        warc_headers_dict=headers,
    )


def _response_headers(hop: Hop) -> _ExactHeaders:
    """The response's status line and headers as received, for a record.

    The bytes read from the socket where the fetcher kept them (spacing,
    folded lines and bare LF line ends as the server sent them); else the
    parsed headers, written out again. Either way a ``Transfer-Encoding``
    field is renamed, since the body is stored de-chunked.
    """
    status_line = f"{hop.http_version} {hop.status} {hop.reason}".rstrip()
    stored = _stored_response_headers(hop.response_headers)
    if hop.raw_head is not None:
        block = _TRANSFER_ENCODING.sub(
            RENAMED_HEADERS[b"transfer-encoding"], hop.raw_head
        )
    else:
        block = _header_block(status_line, stored)
    return _ExactHeaders(block, f"{hop.status} {hop.reason}".rstrip(), _decoded(stored))


# A Transfer-Encoding field's name at the start of a header line.
_TRANSFER_ENCODING: Final = re.compile(rb"(?im)(?<=\n)transfer-encoding(?=[ \t]*:)")
