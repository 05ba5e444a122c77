"""A small web site whose page needs everything a browser loads, on the fake web.

The page (HTTP) uses: a relative ``<base href>``; a stylesheet that
``@import``s a second one, which names a web font; a CSS background image; a
``<style>`` block with a ``url()``; ``srcset`` images at two densities; a lazy
image a script swaps in from ``data-src``; an inline SVG sprite (``<use
href="#dot">``, which is no requisite); a script that sets text; an icon; and
an iframe on the HTTPS server with a stylesheet of its own and a background
image in that. Images are solid colours of their own, so a screenshot shows
whether each one loaded.
"""

from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.fakeweb.server import PNG, FakeWeb


def png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> bytes:
    """A solid PNG; Pillow when present (the browser test has it), else a pixel."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow is in the test extra
        return PNG
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


@dataclass(frozen=True)
class Site:
    page: str  # the page's URL
    requisites: dict[str, str]  # name -> URL, everything the page needs
    frame: str  # the iframe page's URL (also a requisite)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>A whole page</title>
<base href="assets/">
<link rel="stylesheet" href="main.css">
<link rel="icon" href="icon.png">
<style>.boxed {{ background-image: url("box.png"); width: 60px; height: 30px; }}</style>
</head><body>
<h1 class="fancy">Captured whole</h1>
<p id="by-script">not yet</p>
<img src="photo-1x.png" srcset="photo-1x.png 1x, photo-2x.png 2x"
     width="80" height="40" alt="srcset">
<img class="lazy" src="placeholder.png" data-src="lazy.png" width="80" height="40"
     alt="lazy">
<svg width="0" height="0" style="position:absolute"><symbol id="dot"
 viewBox="0 0 10 10"><circle cx="5" cy="5" r="5" fill="#c00"/></symbol></svg>
<svg width="40" height="40"><use href="#dot"/></svg>
<div class="boxed"></div>
<div class="banner"></div>
<iframe src="{frame}" width="220" height="90"></iframe>
<script src="app.js"></script>
</body></html>
"""
MAIN_CSS = """@import "more.css";
body { margin: 8px; font-family: sans-serif; }
.banner { width: 120px; height: 20px; background: url(banner.png) repeat-x; }
"""
MORE_CSS = """@font-face {
  font-family: "Test Face"; src: url("face.ttf") format("truetype");
}
h1.fancy { font-family: "Test Face", serif; color: #024; font-size: 40px; }
"""
APP_JS = """document.getElementById("by-script").textContent = "set by script";
for (const img of document.querySelectorAll("img.lazy")) img.src = img.dataset.src;
"""
FRAME = """<!doctype html><html><head><link rel="stylesheet" href="frame.css"></head>
<body><p class="framed">in a frame</p></body></html>
"""
FRAME_CSS = """body { background: #dfd url(frame-bg.png) no-repeat; margin: 0; }
.framed { color: #060; padding: 20px 40px; font: 16px sans-serif; }
"""


def build(web: FakeWeb, token: str, font: bytes) -> Site:
    """Serve the site under ``/files/<token>/``; ``font`` is a TrueType file."""
    root = f"{token}/"
    assets = f"{token}/assets/"
    frame = web.https_url(web.put(root + "frame.html", FRAME))
    page = web.url(web.put(root + "page.html", PAGE.format(frame=frame)))
    web.put(root + "frame.css", FRAME_CSS, "text/css")
    web.put(root + "frame-bg.png", png((40, 160, 40), (20, 20)), "image/png")
    files: dict[str, tuple[bytes | str, str]] = {
        "main.css": (MAIN_CSS, "text/css"),
        "more.css": (MORE_CSS, "text/css"),
        "face.ttf": (font, "font/ttf"),
        "banner.png": (png((200, 120, 0), (12, 20)), "image/png"),
        "box.png": (png((0, 90, 200), (60, 30)), "image/png"),
        "icon.png": (png((9, 9, 9), (16, 16)), "image/png"),
        "photo-1x.png": (png((220, 30, 30), (80, 40)), "image/png"),
        "photo-2x.png": (png((30, 30, 220), (160, 80)), "image/png"),
        "placeholder.png": (png((128, 128, 128), (8, 8)), "image/png"),
        "lazy.png": (png((250, 220, 0), (80, 40)), "image/png"),
        "app.js": (APP_JS, "text/javascript"),
    }
    requisites = {
        name: web.url(web.put(assets + name, body, kind))
        for name, (body, kind) in files.items()
    }
    requisites["frame.html"] = frame
    requisites["frame.css"] = web.https_url(f"/files/{root}frame.css")
    requisites["frame-bg.png"] = web.https_url(f"/files/{root}frame-bg.png")
    return Site(page=page, requisites=requisites, frame=frame)


def path_of(url: str) -> str:
    """The path (and query) of ``url``, as the fake web's ledger keys it."""
    return "/" + url.split("/", 3)[3]


NO_FONT = b"no font here"


def machine_font() -> bytes:
    """A TrueType font the page's @font-face names: any the machine has.

    Chromium needs fonts of its own to draw at all; one of them is served as
    the web font, so a failed font load shows as a different face. Without
    fontconfig's ``fc-match`` the font served is not a font: both loads then
    fall back alike, and the rest of the test still holds.
    """
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", "DejaVu Sans Mono:bold"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return NO_FONT
    path = Path(found.stdout.strip())
    if found.returncode != 0 or path.suffix.lower() != ".ttf" or not path.is_file():
        return NO_FONT
    return path.read_bytes()
