"""WarcSink: records as warcio reads back, exact header bytes, roll-over, naming."""

from __future__ import annotations

import gzip
import random
from dataclasses import replace
from datetime import timedelta

from warcio.archiveiterator import ArchiveIterator

from archiver.models import Capture
from archiver.warc.writer import WarcSink, payload_digest
from tests.warcfiles import WHEN, make_hop, records, sink

ONE_SECOND = timedelta(seconds=1)


def test_response_and_request_are_written_as_received(tmp_path):
    warcs = tmp_path / "warcs"
    writer = sink(warcs)
    ref = writer.write_hop(make_hop(tmp_path, "page", b"<html>hello</html>"))
    writer.close()
    (path,) = writer.closed_files
    assert path.name == "archiver-20260304050607123-00001-box_1-cafe0001.warc.gz"
    assert ref.warc_file == path.name
    assert not list(warcs.glob("*.open"))
    (info, _), (response, body), (request, _) = records(path)
    assert info.rec_type == "warcinfo"
    assert info.rec_headers.get_header("WARC-Filename") == path.name
    assert response.rec_type == "response"
    assert body == b"<html>hello</html>"
    headers = response.rec_headers
    assert headers.get_header("WARC-Date") == "2026-03-04T05:06:07.123456Z"
    assert headers.get_header("WARC-IP-Address") == "192.0.2.7"
    assert headers.get_header("WARC-Warcinfo-ID") == info.rec_headers.get_header(
        "WARC-Record-ID"
    )
    assert headers.get_header("WARC-Payload-Digest") == ref.payload_digest
    assert request.rec_type == "request"
    assert request.rec_headers.get_header("WARC-Concurrent-To") == headers.get_header(
        "WARC-Record-ID"
    )
    stored = gzip.decompress(path.read_bytes())
    assert (
        b"GET /page?q=1 HTTP/1.1\r\nHost: news.example\r\nUser-Agent: test\r\n\r\n"
    ) in stored
    assert (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"x-lower-case: kept\r\n"
        b"Set-Cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\n"
        b"X-Odd: caf\xe9\r\n"
        b"X-Archiver-Orig-Transfer-Encoding: chunked\r\n\r\n"
        b"<html>hello</html>"
    ) in stored


def test_offsets_point_at_each_response(tmp_path):
    writer = sink(tmp_path / "w")
    refs = [
        writer.write_hop(make_hop(tmp_path, f"p{n}", b"x" * (n * 1000)))
        for n in range(5)
    ]
    writer.close()
    for n, ref in enumerate(refs):
        with (tmp_path / "w" / ref.warc_file).open("rb") as stream:
            stream.seek(ref.offset)
            record = next(iter(ArchiveIterator(stream)))
            assert record.rec_headers.get_header("WARC-Target-URI").endswith(f"/p{n}")
            assert record.raw_stream.read() == b"x" * (n * 1000)


def test_files_roll_over_at_the_size_limit(tmp_path):
    writer = sink(tmp_path / "w", max_file_size=2000)
    refs = [
        writer.write_hop(make_hop(tmp_path, f"p{n}", random.Random(n).randbytes(3000)))
        for n in range(3)
    ]
    writer.close()
    names = [p.name for p in writer.closed_files]
    assert names == [
        "archiver-20260304050607123-00001-box_1-cafe0001.warc.gz",
        "archiver-20260304050607123-00002-box_1-cafe0001.warc.gz",
        "archiver-20260304050607123-00003-box_1-cafe0001.warc.gz",
    ]
    assert [r.warc_file for r in refs] == names
    for path in writer.closed_files:
        kinds = [r.rec_type for r, _ in records(path)]
        assert kinds == ["warcinfo", "response", "request"]


def test_truncation_is_marked(tmp_path):
    writer = sink(tmp_path / "w")
    writer.write_hop(make_hop(tmp_path, "cut", b"abc", truncated=True))
    writer.write_hop(make_hop(tmp_path, "broken", b"abc", complete=False))
    writer.close()
    found = {
        r.rec_headers.get_header("WARC-Target-URI"): r.rec_headers.get_header(
            "WARC-Truncated"
        )
        for r, _ in records(writer.closed_files[0])
        if r.rec_type == "response"
    }
    assert found == {
        "https://news.example/cut": "length",
        "https://news.example/broken": "disconnect",
    }


