"""URL normalisation: the rules one by one, then properties over any input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from archiver.models import Outcome, Rejection
from archiver.urls import normalise

ARTICLE = "https://cn.nytimes.com/world/20241024/north-korea-troops/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM/a", "https://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("http://example.com:8080/a", "http://example.com:8080/a"),
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/a/%2e%2E/b", "https://example.com/b"),
        ("https://example.com/a#section", "https://example.com/a"),
        ("https://example.com/%7euser/%41", "https://example.com/~user/A"),
        ("https://example.com/a%2fb%c3%a9", "https://example.com/a%2Fb%C3%A9"),
        ("https://example.com/100%", "https://example.com/100%25"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/?q=a b&x=1&a=2", "https://example.com/?q=a%20b&x=1&a=2"),
        ("https://example.com/?", "https://example.com/"),
        # the Hangul path in the seed article
        (
            "https://www.asaninst.org/contents/북한의-우크라이나/",
            "https://www.asaninst.org/contents/"
            "%EB%B6%81%ED%95%9C%EC%9D%98-%EC%9A%B0%ED%81%AC%EB%9D%BC%EC%9D%B4%EB%82%98/",
        ),
        ("https://Bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://例子.测试/", "https://xn--fsqu00a.xn--0zwm56d/"),
        ("http://[::0001]:80/", "http://[::1]/"),
        ("  https://example.com/a\u00a0", "https://example.com/a"),
        ("https://exa\nmple.com/a\tb", "https://example.com/ab"),
        ("\u200bhttps://example.com/", "https://example.com/"),
    ],
)
def test_normal_forms(raw, expected):
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "/zhongwen/simp/business-53419354",
            "https://cn.nytimes.com/zhongwen/simp/business-53419354",
        ),
        ("../other/", "https://cn.nytimes.com/world/20241024/other/"),
        ("//embed.acast.com/show/1", "https://embed.acast.com/show/1"),
        ("?page=2", "https://cn.nytimes.com/world/20241024/north-korea-troops/?page=2"),
        ("#comments", "https://cn.nytimes.com/world/20241024/north-korea-troops/"),
    ],
)
def test_relative_urls_resolve_against_the_base(raw, expected):
    assert normalise(raw, ARTICLE) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("mailto:someone@example.org", "scheme-mailto"),
        ("MAILTO:someone@example.org", "scheme-mailto"),
        ("javascript:", "scheme-javascript"),
        ("javascript:void(0)", "scheme-javascript"),
        ("data:image/gif;base64,R0lGOD", "scheme-data"),
        ("tel:+4412345", "scheme-tel"),
        ("whatsapp://send?text=hi", "scheme-whatsapp"),
        ("ftp://example.com/file", "scheme-ftp"),
    ],
)
def test_other_schemes_are_skipped_with_the_scheme_as_reason(raw, reason):
    result = normalise(raw, ARTICLE)
    assert isinstance(result, Rejection)
    assert (result.outcome, result.reason) == (Outcome.SKIPPED, reason)


@pytest.mark.parametrize(
    ("raw", "base", "reason"),
    [
        ("", ARTICLE, "empty-url"),
        ("   ", ARTICLE, "empty-url"),
        ("http://example.com:99999/", None, "invalid-port"),
        ("http://example.com:port/", None, "invalid-port"),
        ("http://example.com:0/", None, "invalid-port"),
        ("http:///path", None, "empty-host"),
        ("https:/www.nytimes.com/x", None, "empty-host"),
        ("http://exa mple.com/", None, "invalid-host"),
        ("http://a..b/", None, "invalid-host"),
        ("http://" + "a" * 64 + ".com/", None, "invalid-host"),
        ("http://example.com/\x00", None, "control-character"),
        ("/relative/path", None, "relative-without-base"),
        ("/x", "not a url", "bad-base"),
        ("http://[::1/", None, "unparseable"),
    ],
)
def test_invalid_urls_come_back_with_a_reason(raw, base, reason):
    result = normalise(raw, base)
    assert isinstance(result, Rejection), result
    assert (result.outcome, result.reason) == (Outcome.INVALID, reason)
    assert result.detail


# Strategies that reach the interesting corners more often than plain text.
_pieces = st.sampled_from(
    ["http://", "HTTPS://", "//", "/", "..", ".", "%", "%2e", "%7E", "%zz", "?", "#",
     "&", "=", ":", "@", "[", "]", " ", "\u00a0", "é", "北", "xn--", "a", "Z", "9",
     ":80", ":443", "\\", "\t", "\x00", "\ud800", "mailto:", "www.example.com"]
)  # fmt: skip
url_like = st.lists(_pieces | st.text(max_size=3), max_size=12).map("".join)
any_text = st.text() | url_like


@settings(max_examples=400, deadline=None)
@given(raw=any_text, base=st.none() | st.just(ARTICLE) | any_text)
def test_never_raises(raw, base):
    result = normalise(raw, base)
    assert isinstance(result, str | Rejection)


@settings(max_examples=400, deadline=None)
@given(raw=any_text, base=st.none() | st.just(ARTICLE))
def test_idempotent(raw, base):
    once = normalise(raw, base)
    if isinstance(once, str):
        assert normalise(once) == once
        assert once.isascii()
        assert "#" not in once
