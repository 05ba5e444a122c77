"""A preserved page replays whole: Chromium shows the same picture live and from pywb.

The test site (``tests/requisitesite.py``) is archived by the real CLI; pywb
serves the run's collection; headless Chromium (Debian's ``chromium``) loads
the page twice, live from the fake web and from pywb, and takes a screenshot
each time. Every host name is sent to a sentinel server
(``--host-resolver-rules``), which records what reaches it: nothing may. Then:

* no request escapes replay: the sentinel saw nothing, and the fake web saw
  no request for the site while the replay loaded;
* pywb answered no request for the site with a 404 (every requisite that
  existed live is in the archive);
* the two screenshots are the same picture: at most 1% of the pixels differ
  by more than a small tolerance (Pillow).

Skipped without chromium, as the report's browser test is.
"""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from archiver.warc.index import INDEX_NAME
from tests import heldoutsite, requisitesite
from tests.clirun import read_manifest, run_cli, write_article
from tests.corpusfiles import corpus_folder
from tests.fakeweb.server import FakeWeb
from tests.replaytools import Wayback, pywb_venv
from tests.requisitesite import path_of

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="needs Debian's chromium package (apt-get install chromium), which "
        ".ci/run installs; the replay-in-a-browser test cannot run without it",
    ),
]

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    "--hide-scrollbars", "--force-device-scale-factor=1", "--window-size=800,600",
    "--ignore-certificate-errors", "--virtual-time-budget=10000",
    "--enable-logging=stderr", "--v=0",
    # the browser's own calls home (network time, component updates)
    "--disable-features=NetworkTimeServiceQuerying,OptimizationHints",
    "--component-updater=disable-background-downloads,disable-delta-updates",
)  # fmt: skip
TOLERANCE = 24  # per channel, out of 255: anti-aliasing may differ a little
MAX_DIFFERENT = 0.01  # share of pixels allowed to differ by more than that


class _Sentinel(http.server.BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:
        # What a page loads carries its Referer; the browser's own calls home
        # (component updates, which no flag quite stops) carry none.
        if self.headers.get("Referer"):
            self.seen.append(f"{self.headers.get('Host')} {self.path}")
        self.send_response(599)
        self.end_headers()

    do_POST = do_HEAD = do_CONNECT = do_GET

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def sentinel() -> Iterator[tuple[int, list[str]]]:
    """A server every host name resolves to; what reaches it escaped."""
    seen: list[str] = []
    handler = type("Sentinel", (_Sentinel,), {"seen": seen})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1]), seen
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Shot:
    image: Path
    console: list[str]