def test_existing_names_are_never_overwritten(tmp_path):
    folder = tmp_path / "w"
    folder.mkdir()
    taken = folder / "archiver-20260304050607123-00001-box_1-cafe0001.warc.gz"
    taken.write_bytes(b"keep me")
    writer = sink(folder)
    writer.write_hop(make_hop(tmp_path, "p", b"body"))
    writer.close()
    assert writer.closed_files[0].name.endswith("-00002-box_1-cafe0001.warc.gz")
    assert taken.read_bytes() == b"keep me"


def test_two_runs_in_the_same_millisecond_never_share_a_file_name(tmp_path):
    """Runs on one machine (or two) in the same instant, into any folders."""
    names = []
    for folder in ("a", "b"):
        writer = WarcSink(tmp_path / folder, info={}, now=lambda: WHEN)
        writer.write_hop(make_hop(tmp_path, "p", b"body"))
        writer.close()
        names += [p.name for p in writer.closed_files]
    assert len(set(names)) == 2
    prefix, stamp, serial, host, token = names[0].removesuffix(".warc.gz").split("-")
    assert (prefix, stamp, serial) == ("archiver", "20260304050607123", "00001")
    assert host
    assert len(token) == 8


def test_identical_payload_is_written_once_then_as_revisits(tmp_path):
    out = tmp_path / "out"
    warc = sink(out)
    first = warc.write_hop(make_hop(tmp_path, "a", b"same picture"))
    second = warc.write_hop(make_hop(tmp_path, "b", b"same picture"))
    cut = warc.write_hop(make_hop(tmp_path, "c", b"same picture", truncated=True))
    warc.remember("sha1:" + "A" * 32, Capture(uri="https://old.example/x", date="2020"))
    warc.close()
    assert first.revisit_of is None
    assert second.revisit_of is not None
    assert second.revisit_of.uri == "https://news.example/a"
    assert second.revisit_of.date == "2026-03-04T05:06:07.123456Z"
    assert cut.revisit_of is None  # a cut body stands for nothing else
    assert first.payload_digest == second.payload_digest
    (path,) = warc.closed_files
    with path.open("rb") as stream:
        stream.seek(second.offset)
        record = next(iter(ArchiveIterator(stream)))
        assert record.rec_type == "revisit"
        headers = record.rec_headers
        assert (
            headers.get_header("WARC-Refers-To-Target-URI") == "https://news.example/a"
        )
        assert (
            headers.get_header("WARC-Refers-To-Date") == "2026-03-04T05:06:07.123456Z"
        )
        assert "identical-payload-digest" in headers.get_header("WARC-Profile")
        stream.seek(first.offset)
        original = next(iter(ArchiveIterator(stream))).rec_headers
        assert headers.get_header("WARC-Refers-To") == original.get_header(
            "WARC-Record-ID"
        )
        assert second.revisit_of.record_id == original.get_header("WARC-Record-ID")
        assert headers.get_header("WARC-Payload-Digest") == first.payload_digest
        assert record.content_stream().read() == b""


def test_a_payload_from_an_earlier_run_becomes_a_revisit(tmp_path):
    warc = sink(tmp_path / "out")
    hop = make_hop(tmp_path, "a", b"unchanged page")
    earlier = Capture(uri="https://news.example/a", date="2026-01-01T00:00:00Z")
    warc.remember(payload_digest(hop.body), earlier)
    ref = warc.write_hop(hop)
    warc.close()
    assert ref.revisit_of == earlier


def test_a_revisit_never_refers_to_a_capture_made_after_it(tmp_path):
    """Fetched at once, written in another order: the earlier fetch is not a revisit."""
    warc = sink(tmp_path / "out")
    later = make_hop(tmp_path, "late", b"same bytes")
    earlier = replace(
        make_hop(tmp_path, "soon", b"same bytes"), started=WHEN - ONE_SECOND
    )
    written_first = warc.write_hop(later)
    written_next = warc.write_hop(earlier)
    after_both = warc.write_hop(make_hop(tmp_path, "again", b"same bytes"))
    warc.close()
    assert written_first.revisit_of is None
    assert written_next.revisit_of is None  # in full: its date is the earlier one
    assert after_both.revisit_of is not None
    assert after_both.revisit_of.uri == "https://news.example/soon"  # the earliest
    (path,) = warc.closed_files
    kinds = [r.rec_type for r, _ in records(path) if r.rec_type != "request"]
    assert kinds == ["warcinfo", "response", "response", "revisit"]
