"""Bounded decoding of spooled bodies (crawl/content.py), and page text from
hostile markup (crawl/verify.py)."""

from __future__ import annotations

import gzip
import time
import zlib
from datetime import UTC, datetime

import brotli
import pytest

from archiver.crawl.content import decoded_body
from archiver.crawl.verify import page_text
from archiver.models import Body, Hop

TEXT = b"<p>Sorry, the page you requested could not be found.</p>" * 50
LIMIT = 1 << 20


def decoded_prefix(path, coding: bytes, *, read: int, limit: int) -> bytes:
    """``decoded_body`` of a hop whose body is ``path``, sent in ``coding``."""
    del read
    return decoded_body(_hop_at(path, coding), limit)


def _hop_at(path, coding: bytes) -> Hop:
    return Hop(
        url="http://news.example/",
        method="GET",
        target="/",
        request_headers=(),
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=(
            (b"Content-Type", b"text/html"),
            (b"Content-Encoding", coding),
        ),
        body=Body(path=path, length=0, truncated=False, complete=True),
        peer_ip=None,
        started=datetime(2026, 1, 1, tzinfo=UTC),
    )


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


ENCODERS = {
    b"gzip": lambda data: gzip.compress(data, mtime=0),
    b"x-gzip": lambda data: gzip.compress(data, mtime=0),
    b"deflate": zlib.compress,
    b"br": brotli.compress,
}


@pytest.mark.parametrize("coding", list(ENCODERS))
def test_each_coding_decodes(tmp_path, coding):
    path = tmp_path / "body"
    path.write_bytes(ENCODERS[coding](TEXT))
    assert decoded_prefix(path, coding, read=LIMIT, limit=LIMIT) == TEXT


def test_raw_deflate_and_unknown_codings(tmp_path):
    path = tmp_path / "body"
    path.write_bytes(_raw_deflate(TEXT))
    assert decoded_prefix(path, b" Deflate ", read=LIMIT, limit=LIMIT) == TEXT
    path.write_bytes(b"\x28\xb5\x2f\xfd as sent")  # zstd is not decoded
    assert decoded_prefix(path, b"zstd", read=LIMIT, limit=LIMIT).endswith(b"sent")


def test_a_cut_or_corrupt_body_gives_what_came_before_the_damage(tmp_path):
    path = tmp_path / "body"
    whole = gzip.compress(TEXT)
    path.write_bytes(whole[: len(whole) // 2])
    cut = decoded_prefix(path, b"gzip", read=LIMIT, limit=LIMIT)
    assert cut
    assert TEXT.startswith(cut)
    path.write_bytes(b"not gzip at all")  # then the bytes are the text
    assert decoded_prefix(path, b"gzip", read=LIMIT, limit=LIMIT) == b"not gzip at all"
    assert decoded_prefix(tmp_path / "missing", b"", read=LIMIT, limit=LIMIT) == b""


@pytest.mark.parametrize("coding", [b"gzip", b"deflate", b"br"])
def test_a_bomb_stops_at_the_limit(tmp_path, coding):
    zeros = bytes(64 << 20)
    path = tmp_path / "bomb"
    path.write_bytes(ENCODERS[coding](zeros))
    started = time.monotonic()
    out = decoded_prefix(path, coding, read=LIMIT, limit=LIMIT)
    assert out == bytes(LIMIT)
    assert time.monotonic() - started < 1


def _hop(tmp_path, body: bytes) -> Hop:
    path = tmp_path / "page"
    path.write_bytes(body)
    return Hop(
        url="http://news.example/",
        method="GET",
        target="/",
        request_headers=(),
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=((b"Content-Type", b"text/html"),),
        body=Body(path=path, length=len(body), truncated=False, complete=True),
        peer_ip=None,
        started=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_page_text_strips_markup_scripts_and_styles(tmp_path):
    body = b"<p>Hello <b>there</b></p><SCRIPT>var x = '<p>no</p>';</script >" + (
        b"<style>p { color: red }</style>world<p unclosed"
    )
    assert page_text(_hop(tmp_path, body)) == "Hello there world"


@pytest.mark.parametrize(
    "unit",
    [b"<", b"<script", b"<script</script", b"<style>", b"< a=", b"<p title='"],
)
def test_page_text_takes_linear_time_on_hostile_markup(tmp_path, unit):
    body = unit * (400_000 // len(unit))
    started = time.monotonic()
    page_text(_hop(tmp_path, body))
    assert time.monotonic() - started < 2
