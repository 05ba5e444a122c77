"""URL normalisation: the rules one by one, then properties over any input."""

from __future__ import annotations

import re
import string

import ada_url
import httpx
import pytest
from hypothesis import given, settings, strategies as st

from archiver.models import Outcome, Rejection
from archiver.urls import authority, hostname, normalise, site

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
        # a "%" that starts no escape is sent as written, as a browser sends it
        ("https://example.com/100%", "https://example.com/100%"),
        ("https://example.com/%zz%e9", "https://example.com/%zz%E9"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://example.com/?q=a b&x=1&a=2", "https://example.com/?q=a%20b&x=1&a=2"),
        # an empty query is kept: "/?" and "/" are two URLs to a browser
        ("https://example.com/?", "https://example.com/?"),
        ("https://example.com/?#top", "https://example.com/?"),
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
        ("\x00 https://example.com/a\x01", "https://example.com/a"),
        # one slash, three slashes or backslashes: the host follows all the same
        ("https:/www.nytimes.com/x", "https://www.nytimes.com/x"),
        ("http:///example.org/x", "http://example.org/x"),
        ("https:\\\\host\\x", "https://host/x"),
        ("HTTP://Ex%41mple.COM/", "http://example.com/"),
        ("https://user:p%41ss@example.com/", "https://user:pAss@example.com/"),
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


# Issue 14's table: what urllib's urljoin made of these hrefs, against what a
# browser fetches (checked against the WHATWG parser).
PAGE = "https://www.example.com/dir/page.html?x=1"


@pytest.mark.parametrize(
    ("href", "browser_fetches", "used_to"),
    [
        (
            "\\\\evil.example\\x",
            "https://evil.example/x",
            "https://www.example.com/dir/%5C%5Cevil.example%5Cx",
        ),
        (
            "http://example.com/a\\b",
            "http://example.com/a/b",
            "http://example.com/a%5Cb",
        ),
        (
            "///example.org/x",
            "https://example.org/x",
            "https://www.example.com/example.org/x",
        ),
        (
            "a//b/c.jpg",
            "https://www.example.com/dir/a//b/c.jpg",
            "https://www.example.com/dir/a/b/c.jpg",
        ),
        ("/a/b;", "https://www.example.com/a/b;", "https://www.example.com/a/b"),
        (
            "?",
            "https://www.example.com/dir/page.html?",
            "https://www.example.com/dir/page.html?x=1",
        ),
        (
            "?q=50%off",
            "https://www.example.com/dir/page.html?q=50%off",
            "https://www.example.com/dir/page.html?q=50%25off",
        ),
        # A scheme without "//" is relative when it is the page's own scheme...
        ("https:/host/x", "https://www.example.com/host/x", None),
        # ...and names a host when it is not; backslashes count as slashes.
        ("http:host", "http://host/", None),
        ("https:\\\\host", "https://host/", None),
    ],
)
def test_links_resolve_as_a_browser_resolves_them(href, browser_fetches, used_to):
    assert normalise(href, PAGE) == browser_fetches
    assert normalise(href, PAGE) != used_to


@pytest.mark.parametrize(
    "raw",
    [
        "http://2130706433:8080/a",
        "http://0x7f.1:8080/a",
        "http://0177.0.0.1:8080/a",
        "http://127.1:8080/a",
        "http://127.0.0.1:8080/a",
        "http://%31%32%37.0.0.1:8080/a",
    ],
)
def test_numeric_ipv4_hosts_are_written_as_browsers_write_them(raw):
    url = normalise(raw)
    assert url == "http://127.0.0.1:8080/a"  # one target for every spelling
    # ...and the request says the same host the URL names.
    request = httpx.Request("GET", url)
    assert request.headers["Host"] == "127.0.0.1:8080"
    assert request.url.raw_path == b"/a"


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
        ("http://", None, "empty-host"),
        ("https://user@:80/x", None, "empty-host"),
        ("https:", None, "empty-host"),
        ("http://exa mple.com/", None, "invalid-host"),
        ("http://a..b/", None, "invalid-host"),
        ("http://" + "a" * 64 + ".com/", None, "invalid-host"),
        ("http://exa!mple.com/", None, "invalid-host"),
        ("http://1.2.3.4.5/", None, "invalid-host"),
        ("http://xn--ls8h.la/", None, "invalid-host"),
        ("http://example.com/a\x00b", None, "control-character"),
        ("http://example.com/a?\x7f", None, "control-character"),
        ("/relative/path", None, "relative-without-base"),
        ("/x", "not a url", "bad-base"),
        ("http://[::1/", None, "invalid-host"),
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
     ":80", ":443", "\\", "\t", "\x00", "\ud800", "mailto:", "www.example.com",
     "%c3%A9", "'", '"', "<", ">", "^", "|", "`", "{", "}", ";", "+", "_", "-",
     "0x7f.1", "2130706433", "[::1]", "user:pw@", "ß", "💩", "%41", "%2F"]
)  # fmt: skip
url_like = st.lists(_pieces | st.text(max_size=3), max_size=12).map("".join)
any_text = st.text() | url_like
BASES = st.sampled_from(
    [ARTICLE, PAGE, "http://[::1]:8080/a/b/", "https://例子.测试/路径/%7e?q#f"]
)
# What we trim at the ends: what the standard trims (C0 controls and space)
# and, our own rule, NBSP and zero-width spaces, mixed in any order.
_INVISIBLE = "".join(map(chr, range(0x21))) + "\u00a0\u200b\u200c\u200d\u2060\ufeff"
_UNRESERVED = set(string.ascii_letters + string.digits + "-._~")


