"""Hops and WARC sinks made by hand, for tests of the WARC stage (no network)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from archiver.models import Body, Hop
from archiver.warc.writer import WarcSink

WHEN = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
RESPONSE_HEADERS = (
    (b"Content-Type", b"text/html; charset=utf-8"),
    (b"x-lower-case", b"kept"),
    (b"Set-Cookie", b"a=1"),
    (b"Set-Cookie", b"b=2"),
    (b"X-Odd", b"caf\xe9"),
    (b"Transfer-Encoding", b"chunked"),
)


def make_hop(tmp_path: Path, name: str, body: bytes, **body_flags: bool) -> Hop:
    path = tmp_path / f"{name}.body"
    path.write_bytes(body)
    return Hop(
        url=f"https://news.example/{name}",
        method="GET",
        target=f"/{name}?q=1",
        request_headers=((b"Host", b"news.example"), (b"User-Agent", b"test")),
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=RESPONSE_HEADERS,
        body=Body(
            path=path,
            length=len(body),
            truncated=body_flags.get("truncated", False),
            complete=body_flags.get("complete", True),
        ),
        peer_ip="192.0.2.7",
        started=WHEN,
    )


def sink(folder: Path, **kwargs) -> WarcSink:
    ids = (f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>" for n in itertools.count())
    return WarcSink(
        folder,
        info={"software": "test"},
        now=lambda: WHEN,
        make_id=lambda: next(ids),
        host="box-1",
        unique="cafe0001",
        **kwargs,
    )


def records(path: Path) -> list:
    out = []
    with path.open("rb") as stream:
        for record in ArchiveIterator(stream):
            body = record.raw_stream.read()
            out.append((record, body))
    return out


_CRASHING_WRITER = """
import json, os, sys
from pathlib import Path
from tests.warcfiles import make_hop, sink
folder = Path(sys.argv[1])
warc = sink(folder / "out")
sizes = enumerate(json.loads(sys.argv[2]))
hops = [make_hop(folder, f"p{n}", bytes([65 + n]) * size) for n, size in sizes]
refs = [warc.write_hop(hop) for hop in hops]
print(json.dumps([ref.offset for ref in refs]), flush=True)
os._exit(0)  # die like kill -9 would leave it: no close, no rename
"""


def write_open_file(tmp_path: Path, sizes: list[int]) -> tuple[Path, list[int]]:
    """A WARC left as .open by a process that died after writing its records."""
    done = subprocess.run(
        [sys.executable, "-c", _CRASHING_WRITER, str(tmp_path), json.dumps(sizes)],
        capture_output=True,
        text=True,
        check=True,
    )
    (path,) = (tmp_path / "out").glob("*.open")
    return path, json.loads(done.stdout)
