"""Finding requisites in HTML and CSS, the run's book of them, and the frontier."""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from datetime import UTC, datetime

import trio

from archiver.articles.requisites import Requisite, in_css, in_html
from archiver.crawl.content import decoded_body
from archiver.models import (
    Body,
    Hop,
    NormalizedURL,
    RequisiteCheck,
    RequisiteKind,
    RequisiteOutcome,
    Target,
)
from archiver.run.frontier import Frontier, Work
from archiver.run.recorder import Finished
from archiver.run.requisites import Book, RequisiteSettings, Wanted

K = RequisiteKind
PAGE = "https://news.example/2026/story.html"


def found(markup: str, url: str = PAGE, frames: bool = True) -> list[tuple[str, str]]:
    return [(str(r.kind), r.url) for r in in_html(markup.encode(), url, frames=frames)]


def test_base_href_is_relative_to_the_page_and_resolves_everything():
    got = found('<base href="assets/"><link rel=stylesheet href=a.css><img src=b.png>')
    assert got == [
        ("stylesheet", "https://news.example/2026/assets/a.css"),
        ("image", "https://news.example/2026/assets/b.png"),
    ]


def test_every_image_candidate_lazy_or_not():
    got = found(
        '<img src=a.png srcset="a.png 1x, b.png 2x" data-src=c.png>'
        '<picture><source srcset="d.webp 1x,e.webp 2x"><img src=f.jpg></picture>'
        "<video poster=g.jpg><source src=h.mp4></video><input type=image src=i.gif>"
    )
    names = [url.rsplit("/", 1)[1] for _, url in got]
    assert names == ["a.png", "b.png", "c.png", "d.webp", "e.webp", "f.jpg", "g.jpg",
                     "h.mp4", "i.gif"]  # fmt: skip
    assert {u.rsplit("/", 1)[1]: k for k, u in got}["h.mp4"] == "media"


def test_styles_icons_scripts_and_frames():
    got = {
        url.rsplit("/", 1)[1]: kind
        for kind, url in found(
            "<style>@import 'x.css'; @font-face{src:url(f.woff2)} "
            "p{background:url(p.png)}"
            "</style><link rel='shortcut icon' href=i.ico><link rel=preload as=font "
            "href=g.woff2><link rel='alternate stylesheet' href=alt.css>"
            "<script src=s.js></script><iframe src=fr.html></iframe>"
            "<div style='background-image:url(&quot;d.png&quot;)'></div>"
        )
    }
    assert got == {
        "x.css": "stylesheet",
        "f.woff2": "font",
        "p.png": "image",
        "i.ico": "icon",
        "g.woff2": "font",
        "s.js": "script",
        "fr.html": "frame",
        "d.png": "image",
    }


def test_a_frame_page_does_not_follow_its_own_frames():
    assert found("<iframe src=inner.html></iframe><img src=a.png>", frames=False) == [
        ("image", "https://news.example/2026/a.png")
    ]


def test_sprites_fragments_data_and_the_page_itself_are_not_requisites():
    got = found(
        '<svg><use href="#dot"/></svg><svg><use xlink:href="/sprite.svg#dot"/></svg>'
        '<img src="data:image/png;base64,AAAA"><img src="story.html#top"><img src="">'
    )
    assert got == [("image", "https://news.example/sprite.svg")]


def test_css_imports_fonts_images_comments_and_image_sets():
    css = """@import url("a.css") screen; @import 'b.css';
    /* url(commented.png) */
    @font-face { font-family: X; src: url(x.woff2) format("woff2"), url('x.woff'); }
    .hero { background: image-set("h1.png" 1x, "h2.png" 2x); }
    .icon { background: url( i.svg ) no-repeat; }"""
    got = [(str(r.kind), r.url.rsplit("/", 1)[1]) for r in in_css(css, PAGE)]
    assert got == [
        ("stylesheet", "a.css"),
        ("stylesheet", "b.css"),
        ("font", "x.woff2"),
        ("font", "x.woff"),
        ("image", "i.svg"),
        ("image", "h1.png"),
        ("image", "h2.png"),
    ]


def u(name: str) -> NormalizedURL:
    return NormalizedURL(f"https://s.example/{name}")


def archived(url: str) -> RequisiteCheck:
    return RequisiteCheck(
        url=url, kind=K.IMAGE, outcome=RequisiteOutcome.ARCHIVED, reason="ok", detail=""
    )


def test_the_book_fetches_a_shared_sheet_once_and_counts_it_for_both_pages():
    book = Book(RequisiteSettings(), cited=[u("p1"), u("p2")])
    (sheet,) = book.found(u("p1"), [Requisite(u("s.css"), K.STYLESHEET)])
    assert book.found(u("p2"), [Requisite(u("s.css"), K.STYLESHEET)]) == []
    (font,) = book.found(u("s.css"), [Requisite(u("f.ttf"), K.FONT)], wanted=sheet)
    assert (font.owner, font.depth) == (u("p1"), 2)
    book.checked(sheet, archived(sheet.url), 10)
    report = book.report({})
    assert report.pages[u("p2")].found == 2  # the sheet, and the font it names
    assert report.pages[u("p2")].archived == 1
    assert report.pages[u("p2")].not_fetched == 1  # the font never came back
    lines = {line.check.url: line.pages for line in report.lines}
    assert lines[u("f.ttf")] == (u("p1"), u("p2"))


