"""A preserved page replays in ReplayWeb.page, from the WACZ alone, whole.

pywb is one replay tool; the other that readers use is ReplayWeb.page,
which runs in the browser: its web component loads the WACZ through a
service worker and shows the page in a frame. The test site
(``tests/requisitesite.py``: stylesheets with an ``@import`` and a web font,
images in ``srcset`` and swapped in by a script, a script that writes text,
an HTTPS iframe with a stylesheet of its own) is archived by the real CLI
and packed by ``archiver package``; ReplayWeb.page (``npm pack``ed into
``.tools/``, see ``tests/replaytools.py``) is served with that WACZ from a
static server on 127.0.0.1, and headless Chromium opens it, driven over
DevTools by the project's own client. Read from the replayed page's DOM:
the text, the stylesheet's colour and font, both images decoded, the
script's text, the frame and its own style; and the fake web saw no request
for the site while the replay loaded (every byte came from the WACZ).

Skipped, with the reason, without chromium or npm.
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from tests import requisitesite
from tests.browsertools import devtools_tab, needs_chromium
from tests.clirun import read_manifest, run_cli, write_article
from tests.fakeweb.server import FakeWeb
from tests.replaytools import replaywebpage

NPM = shutil.which("npm")

pytestmark = [pytest.mark.slow, needs_chromium]

# Every name but loopback goes nowhere, so nothing can be fetched from the
# internet behind the test's back (nor is there any: the machine is offline).
FLAGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1000,800",
)
REPLAY_TIMEOUT = 90.0

# Walk every document reachable from the top one, through shadow roots and
# same-origin frames (ReplayWeb.page nests both), and describe the one that
# is the replayed page: its address names the archived URL after "mp_/".
FIND_PAGE = """
(() => {
  const wanted = %s;
  function roots(doc) {
    const found = [doc];
    for (let i = 0; i < found.length; i++)
      for (const el of found[i].querySelectorAll("*"))
        if (el.shadowRoot) found.push(el.shadowRoot);
    return found;
  }
  function frames(doc) {
    const docs = [];
    for (const root of roots(doc))
      for (const frame of root.querySelectorAll("iframe")) {
        try { if (frame.contentDocument) docs.push(frame.contentDocument); }
        catch (e) {}
      }
    return docs;
  }
  function describe(doc) {
    const style = (sel, prop) => {
      const el = doc.querySelector(sel);
      return el ? doc.defaultView.getComputedStyle(el)[prop] : null;
    };
    const image = (sel) => {
      const el = doc.querySelector(sel);
      return el ? [el.complete, el.naturalWidth, el.currentSrc] : null;
    };
    const inner = frames(doc).find(
      d => d.body && d.body.innerText.includes("in a frame"));
    return {
      address: doc.location.href,
      text: doc.body ? doc.body.innerText : "",
      h1_colour: style("h1.fancy", "color"),
      font_loaded: doc.fonts.check('40px "Test Face"'),
      photo: image("img[alt=srcset]"),
      lazy: image("img.lazy"),
      by_script: (doc.getElementById("by-script") || {}).textContent || null,
      frame_colour: inner ? inner.defaultView.getComputedStyle(
        inner.querySelector(".framed")).color : null,
    };
  }
  const queue = [document];
  for (let i = 0; i < queue.length && i < 50; i++) {
    const doc = queue[i];
    if (doc.location.href.includes("mp_/" + wanted)) return describe(doc);
    queue.push(...frames(doc));
  }
  return null;
})()
"""


@pytest.fixture
def site_folder(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A static server on 127.0.0.1 for ReplayWeb.page's files and the WACZ."""
    folder = tmp_path / "site"
    folder.mkdir()
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, server.server_address[1]
    server.shutdown()
    server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def font() -> bytes:
    """The machine's font, served as the page's web font (its load is checked)."""
    found = requisitesite.machine_font()
    if found == requisitesite.NO_FONT:
        pytest.skip("no TrueType font on this machine to serve as the web font")
    return found


