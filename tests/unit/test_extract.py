"""Extraction: every source of a URL, with its kind and context."""

from __future__ import annotations

from pathlib import Path

import pytest

from archiver.articles import extract, plan
from archiver.articles.seeds import parse
from archiver.articles.unwrap import DEFAULT_RULES, parse_rule, unwrap
from archiver.errors import UsageError
from archiver.models import LinkKind

ARTICLE_URL = "https://news.example/2024/story/"


def article(body: str, url: str = ARTICLE_URL, title: str = "A story"):
    text = f"<!--1729735621000-->\n[{title}]({url})\n------\n\n{body}\n"
    return parse(Path("story.md"), text.encode())


def found(body: str, **kwargs):
    """(kind, element.attribute, raw URL) for every link after the title."""
    return [
        (
            link.citation.kind,
            f"{link.citation.element}.{link.citation.attribute}",
            link.raw,
        )
        for link in extract.links(article(body), **kwargs)[1:]
    ]


def test_title_link_is_the_article_url():
    (title,) = extract.links(article("<p>no links</p>", title="T [with] brackets"))
    assert title.raw == ARTICLE_URL
    assert title.citation.kind is LinkKind.ARTICLE
    assert title.citation.text == "T [with] brackets"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ('<a href="/a">x</a>', [(LinkKind.LINK, "a.href", "/a")]),
        (
            '<map><area href="/m" alt="zone"></map>',
            [(LinkKind.LINK, "area.href", "/m")],
        ),
        ('<img src="/i.png">', [(LinkKind.IMAGE, "img.src", "/i.png")]),
        (
            '<img srcSet="/s1.jpg 1x, /s,2.jpg 2x,/s3.jpg">',
            [
                (LinkKind.IMAGE, "img.srcset", "/s1.jpg"),
                (LinkKind.IMAGE, "img.srcset", "/s,2.jpg"),
                (LinkKind.IMAGE, "img.srcset", "/s3.jpg"),
            ],
        ),
        (
            '<img src="data:image/svg+xml,x" data-src="/lazy.jpg" '
            'data-original="/o.jpg" data-lazy-src="/l.jpg" data-srcset="/d.jpg 300w">',
            [
                (LinkKind.IMAGE, "img.src", "data:image/svg+xml,x"),
                (LinkKind.IMAGE, "img.data-src", "/lazy.jpg"),
                (LinkKind.IMAGE, "img.data-original", "/o.jpg"),
                (LinkKind.IMAGE, "img.data-lazy-src", "/l.jpg"),
                (LinkKind.IMAGE, "img.data-srcset", "/d.jpg"),
            ],
        ),
        (
            '<picture><source srcset="/p.webp 1x, /p2.webp 2x"></picture>',
            [
                (LinkKind.IMAGE, "source.srcset", "/p.webp"),
                (LinkKind.IMAGE, "source.srcset", "/p2.webp"),
            ],
        ),
        (
            '<video poster="/poster.jpg" src="/v.mp4"><source src="/v.webm">'
            '<track src="/subs.vtt"></video>',
            [
                (LinkKind.EMBED, "video.src", "/v.mp4"),
                (LinkKind.IMAGE, "video.poster", "/poster.jpg"),
                (LinkKind.EMBED, "source.src", "/v.webm"),
                (LinkKind.EMBED, "track.src", "/subs.vtt"),
            ],
        ),
        (
            '<audio src="/a.mp3"></audio><iframe src="https://yt.example/e/1"></iframe>'
            '<embed src="/e.swf"><object data="/o.pdf"></object>',
            [
                (LinkKind.EMBED, "audio.src", "/a.mp3"),
                (LinkKind.EMBED, "iframe.src", "https://yt.example/e/1"),
                (LinkKind.EMBED, "embed.src", "/e.swf"),
                (LinkKind.EMBED, "object.data", "/o.pdf"),
            ],
        ),
        (
            """<div style="background: url('/bg.png') no-repeat, url(/bg2.png)">"""
            "</div>",
            [
                (LinkKind.IMAGE, "div.style", "/bg.png"),
                (LinkKind.IMAGE, "div.style", "/bg2.png"),
            ],
        ),
        (
            '<p>See [the report](https://r.example/x "Report") and ![chart](/c.png) '
            "and <https://auto.example/link>.</p>",
            [
                (LinkKind.LINK, "markdown.link", "https://r.example/x"),
                (LinkKind.IMAGE, "markdown.image", "/c.png"),
                (LinkKind.LINK, "markdown.autolink", "https://auto.example/link"),
            ],
        ),
        (
            "<noscript><img src='/fallback.jpg'></noscript>",
            [(LinkKind.IMAGE, "img.src", "/fallback.jpg")],
        ),
    ],
)
def test_every_source_is_gathered(html, expected):
    assert found(html, rules=()) == expected


def test_links_nested_anywhere_are_found():
    html = "<div><section><p><span><a href='/deep'>deep</a></span></p></section></div>"
    assert found(html) == [(LinkKind.LINK, "a.href", "/deep")]


