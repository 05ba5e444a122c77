"""Where links sit in an article, and patched copies that change only the fixed tags."""

from __future__ import annotations

import html
from pathlib import Path

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