def test_the_report_counts_every_page_searched_and_only_those():
    book = Book(RequisiteSettings(), cited=[u("plain"), u("full"), u("dead")])
    book.found(u("plain"), [])  # searched: it needs nothing
    (image,) = book.found(u("full"), [Requisite(u("i.png"), K.IMAGE)])
    book.checked(image, archived(image.url), 10)
    pages = book.report({}).pages  # "dead" was never searched
    assert sorted(pages) == [u("full"), u("plain")]
    assert len(pages) == 2
    assert (pages[u("plain")].found, pages[u("plain")].archived) == (0, 0)
    assert (pages[u("full")].found, pages[u("full")].archived) == (1, 1)
    assert u("dead") not in pages
    assert pages.get(u("dead")) is None
    assert sorted(c.found for c in pages.values()) == [0, 1]


def test_the_book_caps_a_page_and_stops_deep_chains():
    book = Book(RequisiteSettings(max_per_page=3), cited=[u("p")])
    many = [Requisite(u(f"{n}.png"), K.IMAGE) for n in range(10)]
    assert len(book.found(u("p"), many)) == 3
    counts = book.report({}).pages[u("p")]
    assert (counts.found, counts.not_fetched) == (10, 10)  # none came back yet
    deep = Book(RequisiteSettings(), cited=[u("p")])
    (sheet,) = deep.found(u("p"), [Requisite(u("0.css"), K.STYLESHEET)])
    depth = 1
    while fresh := deep.found(
        sheet.url, [Requisite(u(f"{depth}.css"), K.STYLESHEET)], wanted=sheet
    ):
        (sheet,) = fresh
        depth += 1
    assert 3 <= depth < 10
    assert depth == sheet.depth


def test_the_book_stops_a_page_at_its_byte_budget():
    book = Book(RequisiteSettings(max_bytes_per_page=100), cited=[u("p")])
    first, second = book.found(
        u("p"), [Requisite(u("a"), K.IMAGE), Requisite(u("b"), K.IMAGE)]
    )
    assert book.may_fetch(first)
    book.checked(first, archived(first.url), 150)
    assert not book.may_fetch(second)
    line = {x.check.url: x.check for x in book.report({}).lines}[second.url]
    assert (line.outcome, line.reason) == (
        RequisiteOutcome.NOT_FETCHED,
        "over-byte-budget",
    )


async def test_the_frontier_picks_up_work_added_while_it_runs(autojump_clock):
    """Hosts whose workers had left get new ones; each keeps to per_host."""
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    done: list[str] = []

    async def handle(item: Work, frontier: Frontier) -> Finished | None:
        url = item.url
        host = url.split("/")[2]
        in_flight[host] += 1
        peak[host] = max(peak[host], in_flight[host])
        await trio.sleep(1)
        in_flight[host] -= 1
        done.append(url)
        if isinstance(item, Target):  # each page needs three things on another host
            for n in range(3):
                frontier.add(
                    Wanted(
                        NormalizedURL(f"https://b.example/{url[-1]}{n}"),
                        K.IMAGE,
                        item.url,
                        1,
                    )
                )
        return None

    send, receive = trio.open_memory_channel[Finished](0)
    pages = [
        Target(url=NormalizedURL(f"https://a.example/{n}"), citations=())
        for n in range(4)
    ]
    async with send, receive:
        await Frontier(2, handle).run(pages, send)
    assert len(done) == 4 + 12
    assert peak == {"a.example": 2, "b.example": 2}


def spooled(tmp_path, data: bytes, encoding: bytes | None) -> Hop:
    path = tmp_path / "body"
    path.write_bytes(data)
    headers = ((b"Content-Encoding", encoding),) if encoding else ()
    return Hop(
        url=PAGE, method="GET", target="/", request_headers=(), http_version="HTTP/1.1",
        status=200, reason="OK", response_headers=headers,
        body=Body(path=path, length=len(data), truncated=False, complete=True),
        peer_ip=None, started=datetime.now(UTC),
    )  # fmt: skip


def test_a_small_body_that_inflates_hugely_is_read_only_to_the_limit(tmp_path):
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    assert decoded_body(spooled(tmp_path, bomb, b"gzip"), 4096) == b"\0" * 4096


def test_bodies_in_every_deflate_spelling_and_broken_ones_are_read(tmp_path):
    text = b"<link rel=stylesheet href=a.css>" * 10
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    deflated = raw.compress(text) + raw.flush()
    assert (
        decoded_body(spooled(tmp_path, zlib.compress(text), b"deflate"), 10**6) == text
    )
    assert decoded_body(spooled(tmp_path, deflated, b"deflate"), 10**6) == text
    cut = gzip.compress(text)[:-12]  # the connection broke: what came is kept
    assert text.startswith(decoded_body(spooled(tmp_path, cut, b"gzip"), 10**6))
    assert decoded_body(spooled(tmp_path, b"plain", b"gzip"), 10**6) == b"plain"
