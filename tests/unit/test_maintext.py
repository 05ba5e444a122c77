"""Main-text digests (crawl/maintext.py): what drift compares, hostile pages too."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from archiver.crawl import maintext
from archiver.models import Body, Hop

ARTICLE = (
    "<article><h1>Council budget</h1><p>The council approved the budget on "
    "Tuesday after six hours of debate.</p><p>The mayor signs it next week, "
    "and a hearing on the tax rate follows in March.</p></article>"
)


def hop(body: bytes, content_type: bytes = b"text/html; charset=utf-8", **kw) -> Hop:
    headers = [(b"Content-Type", content_type)] if content_type else []
    if kw.get("coding"):
        headers.append((b"Content-Encoding", kw["coding"]))
    return Hop(
        url="http://news.example/story",
        method="GET",
        target="/story",
        request_headers=(),
        http_version="HTTP/1.1",
        status=kw.get("status", 200),
        reason="OK",
        response_headers=tuple(headers),
        body=Body(
            length=len(body),
            truncated=kw.get("truncated", False),
            complete=kw.get("complete", True),
            data=body,
        ),
        peer_ip=None,
        started=datetime(2026, 1, 1, tzinfo=UTC),
    )


def page(article: str, ad: str, stamp: str) -> bytes:
    return (
        f"<html><head><script nonce='{stamp}'>var t='{stamp}'</script></head>"
        f"<body><nav><a href='/'>Home</a></nav><div class='ad'>{ad}</div>"
        f"<p class='updated'>Updated {stamp}</p><main>{article}<aside>Most read: "
        f"<a href='/s/{stamp}'>Story {stamp}</a></aside></main>"
        f"<footer>Request {stamp}</footer></body></html>"
    ).encode()


def test_ads_timestamps_and_whitespace_leave_the_digest_as_it_was():
    first = maintext.text_digest(hop(page(ARTICLE, "Buy shoes", "0301")))
    again = maintext.text_digest(
        hop(page(ARTICLE.replace("</p><p>", "</p>\n\n  <p>"), "Fly to Rome", "0302"))
    )
    assert first is not None
    assert first.startswith("sha256:")
    assert first == again


def test_an_edited_sentence_changes_the_digest():
    first = maintext.text_digest(hop(page(ARTICLE, "ad", "1")))
    edited = maintext.text_digest(hop(page(ARTICLE.replace("six", "seven"), "ad", "1")))
    assert first != edited


def test_a_compressed_page_has_the_digest_of_its_text():
    plain = maintext.text_digest(hop(page(ARTICLE, "ad", "1")))
    packed = hop(gzip.compress(page(ARTICLE, "ad", "1")), coding=b"gzip")
    assert maintext.text_digest(packed) == plain


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (hop(b"<p>x</p>"), True),
        (hop(b"<!DOCTYPE html><p>x</p>", content_type=b""), True),  # sniffed
        (hop(b"\x89PNG\r\n", content_type=b"image/png"), False),
        (hop(b"<p>x</p>", status=404), False),
        (hop(b"<p>x</p>", truncated=True), False),  # cut at --max-size
        (hop(b"<p>x</p>", complete=False), False),  # broken off by the server
        (hop(b""), False),
    ],
)
def test_only_whole_html_pages_that_answered_2xx_are_digested(case, expected):
    assert maintext.applies(case) is expected


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\xff\xfe\x00" * 4096,  # binary, sent as text/html
        b"   \n\t ",
        b"<" * 100_000,
        b"<div>" * 50_000 + b"deep" + b"</div>" * 50_000,  # nesting past lxml's
        b"<html><body>" + b"<p>" + b"word " * 600_000 + b"</p>",  # past TEXT_LIMIT
    ],
    ids=["binary", "blank", "brackets", "nested", "huge"],
)
def test_a_hostile_page_gives_a_digest_or_none_quickly_and_quietly(body, capfd):
    started = time.monotonic()
    found = maintext.text_digest(hop(body))
    assert found is None or found.startswith("sha256:")
    assert time.monotonic() - started < 5
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # readability's own logging stays quiet


def test_an_unknown_charset_is_read_as_utf8():
    found = maintext.text_digest(hop(page(ARTICLE, "a", "1"), b"text/html; charset=x"))
    assert found == maintext.text_digest(hop(page(ARTICLE, "a", "1")))


def test_importing_the_module_does_not_load_the_extractor():
    check = (
        "import sys, archiver.crawl.maintext\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('readability', 'lxml')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
