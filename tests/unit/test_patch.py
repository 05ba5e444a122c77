"""Where links sit in an article, and patched copies that change only the fixed tags."""

from __future__ import annotations

import html
from pathlib import Path

from hypothesis import given, strategies as st

from archiver.articles.extract import links, markdown_destinations
from archiver.articles.patch import PatchMode, patched
from archiver.articles.placement import placements
from archiver.articles.seeds import parse
from archiver.models import Article, Placement

HEAD = "<!--1729735621000-->\n[A story](https://news.example/story)\n------\n\n"
BODY = (
    '<figure><img src="/lead.jpg" alt="lead"></figure>\n'
    '<p>As <a href="https://dead.example/a?x=1&amp;y=2" title="t">reported</a>, '
    "and <img src='/second.png'> too.</p>\n"
    '<picture><source srcset="/s1.jpg 1x, /s2.jpg 2x"></picture>\n'
    '<iframe src="https://video.example/embed"></iframe>\n'
    '<aside><a href="https://related.example/">Related</a></aside>\n'
    '<footer><a href="https://dead.example/a?x=1&y=2">again</a>'
    '<a href="https://footer.example/only">only here</a></footer>\n'
)
TEXT = HEAD + BODY
DEAD = "https://dead.example/a?x=1&y=2"
# The replacement as an attribute value: "&" written "&amp;", as HTML wants.
ESCAPED = html.escape("https://replay.example/archive/20260101000000/" + DEAD)
REPLACEMENTS = {
    DEAD: "https://replay.example/archive/20260101000000/" + DEAD,
    "https://news.example/s1.jpg": "https://replay.example/s1",
    "https://video.example/embed": "https://replay.example/v",
}


def article() -> Article:
    return parse(Path("story.txt"), TEXT.encode())


def test_placements_lead_image_text_media_and_footer():
    found = placements(article())
    assert found["https://news.example/story"] is Placement.OWN_PAGE
    assert found["https://news.example/lead.jpg"] is Placement.LEAD_IMAGE
    assert found["https://news.example/second.png"] is Placement.MEDIA
    # Cited in the text and again in the footer: the text counts.
    assert found[DEAD] is Placement.IN_TEXT
    assert found["https://related.example/"] is Placement.FOOTER
    assert found["https://footer.example/only"] is Placement.FOOTER
    assert found["https://video.example/embed"] is Placement.MEDIA


def test_replace_changes_only_the_citing_attributes():
    copy = patched(TEXT, "https://news.example/story", REPLACEMENTS, PatchMode.REPLACE)
    assert copy.fixed == 4  # two citations of DEAD, one srcset candidate, the iframe
    expected = (
        TEXT.replace(
            'href="https://dead.example/a?x=1&amp;y=2"',
            f'href="{ESCAPED}"',
        )
        .replace('href="https://dead.example/a?x=1&y=2"', f'href="{ESCAPED}"')
        .replace("/s1.jpg 1x", "https://replay.example/s1 1x")
        .replace('src="https://video.example/embed"', 'src="https://replay.example/v"')
    )
    assert copy.text == expected


def test_beside_keeps_the_link_and_adds_an_archived_copy_after_it():
    copy = patched(TEXT, "https://news.example/story", REPLACEMENTS, PatchMode.BESIDE)
    link = f'<a href="{ESCAPED}" class="archived-copy">archived copy</a>'
    assert f'title="t">reported</a> {link}, ' in copy.text
    assert f">again</a> {link}<a " in copy.text
    video = '<a href="https://replay.example/v" class="archived-copy">'
    assert f"</iframe> {video}" in copy.text
    # Removing what was added gives the original back, character for character.
    stripped = copy.text
    for new in (link, video + "archived copy</a>"):
        stripped = stripped.replace(" " + new, "")
    extra = (
        ' <a href="https://replay.example/s1" class="archived-copy">archived copy</a>'
    )
    assert stripped.replace(extra, "") == TEXT


def test_the_header_and_an_unknown_url_are_left_alone():
    own = {"https://news.example/story": "https://replay.example/own"}
    copy = patched(TEXT, "https://news.example/story", own, PatchMode.REPLACE)
    assert copy == type(copy)(text=TEXT, fixed=0)


def test_crlf_files_keep_their_line_ends():
    text = TEXT.replace("\n", "\r\n")
    copy = patched(text, "https://news.example/story", REPLACEMENTS, PatchMode.REPLACE)
    assert copy.fixed == 4
    assert copy.text.count("\r\n") == text.count("\r\n")
    assert "\n" not in copy.text.replace("\r\n", "")


MARKDOWN = (
    HEAD + 'See [the report](https://dead.example/md "a (title)") and '
    "![chart](</img/dead chart.png>) and [kept](https://alive.example/).\n"
)
MD_REPLACEMENTS = {
    "https://dead.example/md": "https://replay.example/1/https://dead.example/md",
    "https://news.example/img/dead%20chart.png": "https://replay.example/2/x (y",
}


def test_markdown_links_and_images_are_replaced_in_place():
    copy = patched(
        MARKDOWN, "https://news.example/story", MD_REPLACEMENTS, PatchMode.REPLACE
    )
    assert copy.fixed == 2
    assert copy.text == MARKDOWN.replace(
        "(https://dead.example/md ",
        "(https://replay.example/1/https://dead.example/md ",
    ).replace("(</img/dead chart.png>)", "(<https://replay.example/2/x (y>)")


def test_markdown_beside_adds_a_link_after_the_closing_paren():
    copy = patched(
        MARKDOWN, "https://news.example/story", MD_REPLACEMENTS, PatchMode.BESIDE
    )
    assert copy.fixed == 2
    first = " ([archived copy](https://replay.example/1/https://dead.example/md))"
    assert f'"a (title)"){first} and ' in copy.text
    assert (
        "dead chart.png>) ([archived copy](<https://replay.example/2/x (y>)) and"
        in (copy.text)
    )


@given(
    st.lists(
        st.sampled_from(
            [
                "[a](",
                "![b](",
                "http://x/",
                "(y)",
                ")",
                "(",
                ' "t"',
                " 'u'",
                "<",
                ">",
                "\\)",
                " ",
                "\n",
                "c",
                "]",
                "[",
                "<http://z/>",
            ]
        ),
        max_size=24,
    )
)
def test_markdown_spans_are_the_links_extraction_finds(parts):
    body = "".join(parts)
    found = links(
        Article(
            path=Path("x.txt"), url=None, title="", published=None, body=body,
            text=body, sha256="",
        ),
        rules=(),
    )  # fmt: skip
    extracted = sorted(
        f.raw for f in found if f.citation.attribute in ("link", "image")
    )
    spans = sorted(body[start:end] for start, end, _, _ in markdown_destinations(body))
    written = [raw for raw in extracted if raw]  # an empty one cites nothing
    assert all(span in written for span in spans)
    if "\\" not in body:  # no escapes: the written form is the URL, always
        assert spans == written
    for start, end, close, _ in markdown_destinations(body):
        assert body[close - 1] == ")"
        assert start <= end < close
