"""Response heads are stored exactly as the server sent them (issue 14).

A raw-socket server on 127.0.0.1 answers with heads an HTTP parser tidies:
no space after the colon, padding and tabs, a folded line, a repeated
Content-Length, bare LF line ends, an interim 103 before the answer. A real
``archiver preserve`` fetches each, and the WARC record's HTTP block must
begin with the very bytes sent, followed by the body.
"""

from __future__ import annotations

import gzip
import socket
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.clirun import links_to, read_manifest, run_cli, write_article

BODY = b"<p>hello</p>"  # every answer's body has this length, each its own bytes
N = str(len(BODY)).encode()


def body_of(name: str) -> bytes:
    return f"<p>{name[:5]:.<5}</p>".encode()


HEADS: dict[str, bytes] = {
    "nospace": b"HTTP/1.1 200 OK\r\nContent-Type:text/html\r\nX-NoSpace:value\r\n"
    b"Content-Length: " + N + b"\r\n\r\n",
    "padding": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    b"X-Pad:   padded\t \r\nContent-Length:  " + N + b"\t\r\n\r\n",
    "folded": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Folded: first\r\n"
    b"\tsecond\r\nContent-Length: " + N + b"\r\n\r\n",
    "twice": b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
    b"Content-Length: " + N + b"\r\nContent-Length: " + N + b"\r\n\r\n",
    "bare-lf": b"HTTP/1.1 200 OK\nContent-Type: text/html\nX-Lf: yes\n"
    b"Content-Length: " + N + b"\n\n",
    "reason": b"HTTP/1.1 200 Fine By Me\r\nContent-Type: text/html\r\n"
    b"Content-Length: " + N + b"\r\n\r\n",
}
EARLY = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n"
TRAILER = b"X-Checksum: 0123abcd\r\nX-Signed:yes\r\n"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
)


def answer(path: str) -> bytes:
    name = path.strip("/").split("/")[0]
    body = body_of(name)
    if name in HEADS:
        return HEADS[name] + body
    if name == "article":
        return HEADS["nospace"] + body
    if name == "early":
        return EARLY + HEADS["nospace"] + body
    if name == "chunked":
        return CHUNKED + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    if name == "trailer":
        # Split into chunks of 5, 7 and 0 bytes (with an extension), then
        # two trailer fields, one without a space after its colon.
        return (
            CHUNKED + b"5;ext=1\r\n" + body[:5] + b"\r\n7\r\n" + body[5:]
            + b"\r\n0\r\n" + TRAILER + b"\r\n"
        )  # fmt: skip
    return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture
def raw_server() -> Iterator[int]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            path = data.split(b" ", 2)[1].decode()
            conn.sendall(answer(path))

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


def block_at(out: Path, warc_file: str, offset: int) -> bytes:
    """The record's block (HTTP head and body), read from its gzip member."""
    with (out / warc_file).open("rb") as stream:
        stream.seek(offset)
        member = zlib.decompressobj(wbits=31).decompress(stream.read(1 << 20))
    return member.split(b"\r\n\r\n", 1)[1]


def test_every_head_is_stored_as_sent(raw_server, tmp_path):
    names = [*HEADS, "early", "chunked", "trailer"]
    urls = {name: f"http://127.0.0.1:{raw_server}/{name}/x" for name in names}
    article = write_article(
        tmp_path / "a.txt",
        f"http://127.0.0.1:{raw_server}/article/",
        links_to(urls),
    )
    out = tmp_path / "out"
    done = run_cli(
        "preserve", str(article), "--out", str(out), "--allow-private",
        "--no-probe", "--no-requisites", "--retries", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(out)
    for name, url in urls.items():
        entry = manifest[url]
        assert entry["outcome"] == "alive", (name, entry["detail"])
        block = block_at(out, entry["warc_file"], entry["warc_offset"])
        if name in ("chunked", "trailer"):
            sent = CHUNKED.replace(
                b"Transfer-Encoding", b"X-Archiver-Orig-Transfer-Encoding"
            )
        elif name == "early":
            sent = HEADS["nospace"]  # the answer's head, not the interim one
        else:
            sent = HEADS[name]
        assert block.startswith(sent), (name, block[: len(sent) + 20])
        assert block[len(sent) :].startswith(body_of(name)), name
    # The trailer fields are kept beside the response, as sent, and only there.
    notes = {}
    for path in out.glob("*.warc.gz"):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                uri = record.rec_headers.get_header("WARC-Target-URI")
                if record.rec_type == "metadata" and not uri.startswith("urn:"):
                    notes[uri] = (record.rec_headers, record.content_stream().read())
    assert set(notes) == {urls["trailer"]}
    headers, fields = notes[urls["trailer"]]
    assert fields == b"trailer: X-Checksum: 0123abcd\r\ntrailer: X-Signed:yes\r\n"
    assert headers.get_header("WARC-Concurrent-To")
    # warcio still reads every record, and sees the parsed status and fields.
    for path in out.glob("*.warc.gz"):
        with gzip.open(path) as raw:
            raw.read()  # every member whole
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "response":
                    assert record.http_headers.get_statuscode() == "200"
                    assert len(record.content_stream().read()) == len(BODY)
    # and the digests of the exact blocks verify.
    warcio = "import sys; from warcio.cli import main; main(sys.argv[1:])"
    check = subprocess.run(
        [sys.executable, "-c", warcio, "check", "-v", *map(str, out.glob("*.warc.gz"))],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest fail" not in check.stdout