def screenshot(address: str, folder: Path, sentinel_port: int) -> Shot:
    assert CHROMIUM is not None
    folder.mkdir(parents=True, exist_ok=True)
    image = folder / "shot.png"
    rules = f"MAP * 127.0.0.1:{sentinel_port}, EXCLUDE 127.0.0.1"
    result = subprocess.run(
        [
            CHROMIUM, *FLAGS, f"--user-data-dir={folder / 'profile'}",
            f"--host-resolver-rules={rules}", f"--screenshot={image}", address,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert image.is_file(), result.stderr[-3000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return Shot(image, console)


def different_share(a: Path, b: Path) -> float:
    with Image.open(a) as one, Image.open(b) as two:
        assert one.size == two.size
        diff = ImageChops.difference(one.convert("RGB"), two.convert("RGB"))
        # a pixel is off when any of its channels is: the largest channel wins
        channels = [
            band.point(lambda v: 255 if v > TOLERANCE else 0) for band in diff.split()
        ]
        worst = ImageChops.lighter(
            ImageChops.lighter(channels[0], channels[1]), channels[2]
        )
        histogram = worst.histogram()
        return histogram[255] / (one.size[0] * one.size[1])


def capture_time(out: Path, url: str) -> str:
    for path in sorted(out.glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_headers.get_header("WARC-Target-URI") == url:
                    return str(
                        iso_date_to_timestamp(
                            record.rec_headers.get_header("WARC-Date")
                        )
                    )
    raise AssertionError(f"{url} is not in the archive")


@dataclass(frozen=True)
class Compared:
    live: Shot
    replayed: Shot
    live_paths: set[str]  # what the live load asked the fake web for


def preserve_then_compare(
    fakeweb: FakeWeb, tmp_path: Path, sentinel_port: int, page: str, token: str
) -> Compared:
    """Preserve ``page``, load it live and from pywb, assert replay is whole.

    ``token`` is in every path the site serves, so the fake web's ledger
    tells the site's requests from other tests'.
    """
    write_article(tmp_path / "a.txt", page, "<p>see the page</p>")
    out = tmp_path / "out"
    result = run_cli(
        "preserve", "--browser", "never",
        str(tmp_path / "a.txt"), "--out", str(out), "--allow-private",
        "--ca-bundle", str(fakeweb.ca_pem), "--no-probe",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert read_manifest(out)[page]["completeness"] == 1.0

    live = screenshot(page, tmp_path / "live", sentinel_port)
    live_paths = {p for p in fakeweb.ledger.paths() if token in p}
    before = {p: fakeweb.ledger.hits(p) for p in live_paths}

    root = tmp_path / "pywb"
    collection = root / "collections" / "run"
    (collection / "indexes").mkdir(parents=True)
    (collection / "archive").symlink_to(out)
    shutil.copy(out / INDEX_NAME, collection / "indexes" / "index.cdxj")
    # Unframed replay: the page itself at the top, no pywb frame and banner
    # around it, so its screenshot can be laid over the live one.
    (root / "config.yaml").write_text("framed_replay: false\n")
    with Wayback(pywb_venv(), root) as wayback:
        stamp = capture_time(out, page)
        address = f"http://127.0.0.1:{wayback.port}/run/{stamp}mp_/{page}"
        replayed = screenshot(address, tmp_path / "replay", sentinel_port)
        log = wayback.log()

    after = {p: fakeweb.ledger.hits(p) for p in fakeweb.ledger.paths() if token in p}
    assert after == before, "the replay reached the live site"
    missing = [line for line in log.splitlines() if token in line and " 404 " in line]
    assert missing == []
    failed = [line for line in replayed.console if "Failed to load" in line]
    assert failed == []
    share = different_share(live.image, replayed.image)
    assert share <= MAX_DIFFERENT, (share, live.console, replayed.console)
    return Compared(live=live, replayed=replayed, live_paths=live_paths)


def test_the_page_replays_whole_and_looks_the_same(
    fakeweb: FakeWeb, tmp_path: Path, sentinel: tuple[int, list[str]]
):
    sentinel_port, escaped = sentinel
    token = uuid.uuid4().hex[:8]
    site = requisitesite.build(fakeweb, token, requisitesite.machine_font())
    compared = preserve_then_compare(fakeweb, tmp_path, sentinel_port, site.page, token)
    assert escaped == [], "\n".join(escaped)
    loaded = {n: u for n, u in site.requisites.items() if n != "photo-2x.png"}
    assert {requisitesite.path_of(u) for u in loaded.values()} <= compared.live_paths


def test_a_real_articles_markup_replays_whole_and_looks_the_same(
    fakeweb: FakeWeb, tmp_path: Path, sentinel: tuple[int, list[str]]
):
    """Issue 15's held-out check: markup the requisite code was not written for."""
    corpus = corpus_folder()
    if corpus is None:
        pytest.skip("the shared article corpus is not next to this checkout")
    sentinel_port, escaped = sentinel
    token = uuid.uuid4().hex[:8]
    site = heldoutsite.build(fakeweb, corpus, token, requisitesite.machine_font())
    compared = preserve_then_compare(fakeweb, tmp_path, sentinel_port, site.page, token)
    assert escaped == [], "\n".join(escaped)
    # the styles, font and images really loaded live, so the picture compared
    # is of the styled page: both stylesheets of the embed, the @import in one
    # of them, the page's own, its font and background
    # (the article links its stylesheets with a "?/?v=" query)
    loaded = {path.split("?", 1)[0] for path in compared.live_paths}
    styled = {path_of(url) for url in site.requisites if url.endswith((".css", ".ttf"))}
    assert styled <= loaded
    assert any(path.endswith("stripe.png") for path in loaded)
