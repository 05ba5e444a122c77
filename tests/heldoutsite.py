"""A page the requisite code was never written for: a real article's markup.

The shared corpus's BBC quiz article (``waimei/bbc/2020-10-23_37ac8c841175.md``)
holds its page's real structure and class names, two stylesheet links (one
through a ``../`` path, both with an odd ``?/?v=`` query), lazy images and
audio. It is served from the fake web as that page: every URL on the BBC's
file host is moved to the fake web with its path kept, and the stylesheets,
which the corpus does not hold, are written here against the article's own
class names, with a web font and background images, so a requisite missing
on replay shows in the picture. Nothing else of the markup is changed.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass
from pathlib import Path

from archiver.articles import seeds
from tests.fakeweb.server import FakeWeb
from tests.requisitesite import png

ARTICLE = Path("waimei") / "bbc" / "2020-10-23_37ac8c841175.md"
FILE_HOST = "https://news.files.bbci.co.uk/"

PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>{title}</title>
<link rel="stylesheet" href="{site_css}">
</head><body><main class="page">{body}</main></body></html>
"""
# The page's own stylesheet: the news site's generated class names.
SITE_CSS = """@font-face {
  font-family: "Held Out"; src: url("fonts/held-out.ttf") format("truetype");
}
body { margin: 0; background: #f4f1ea; font: 14px/1.4 sans-serif; }
.page { width: 760px; margin: 0 auto; background: url("img/rule.png") repeat-x; }
.Headline-sc-1kh1qhu-0 { font: 30px "Held Out", serif; color: #7a0019;
  border-bottom: 6px solid #7a0019; margin: 12px 0; padding-top: 14px; }
.StyledTimestamp-um718p-0 { display: block; color: #fff; background: #333;
  padding: 2px 6px; width: 120px; }
.Paragraph-k859h4-0 { color: #123; margin: 6px 0; }
.Paragraph-k859h4-0 b { color: #0b5394; }
"""
# The quiz embed's stylesheets, at the paths the article links.
INLINE_CSS = """@import "quiz-frame.css";
.bbc-news-vj-embed-wrapper { border: 4px dashed #2d6a4f; padding: 6px; }
.quiz__progress { display: block; width: 100%; height: 14px; }
"""
FRAME_CSS = """.carousel { background: #ffe8a3 url("../img/stripe.png") repeat-y; }
"""
APP_CSS = """.question { display: flex; gap: 8px; padding: 8px; }
.question__img { width: 160px; height: 90px; border: 3px solid #5a189a; }
.question__question { font: 18px "Held Out", serif; color: #5a189a; }
.question__choice--correct, .question__choice--wrong { background: #d8f3dc; }
.gel-double-pica { font-size: 20px; }
.hidden { display: none; }
"""


@dataclass(frozen=True)
class Site:
    page: str  # the page's URL
    token: str  # every path the site serves holds it
    requisites: list[str]  # the URLs a browser loads to show the page


def _colour(path: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(path.encode()).digest()
    return digest[0], digest[1], digest[2]


def build(web: FakeWeb, corpus: Path, token: str, font: bytes) -> Site:
    """Serve the article as its page under ``/files/<token>/``."""
    article = seeds.read(corpus / ARTICLE)
    root = f"{token}/bbc/"
    files = f"{token}/bbci/"
    moved = web.url(f"/files/{files}")
    body = article.body.replace(FILE_HOST, moved)
    requisites: list[str] = []

    def serve(path: str, body: bytes | str, kind: str) -> str:
        url = web.url(web.put(path, body, kind))
        requisites.append(url)
        return url

    site_css = serve(root + "site.css", SITE_CSS, "text/css")
    serve(root + "fonts/held-out.ttf", font, "font/ttf")
    serve(root + "img/rule.png", png((230, 220, 200), (4, 60)), "image/png")
    page = web.url(
        web.put(
            root + "article.html",
            PAGE.format(title=article.title, site_css=site_css, body=body),
        )
    )
    quiz = files + "include/vjeastasia/687-bno_quiz/assets/"
    serve(quiz + "embed/css/inline.css", INLINE_CSS, "text/css")
    serve(quiz + "embed/css/quiz-frame.css", FRAME_CSS, "text/css")
    # linked as app-project-assets/../embed/css/app.css: a browser resolves it
    app = posixpath.normpath(quiz + "app-project-assets/../embed/css/app.css")
    serve(app, APP_CSS, "text/css")
    serve(quiz + "embed/img/stripe.png", png((255, 200, 80), (30, 4)), "image/png")
    for line in body.split(moved)[1:]:
        path = line.split('"', 1)[0].split("?", 1)[0]
        if path.endswith(".png"):
            serve(files + path, png(_colour(path), (160, 90)), "image/png")
        elif path.endswith(".wav"):
            serve(files + path, b"RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wav")
    return Site(page=page, token=token, requisites=requisites)