async def replayed_page(address: str, page: str, scratch: Path) -> dict[str, Any]:
    """Open ``address`` in Chromium and describe the replayed ``page`` once whole."""
    last: dict[str, Any] | None = None
    async with devtools_tab(FLAGS, scratch) as (browser, session):
        await browser.send("Page.enable", {}, session)
        await browser.send("Page.navigate", {"url": address}, session)
        expression = FIND_PAGE % json.dumps(page)
        with trio.move_on_after(REPLAY_TIMEOUT):
            while True:
                answer = await browser.send(
                    "Runtime.evaluate",
                    {"expression": expression, "returnByValue": True},
                    session,
                )
                value = answer.get("result", {}).get("value")
                if isinstance(value, dict):
                    last = value
                    if _whole(value):
                        break
                await trio.sleep(0.5)
    assert last is not None, f"ReplayWeb.page never showed {page}"
    return last


def _whole(seen: dict[str, Any]) -> bool:
    images = [seen["photo"], seen["lazy"]]
    return (
        "Captured whole" in seen["text"]
        and seen["font_loaded"]
        and seen["by_script"] == "set by script"
        and all(image and image[0] and image[1] > 0 for image in images)
        and "lazy.png" in (seen["lazy"] or ["", 0, ""])[2]
        and seen["frame_colour"] is not None
    )


def test_a_packed_run_replays_whole_in_replaywebpage(
    fakeweb: FakeWeb, tmp_path: Path, site_folder: tuple[Path, int]
):
    if NPM is None:
        pytest.skip("needs npm, to fetch ReplayWeb.page's files from its registry")
    tool = replaywebpage()
    assert tool is not None
    token = uuid.uuid4().hex[:8]
    site = requisitesite.build(fakeweb, token, font())
    write_article(tmp_path / "a.txt", site.page, "<p>see the page</p>")
    out = tmp_path / "out"
    result = run_cli(
        "preserve", "--browser", "never", str(tmp_path / "a.txt"), "--out", str(out),
        "--allow-private", "--ca-bundle", str(fakeweb.ca_pem), "--no-probe",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert read_manifest(out)[site.page]["completeness"] == 1.0
    folder, port = site_folder
    packed = run_cli("package", str(out), "--out", str(folder / "archive.wacz"))
    assert packed.returncode == 0, packed.stderr

    (folder / "replay").mkdir()
    shutil.copy(tool / "ui.js", folder / "ui.js")
    shutil.copy(tool / "sw.js", folder / "replay" / "sw.js")
    (folder / "index.html").write_text(
        "<!doctype html><html><head><script src='ui.js'></script></head><body>"
        f"<replay-web-page source='archive.wacz' url='{site.page}' embed='replayonly'>"
        "</replay-web-page></body></html>"
    )
    before = {p: fakeweb.ledger.hits(p) for p in fakeweb.ledger.paths() if token in p}

    seen = trio.run(
        replayed_page, f"http://127.0.0.1:{port}/index.html", site.page, tmp_path
    )

    assert "Captured whole" in seen["text"], seen
    assert seen["by_script"] == "set by script", seen
    assert seen["h1_colour"] == "rgb(0, 34, 68)", seen  # from the @import-ed sheet
    assert seen["font_loaded"], seen  # the web font the imported sheet names
    for image, width in ((seen["photo"], 80), (seen["lazy"], 80)):
        assert image is not None, seen
        complete, natural, _ = image
        assert complete, seen
        assert natural == width, seen
    assert "lazy.png" in seen["lazy"][2], seen  # the script's swap replayed too
    assert seen["frame_colour"] == "rgb(0, 102, 0)", seen  # the frame's own sheet
    after = {p: fakeweb.ledger.hits(p) for p in fakeweb.ledger.paths() if token in p}
    assert after == before, "the replay reached the live site"