def rfc3986_equivalent(url: str) -> str:
    """The spelling RFC 3986 section 6.2.2.1-2 treats as the same: hex upper,
    unreserved characters unescaped. Written apart from archiver.urls on purpose."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    return re.sub(r"%([0-9a-fA-F]{2})", one, url)


@settings(max_examples=400, deadline=None)
@given(raw=any_text, base=st.none() | BASES | any_text)
def test_never_raises(raw, base):
    result = normalise(raw, base)
    assert isinstance(result, str | Rejection)


@settings(max_examples=400, deadline=None)
@given(raw=any_text, base=st.none() | BASES)
def test_idempotent(raw, base):
    once = normalise(raw, base)
    if isinstance(once, str):
        assert normalise(once) == once
        assert once.isascii()
        assert "#" not in once


@settings(max_examples=600, deadline=None)
@given(raw=url_like, base=BASES)
def test_names_the_resource_a_browser_would_fetch(raw, base):
    result = normalise(raw, base)
    # A page hands the parser Unicode scalar values: a lone surrogate is U+FFFD.
    usv = raw.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    try:
        browser = ada_url.URL(usv.strip(_INVISIBLE), base).href
    except ValueError:
        browser = None
    if browser is not None and not browser.startswith(("http:", "https:")):
        assert isinstance(result, Rejection)
        assert result.outcome is Outcome.SKIPPED
        return
    if isinstance(result, Rejection):
        if browser is not None:  # only our own rules may refuse what it accepts
            assert result.reason in OUR_OWN_REFUSALS, (result, browser)
        return
    assert browser is not None, result
    # Parsed again by the standard, our spelling is unchanged: it is a URL
    # a browser sends as it stands...
    assert ada_url.URL(result).href == result
    # ...and it is the browser's URL, but for the fragment and the escapes
    # RFC 3986 calls equivalent.
    assert result == rfc3986_equivalent(browser.partition("#")[0])


# The refusals that are archiver's own, each explained in archiver/urls.py.
OUR_OWN_REFUSALS = {"empty-url", "control-character", "invalid-host", "invalid-port"}


@settings(max_examples=400, deadline=None)
@given(raw=url_like, base=BASES)
def test_the_request_sends_exactly_the_normalised_url(raw, base):
    result = normalise(raw, base)
    if isinstance(result, str):
        request = httpx.Request("GET", result)
        rest = result.partition("://")[2]
        authority, _, path = rest.partition("/")
        assert request.url.raw_path.decode("ascii") == "/" + path
        assert request.headers["Host"] == authority.rpartition("@")[2]


@pytest.mark.parametrize(
    ("url", "host", "server", "site_of"),
    [
        (
            "https://user:pw@WWW.Example.com:8443/x",
            "www.example.com",
            "www.example.com:8443",
            "example.com",
        ),
        (
            "https://www.example.com:443/x",
            "www.example.com",
            "www.example.com",
            "example.com",
        ),
        ("http://[::1]:8080/", "[::1]", "[::1]:8080", "[::1]"),
        ("http://0x7f.1/", "127.0.0.1", "127.0.0.1", "127.0.0.1"),
        ("not a url", "", "", ""),
    ],
)
def test_one_definition_of_host_server_and_site(url, host, server, site_of):
    """Politeness, giving up on a host and the probe all key on authority()."""
    assert hostname(url) == host
    assert authority(url) == server
    assert site(url) == site_of
