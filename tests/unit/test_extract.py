"""Extraction: every source of a URL, with its kind and context."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from archiver.articles import extract, plan, seeds
from archiver.articles.seeds import parse
from archiver.articles.unwrap import DEFAULT_RULES, parse_rule, unwrap
from archiver.errors import UsageError
from archiver.models import Article, LinkKind
from archiver.urls import site

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
        (
            '<img data-lazy-srcset="/l1.jpg 1x, /l2.jpg 2x">'
            '<picture><source data-lazy-srcset="/ls.webp"></picture>',
            [
                (LinkKind.IMAGE, "img.data-lazy-srcset", "/l1.jpg"),
                (LinkKind.IMAGE, "img.data-lazy-srcset", "/l2.jpg"),
                (LinkKind.IMAGE, "source.data-lazy-srcset", "/ls.webp"),
            ],
        ),
        (  # a WordPress (Jetpack) gallery image: the full size opens on a click
            '<img src="/a-640.jpg" data-orig-file="/a.jpg" '
            'data-large-file="/a-1024.jpg" data-medium-file="/a-300.jpg" '
            'data-permalink="/post/a/">',
            [
                (LinkKind.IMAGE, "img.src", "/a-640.jpg"),
                (LinkKind.IMAGE, "img.data-orig-file", "/a.jpg"),
                (LinkKind.IMAGE, "img.data-large-file", "/a-1024.jpg"),
            ],
        ),
        (
            '<svg><image href="/svg.png"/><image xlink:href="/old-svg.png"/>'
            '<use xlink:href="#shape"/></svg>',
            [
                (LinkKind.IMAGE, "image.href", "/svg.png"),
                (LinkKind.IMAGE, "image.xlink:href", "/old-svg.png"),
            ],
        ),
        (
            '<form><input type="IMAGE" src="/go.png" alt="Go">'
            '<input type="text" src="/not-shown.png"></form>',
            [(LinkKind.IMAGE, "input.src", "/go.png")],
        ),
        (
            '<table background="/t.gif"><tr><td background="/c.gif">x</td></tr>'
            '</table><div background="/d.gif"></div>',
            [
                (LinkKind.IMAGE, "table.background", "/t.gif"),
                (LinkKind.IMAGE, "td.background", "/c.gif"),
                (LinkKind.IMAGE, "div.background", "/d.gif"),
            ],
        ),
        (
            '<link rel="Stylesheet" href="/s.css"><link rel="shortcut icon" '
            'href="/f.ico"><link rel="apple-touch-icon" href="/t.png">'
            '<link rel="canonical" href="/c"><link rel="preconnect" href="//cdn.x">'
            '<link rel="alternate stylesheet" href="/alt.css">',
            [
                (LinkKind.EMBED, "link.href", "/s.css"),
                (LinkKind.IMAGE, "link.href", "/f.ico"),
                (LinkKind.IMAGE, "link.href", "/t.png"),
            ],
        ),
        (
            "<style>@import 'base.css'; @import url(\"print.css\") print;"
            ".hero{background:url( '/hero.jpg' )} /* .old{background:url(/x.png)} */"
            "@font-face{font-family:F;src:url(/f.woff2) format('woff2')}</style>"
            '<p style="x">no url</p><style>.a{fill:none}</style>',
            [
                (LinkKind.EMBED, "style.@import", "base.css"),
                (LinkKind.EMBED, "style.@import", "print.css"),
                (LinkKind.IMAGE, "style.url", "/hero.jpg"),
            ],  # not the font: a browser loads it only if the text uses it
        ),
        (
            "<p>[Foo](https://en.wikipedia.org/wiki/Foo_(bar)) and "
            "[nested](https://w.example/a_(b_(c))_d 'T') and "
            "[spaced](<https://s.example/a b>) and [esc](https://e.example/a\\)b) "
            "and [broken](https://b.example/(open and ![](/empty-alt.png)</p>",
            [
                (
                    LinkKind.LINK,
                    "markdown.link",
                    "https://en.wikipedia.org/wiki/Foo_(bar)",
                ),
                (LinkKind.LINK, "markdown.link", "https://w.example/a_(b_(c))_d"),
                (LinkKind.LINK, "markdown.link", "https://s.example/a b"),
                (LinkKind.LINK, "markdown.link", "https://e.example/a)b"),
                (LinkKind.IMAGE, "markdown.image", "/empty-alt.png"),
            ],
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
        "https://images.weserv.nl/?URL=static01.nyt.com/images/a.jpg",
        "https://images.weserv.nl/?url=SSL:static01.nyt.com/images/a.jpg",
        "https://wsrv.nl/?url=static01.nyt.com/images/a.jpg",
    ],
)
def test_image_proxy_yields_the_original_too(src):
    links = extract.links(article(f'<img src="{src}" alt="pic">'))
    wrapper, original = links[1], links[2]
    assert original.citation.wrapped_by is not None
    assert site(original.citation.wrapped_by) in {"images.weserv.nl", "wsrv.nl"}
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


@pytest.mark.parametrize(
    ("wrapper", "originals"),
    [
        # weserv fetches "a+b.jpg": a "+" in a URL is not a space
        (
            "https://images.weserv.nl/?url=host.example/a+b.jpg",
            ["https://host.example/a+b.jpg"],
        ),
        (
            "https://images.weserv.nl/?url=host.example/a%2Bb%20c.jpg",
            ["https://host.example/a+b c.jpg"],
        ),
        (
            "https://images.weserv.nl/?url=ssl:host.example/a.jpg",
            ["https://host.example/a.jpg"],
        ),
        # thumbor, on any host: options, then the image's own URL
        (
            "https://thumbor.ftacademy.cn/unsafe/1340x754/"
            "https://thumbor.ftacademy.cn/unsafe/picture/9/000085029_piclink.jpg",
            ["https://thumbor.ftacademy.cn/unsafe/picture/9/000085029_piclink.jpg"],
        ),
        (
            "https://img.example/unsafe/trim/fit-in/-300x0/left/top/smart/"
            "filters:quality(80)/cdn.example/a.jpg?v=2",
            ["https://cdn.example/a.jpg?v=2"],
        ),
        (
            "https://img.example/unsafe/300x200/https%3A%2F%2Fcdn.example%2Fa.jpg",
            ["https://cdn.example/a.jpg"],
        ),
        # Jetpack Photon: the path is host/path; its query is Photon's own
        (
            "https://i0.wp.com/chinachange.org/wp-content/uploads/a.png?resize=519%2C572&ssl=1",
            ["https://chinachange.org/wp-content/uploads/a.png"],
        ),
        ("https://i2.wp.com/blog.example/a.jpg?w=300", ["http://blog.example/a.jpg"]),
        # the Wayback Machine: the original, its query included
        (
            "https://web.archive.org/web/20180515024448/http://www.hanban.org/a.htm",
            ["http://www.hanban.org/a.htm"],
        ),
        (
            "https://web.archive.org/web/20200101000000im_/https://x.example/p?q=1",
            ["https://x.example/p?q=1"],
        ),
        ("http://web.archive.org/web/2020/x.example/", ["http://x.example/"]),
        # wrappers inside wrappers: every level, outermost first
        (
            "https://images.weserv.nl/?url=i0.wp.com/blog.example/a.jpg%3Fssl%3D1",
            [
                "https://i0.wp.com/blog.example/a.jpg?ssl=1",
                "https://blog.example/a.jpg",
            ],
        ),
    ],
)
def test_unwrap_finds_the_original(wrapper, originals):
    assert list(unwrap(wrapper)) == originals


@pytest.mark.parametrize(
    "url",
    [
        # thumbor's own image path is not a URL
        "https://thumbor.ftacademy.cn/unsafe/picture/9/000085029_piclink.jpg",
        "https://www.example.com/unsafe/advice/",
        "https://i0.wp.com/",
        "https://web.archive.org/web/",
        "https://web.archive.org/about/https://x.example/",
        "https://example.com/web/2020/https://x.example/",  # not the Wayback Machine
    ],
)
def test_paths_that_wrap_nothing(url):
    assert unwrap(url) == ()


def test_path_wrappers_in_an_article():
    links = extract.links(
        article(
            '<a href="https://web.archive.org/web/2019/https://gone.example/p">was</a>'
            '<img src="//i1.wp.com/blog.example/a.jpg">'
        )
    )
    cited = [
        (link.citation.kind, link.raw, link.citation.wrapped_by) for link in links[1:]
    ]
    assert cited == [
        (
            LinkKind.LINK,
            "https://web.archive.org/web/2019/https://gone.example/p",
            None,
        ),
        (
            LinkKind.LINK,
            "https://gone.example/p",
            "https://web.archive.org/web/2019/https://gone.example/p",
        ),
        (LinkKind.IMAGE, "//i1.wp.com/blog.example/a.jpg", None),
        (
            LinkKind.IMAGE,
            "http://blog.example/a.jpg",
            "https://i1.wp.com/blog.example/a.jpg",
        ),
    ]


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


_markup = st.sampled_from(
    ["[", "]", "(", ")", "![", "](", "<", ">", "\\", '"', "'", " ", "\n", "x",
     "https://a.example/", "<a href='", "<img src=\"", "<style>", "</style>",
     "url(", "@import ", "@font-face{", "}", "/*", "*/", "<link rel=stylesheet href=",
     "//i0.wp.com/", "/unsafe/", "web.archive.org/web/1/", "?url=", "%", "%3A"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(body=st.lists(_markup | st.text(max_size=3), max_size=30).map("".join))
def test_extraction_never_raises(body):
    story = Article(
        path=Path("s.md"), url=ARTICLE_URL, title="t", published=None,
        body=body, text=body, sha256="0" * 64,
    )  # fmt: skip
    for link in extract.links(story):
        assert isinstance(link.raw, str)
        for inner in unwrap(link.raw):
            assert isinstance(inner, str)


def test_a_body_that_is_only_a_url_is_read_quietly():
    # BeautifulSoup warns that such markup "looks like a URL"; the run must not.
    assert found("https://only.example/") == []


def test_hostile_markup_costs_a_scan_not_a_square(tmp_path):
    """Unclosed url( and runs of '[' once took minutes for a few kB."""
    body = (
        '<p style="'
        + "background:url(" * 100_000
        + '">x</p>'
        + "[" * 100_000
        + "](" * 100_000
        + "<p>[a [b](https://example.com/inner)</p>"
    )
    path = tmp_path / "a.txt"
    path.write_text(f"<!--1-->\n[T](https://example.com/)\n------\n\n{body}\n")
    found = [link.raw for link in extract.links(seeds.read(path), DEFAULT_RULES)]
    assert "https://example.com/inner" in found
