"""The index a run writes as it goes is cdxj-indexer's index of the same files.

A run no longer reads its WARC files back to index them
(``archiver.warc.index.WrittenIndex``): each record's line is made as it is
written. These tests hold that index against what ``cdxj-indexer`` makes of
the finished files, line for line: records written straight through the
sink (every kind of record and head it writes), and a real ``archiver
preserve`` run over the fake web (revisits, redirects, a truncated body, a
non-ASCII path, a chunked body with trailers).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.models import Body, Hop
from archiver.warc.index import INDEX_NAME, WrittenIndex, merge_run_indexes, write_cdxj
from archiver.warc.writer import WarcSink
from tests.clirun import run_cli
from tests.fakeweb.server import FakeWeb

WHEN = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(200)


def hop(
    n: int,
    url: str,
    *,
    status: int = 200,
    reason: str = "OK",
    headers: tuple[tuple[bytes, bytes], ...] = ((b"Content-Type", b"text/html"),),
    raw_head: bytes | None = None,
    data: bytes | None = None,
    truncated: bool = False,
    complete: bool = True,
    trailers: bytes | None = None,
) -> Hop:
    body = f"<p>page {n}</p>".encode() if data is None else data
    return Hop(
        url=url,
        method="GET",
        target="/" + url.split("/", 3)[3],
        request_headers=((b"Host", b"news.example"),),
        http_version="HTTP/1.1",
        status=status,
        reason=reason,
        response_headers=headers,
        body=Body(length=len(body), truncated=truncated, complete=complete, data=body),
        peer_ip="192.0.2.7",
        started=WHEN + timedelta(seconds=n),
        raw_head=raw_head,
        trailers=trailers,
    )


def every_kind_of_hop() -> list[Hop]:
    """Heads and records of every shape the sink writes."""
    return [
        hop(1, "https://news.example/a"),
        hop(2, "https://news.example/a-again", data=b"<p>page 1</p>"),  # revisit
        hop(3, "http://news.example/old", status=301, reason="Moved", data=b"",
            headers=((b"Location", b"/new"),)),  # a redirect, no type, no body
        hop(4, "https://news.example/typed", headers=(
            (b"content-type", b"Text/HTML charset=UTF-8;x"),)),
        hop(5, "https://news.example/raw", headers=((b"Content-Type", b"text/plain"),),
            raw_head=b"HTTP/1.1 200 Fine\nX-NoSpace:1\nContent-Type:  image/png; q=1\n"
            b"X-Folded: one\n  two\n\n", data=PNG),
        hop(6, "https://news.example/cut", truncated=True, data=b"x" * 100),
        hop(7, "https://news.example/torn", complete=False, data=b"y" * 100),
        hop(8, "https://news.example/caf%C3%A9?q=%E2%82%AC"),
        hop(9, "https://news.example/ünïcode/ß", headers=(
            (b"Content-Type", b"text/html; charset=\xe9"),)),
        hop(10, "https://news.example/chunked", headers=(
            (b"Content-Type", b"text/html"), (b"Transfer-Encoding", b"chunked")),
            trailers=b"X-Checksum: 1\r\n"),
        hop(11, "https://news.example/empty-type", headers=((b"Content-Type", b""),)),
        hop(12, "https://news.example/gone", status=404, reason="Not Found",
            headers=()),
        hop(13, "https://news.example/twice", data=PNG),  # a revisit of /raw
    ]  # fmt: skip


def write_folder(folder: Path, index: WrittenIndex | None, max_size: int) -> None:
    sink = WarcSink(
        folder,
        prefix="run" if index is not None else "earlier",
        info={"software": "test"},
        max_file_size=max_size,
        index=index,
    )
    sink.write_article(
        "urn:archiver:article:sha256:00", b"# An article\n", WHEN,
        [("https://news.example/a", "L a/@href")], [("title", "An article")],
    )  # fmt: skip
    for each in every_kind_of_hop():
        sink.write_hop(each)
    sink.write_resources(
        "https://news.example/a",
        WHEN,
        [("urn:screenshot:https://news.example/a", "image/png", PNG)],
        [("render", "chromium")],
    )
    sink.close()


def test_a_written_index_is_the_indexers_index_of_the_same_files(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "out"
    write_folder(folder, None, max_size=1500)  # an earlier run's files, beside
    written = WrittenIndex(folder)
    write_folder(folder, written, max_size=1500)  # rolled over, many files
    ours = merge_run_indexes(folder, written=written).read_text(encoding="utf-8")
    files = sorted(folder.glob("*.warc.gz"))
    run = [f for f in files if f.name.startswith("run")]
    assert len(run) > 3
    assert all(written.covers(f.name) for f in run)  # none was read back
    written.close()
    (tmp_path / "reference").mkdir()
    reference = write_cdxj(files, tmp_path / "reference" / INDEX_NAME)
    theirs = reference.read_text(encoding="utf-8")
    # The same files named the same way: the reference is kept elsewhere.
    theirs = theirs.replace('"filename": "../out/', '"filename": "')
    assert ours.splitlines() == theirs.splitlines()
    assert '"mime": "warc/revisit"' in ours
    assert "urn:screenshot:" in ours
    assert "urn:archiver:article" in ours


def test_a_file_with_a_block_that_failed_midway_is_read_back(tmp_path: Path) -> None:
    """Records of a failed block may be whole in the file: the indexer reads it."""
    folder = tmp_path / "out"
    written = WrittenIndex(tmp_path)
    sink = WarcSink(folder, info={"software": "test"}, index=written)
    sink.write_hop(hop(1, "https://news.example/a"))
    broken = hop(2, "https://news.example/b", trailers="not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sink.write_hop(broken)  # its response record is written, then it fails
    sink.write_hop(hop(3, "https://news.example/c"))
    sink.close()
    (name,) = [p.name for p in sink.closed_files]
    assert not written.covers(name)
    ours = merge_run_indexes(folder, written=written).read_text(encoding="utf-8")
    written.close()
    assert "news.example/b" in ours
    reference = write_cdxj(sink.closed_files, tmp_path / "ref.cdxj").read_text()
    assert ours == reference.replace('"filename": "out/', '"filename": "')


def test_a_preserve_runs_index_is_the_indexers(
    fakeweb: FakeWeb, tmp_path: Path
) -> None:
    urls = [
        fakeweb.url("/page/written-index"),
        fakeweb.https_url("/page/written-index-tls"),
        fakeweb.url("/image/one.png"),
        fakeweb.url("/image/two.png"),  # the same payload: a revisit
        fakeweb.url("/redirect/301/2/written-index"),
        fakeweb.url("/huge/70000/written-index"),  # cut at --max-size
        fakeweb.url("/chunked/written-index"),
        fakeweb.url("/page/caf\u00e9-\u00fcber"),
        fakeweb.url("/status/404/written-index"),
    ]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    links = "".join(f'<p><a href="{url}">link</a></p>' for url in urls)
    (seeds / "a.txt").write_text(
        f"<!--1729735621000-->\n[Article]({urls[0]})\n------\n\n{links}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    done = run_cli(
        "preserve",
        str(seeds),
        "--out",
        str(out),
        "--allow-private",
        "--ca-bundle",
        str(fakeweb.ca_pem),
        "--timeout",
        "5",
        "--max-size",
        "20000",
    )
    assert done.returncode in (0, 1), done.stderr
    ours = (out / INDEX_NAME).read_text(encoding="utf-8")
    files = sorted(out.glob("*.warc.gz"))
    theirs = write_cdxj(files, tmp_path / INDEX_NAME).read_text(encoding="utf-8")
    assert ours.splitlines() == [
        line.replace('"filename": "out/', '"filename": "')
        for line in theirs.splitlines()
    ]
    assert '"mime": "warc/revisit"' in ours
    assert '"status": "301"' in ours