def test_context_is_kept_for_reports():
    links = extract.links(
        article(
            '<a href="/a" title="Link: /a">  the\n <b>anchor</b>  text </a>'
            '<img src="/i.png" alt=" a  picture ">'
        )
    )
    anchor, image = links[1].citation, links[2].citation
    assert (anchor.text, anchor.title, anchor.element) == (
        "the anchor text",
        "Link: /a",
        "a",
    )
    assert image.text == "a picture"
    assert anchor.article == "story.md"


def test_relative_links_resolve_against_the_article_url_or_base_href():
    links = extract.links(article('<a href="/a">x</a>'))
    assert plan.build(links).targets[1].url == "https://news.example/a"
    with_base = extract.links(
        article('<base href="https://mirror.example/root/"><a href="page">x</a>')
    )
    assert plan.build(with_base).targets[1].url == "https://mirror.example/root/page"
    # A relative <base href> resolves against the article's URL, as in a browser
    # (backslashes included), and one that cannot be parsed is ignored.
    relative_base = extract.links(
        article('<base href="\\\\cdn.example\\r\\"><a href="p">x</a>')
    )
    assert plan.build(relative_base).targets[1].url == "https://cdn.example/r/p"
    broken_base = extract.links(article('<base href="http://[x/"><a href="p">x</a>'))
    assert plan.build(broken_base).targets[1].url == "https://news.example/2024/story/p"


def test_protocol_relative_takes_the_article_scheme():
    links = extract.links(
        article('<iframe src="//embed.example/1"></iframe>', url="http://a.example/")
    )
    assert plan.build(links).targets[1].url == "http://embed.example/1"


@pytest.mark.parametrize(
    "src",
    [
        "https://images.weserv.nl/?url=static01.nyt.com/images/a.jpg",
        "https://images.weserv.nl?url=static01.nyt.com/images/a.jpg",
        "https://images.weserv.nl/?url=ssl:static01.nyt.com/images/a.jpg",
        "https://images.weserv.nl/?w=300&url=https%3A%2F%2Fstatic01.nyt.com%2Fimages%2Fa.jpg",
        "//images.weserv.nl/?url=static01.nyt.com/images/a.jpg",
    ],
)
def test_image_proxy_yields_the_original_too(src):
    links = extract.links(article(f'<img src="{src}" alt="pic">'))
    wrapper, original = links[1], links[2]
    assert original.citation.wrapped_by is not None
    assert "images.weserv.nl" in original.citation.wrapped_by
    assert original.citation.kind is LinkKind.IMAGE
    assert original.citation.text == "pic"
    urls = [t.url for t in plan.build(links).targets]
    assert "https://static01.nyt.com/images/a.jpg" in urls
    assert len(urls) == 3  # article, wrapper, original
    assert wrapper.citation.wrapped_by is None


def test_further_wrappers_are_one_rule_each():
    rule = parse_rule("l.facebook.com=u")
    body = '<a href="https://l.facebook.com/l.php?u=https%3A%2F%2Fgone.example%2Fp&h=x">x</a>'
    assert found(body) == [(LinkKind.LINK, "a.href", body.split('"')[1])]
    with_rule = found(body, rules=(*DEFAULT_RULES, rule))
    assert with_rule[1] == (LinkKind.LINK, "a.href", "https://gone.example/p")


@pytest.mark.parametrize("spec", ["nohost", "=u", "host=", "a/b=u"])
def test_bad_wrapper_rule_is_a_usage_error(spec):
    with pytest.raises(UsageError, match="--unwrap"):
        parse_rule(spec)


def test_unwrap_ignores_other_hosts_and_empty_values():
    assert unwrap("https://example.com/?url=x.example/a") == ()
    assert unwrap("https://images.weserv.nl/?url=") == ()
    assert unwrap("http://[bad") == ()


@pytest.mark.parametrize(
    ("value", "urls"),
    [
        ("a.jpg", ["a.jpg"]),
        ("a.jpg 1x, b.jpg 2x", ["a.jpg", "b.jpg"]),
        ("a.jpg 100w,b.jpg 200w", ["a.jpg", "b.jpg"]),
        (
            "https://c.example/w_100,h_80/a.jpg 1x",
            ["https://c.example/w_100,h_80/a.jpg"],
        ),
        ("a.jpg,b.jpg", ["a.jpg,b.jpg"]),
        ("a.jpg, b.jpg", ["a.jpg", "b.jpg"]),
        ("  , ,a.jpg (x, y) 1x, b.jpg", ["a.jpg", "b.jpg"]),
        ("", []),
    ],
)
def test_srcset_parsing(value, urls):
    assert extract.srcset_urls(value) == urls


def test_plan_merges_citations_and_keeps_unfetchable():
    links = extract.links(
        article(
            '<a href="/a#one">one</a><a href="https://NEWS.example:443/a">two</a>'
            '<a href="mailto:x@example.org">m</a><a href="http://bad host/">b</a>'
        )
    )
    built = plan.build(links)
    target = next(t for t in built.targets if t.url == "https://news.example/a")
    assert [c.text for c in target.citations] == ["one", "two"]
    reasons = {u.url: u.rejection.reason for u in built.unfetched}
    assert reasons == {
        "mailto:x@example.org": "scheme-mailto",
        "http://bad host/": "invalid-host",
    }
