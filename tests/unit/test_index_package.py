"""archiver.warc.index and archiver.run.package on WarcSink output, no network."""

from __future__ import annotations

import gzip
import json
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.errors import ArchiveWriteError, UsageError
from archiver.models import Body, Hop, RecordRef
from archiver.run.package import package
from archiver.warc.index import write_cdxj
from archiver.warc.writer import WarcSink

WHEN = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def hop(tmp_path: Path, name: str, status: int = 200) -> Hop:
    body = tmp_path / f"{name}.body"
    body.write_bytes(f"<p>{name}</p>".encode())
    return Hop(
        url=f"https://news.example/{name}",
        method="GET",
        target=f"/{name}",
        request_headers=((b"Host", b"news.example"),),
        http_version="HTTP/1.1",
        status=status,
        reason="OK",
        response_headers=((b"Content-Type", b"text/html"),),
        body=Body(
            path=body, length=body.stat().st_size, truncated=False, complete=True
        ),
        peer_ip="192.0.2.7",
        started=WHEN,
    )


def write_warcs(
    tmp_path: Path, folder: Path, names: list[list[str]]
) -> tuple[list[Path], dict[str, RecordRef]]:
    """One WARC file per inner list, each hop a response and a request."""
    refs: dict[str, RecordRef] = {}
    files: list[Path] = []
    for serial, group in enumerate(names):
        sink = WarcSink(folder, prefix=f"t{serial}", info={"software": "test"})
        for name in group:
            refs[name] = sink.write_hop(hop(tmp_path, name))
        sink.close()
        files += sink.closed_files
    return files, refs


def index_lines(path: Path) -> list[tuple[str, str, dict[str, str]]]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, stamp, fields = line.split(" ", 2)
        lines.append((key, stamp, json.loads(fields)))
    return lines


def test_index_has_one_sorted_line_per_response(tmp_path):
    run = tmp_path / "run"
    files, refs = write_warcs(tmp_path, run, [["zeta", "alpha"], ["mid"]])
    out = write_cdxj(files, run / "index.cdxj")
    lines = index_lines(out)
    assert [key for key, _, _ in lines] == [
        "example,news)/alpha",
        "example,news)/mid",
        "example,news)/zeta",
    ]
    assert {stamp for _, stamp, _ in lines} == {"20260304050607"}
    for _, _, fields in lines:
        name = fields["url"].rsplit("/", 1)[1]
        assert fields["filename"] == refs[name].warc_file
        assert int(fields["offset"]) == refs[name].offset
        assert fields["digest"] == refs[name].payload_digest
        assert fields["status"] == "200"
        assert fields["mime"] == "text/html"
    assert not list(run.glob("*.tmp"))


def test_index_names_files_relative_to_itself(tmp_path):
    files, _ = write_warcs(tmp_path, tmp_path / "run" / "warcs", [["page"]])
    lines = index_lines(write_cdxj(files, tmp_path / "run" / "index.cdxj"))
    assert [f["filename"] for _, _, f in lines] == [f"warcs/{files[0].name}"]


def test_unreadable_warc_leaves_the_old_index(tmp_path):
    bad = tmp_path / "bad.warc.gz"
    bad.write_bytes(gzip.compress(b"hello, not a WARC\n"))
    out = tmp_path / "index.cdxj"
    out.write_text("old\n")
    with pytest.raises(ArchiveWriteError, match=r"index\.cdxj: cannot write"):
        write_cdxj([bad], out)
    assert out.read_text() == "old\n"
    assert not list(tmp_path.glob("*.tmp"))


def test_package_needs_warc_files(tmp_path):
    with pytest.raises(UsageError, match=r"no \.warc\.gz files"):
        package(tmp_path)
    with pytest.raises(UsageError):
        package(tmp_path / "missing")


def test_failing_packager_is_reported_and_cleaned_up(tmp_path):
    run = tmp_path / "run"
    write_warcs(tmp_path, run, [["page"]])
    broken = (sys.executable, "-c", "import sys; print('boom'); sys.exit(2)")
    with pytest.raises(ArchiveWriteError, match="py-wacz failed: boom"):
        package(run, wacz_command=broken)
    assert not list(run.glob("*.wacz*"))


def test_package_lists_alive_links_as_pages(tmp_path):
    run = tmp_path / "run"
    _, refs = write_warcs(tmp_path, run, [["page", "story", "gone"]])
    entries = [
        {
            "url": "https://news.example/page",
            "outcome": "alive",
            "warc_file": refs["page"].warc_file,
            "citations": [{"text": ""}, {"text": "Anchor"}],
        },
        {  # an article's own page, which another article cites first
            "url": "https://news.example/story",
            "outcome": "alive",
            "warc_file": refs["story"].warc_file,
            "citations": [
                {"kind": "link", "text": "read this"},
                {"kind": "article", "text": "The story's own title"},
            ],
        },
        {
            "url": "https://news.example/gone",
            "outcome": "dead",
            "warc_file": refs["gone"].warc_file,
            "citations": [],
        },
    ]
    (run / "manifest.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    made = package(run)
    assert made == run.resolve() / "run.wacz"
    with zipfile.ZipFile(made) as wacz:
        pages = wacz.read("pages/pages.jsonl").decode().splitlines()
        info = json.loads(wacz.read("datapackage.json"))
        assert "logs/manifest.jsonl" in wacz.namelist()
    header, page, story = map(json.loads, pages)
    assert header["format"] == "json-pages-1.0"
    assert (page["url"], page["title"]) == ("https://news.example/page", "Anchor")
    assert story["title"] == "The story's own title"  # not another's anchor text
    assert info["title"] == "run"
    again = package(run, tmp_path / "elsewhere.wacz", title="Mine")
    with zipfile.ZipFile(again) as wacz:
        assert json.loads(wacz.read("datapackage.json"))["title"] == "Mine"
