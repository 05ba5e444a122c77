"""Pages built by script, captured in Debian's headless chromium through our proxy.

One module-scoped ``archiver preserve --browser always`` run (the real CLI in
a subprocess) archives a single-page app from the fake web over http and
over https: an HTML shell whose script fetches JSON and writes the text and
an image into the page. Every request the browser makes goes through the
run's recording proxy, so the WARC files hold the script-fetched JSON as
response/request pairs like any other capture, and the rendered result as
``urn:screenshot:`` and ``urn:dom:`` resource records. pywb then replays the
page to a second chromium that can reach nothing but pywb, and the text the
script built must be on screen. Skipped without chromium.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.timeutils import iso_date_to_timestamp

from archiver.warc.index import INDEX_NAME
from tests.browsertools import (
    CHROMIUM,
    FLAGS,
    Run,
    by_uri,
    needs_chromium,
    read_records,
)
from tests.clirun import links_to, read_manifest, run_cli, write_article
from tests.fakeweb.server import FakeWeb
from tests.replaytools import Wayback, pywb_venv

pytestmark = [needs_chromium, pytest.mark.slow]


def preserve_run(
    fakeweb: FakeWeb, folder: Path, urls: dict[str, str], *args: str
) -> Run:
    folder.mkdir(parents=True, exist_ok=True)
    write_article(
        folder / "a.txt", fakeweb.url("/page/browser-article"), links_to(urls)
    )
    out = folder / "out"
    result = run_cli(
        "preserve", str(folder / "a.txt"), "--out", str(out),
        "--ca-bundle", str(fakeweb.ca_pem), "--timeout", "5", *args,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Run(
        out=out,
        manifest=read_manifest(out),
        records=read_records(out),
        urls=urls,
        tokens={},
        stderr=result.stderr,
    )


@pytest.fixture(scope="module")
def always(fakeweb: FakeWeb, tmp_path_factory: pytest.TempPathFactory) -> Run:
    token = uuid.uuid4().hex[:8]
    urls = {
        "spa": fakeweb.url(f"/spa/plain-{token}"),
        "secure": fakeweb.https_url(f"/spa/secure-{token}"),
        "static": fakeweb.url(f"/page/static-{token}"),
    }
    run = preserve_run(
        fakeweb, tmp_path_factory.mktemp("always"), urls,
        "--browser", "always", "--allow-private", "--no-probe",
    )  # fmt: skip
    return Run(**{**run.__dict__, "tokens": {"spa": f"plain-{token}"}})


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature and chunk CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, pixels = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + payload) == crc, kind
        chunks.append(kind)
        if kind == b"IDAT":
            pixels += payload
        offset += 12 + length
    assert chunks[0] == b"IHDR"
    assert chunks[-1] == b"IEND"
    raw = zlib.decompress(pixels)
    assert len(set(raw)) > 2  # not one flat colour: something was drawn
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_browser_fetched_what_the_script_asked_for(always, fakeweb):
    for name in ("spa", "secure"):
        url = always.urls[name]
        entry = always.manifest[url]
        assert entry["outcome"] == "alive", entry
        assert "rendered in a browser" in entry["detail"]
        token = url.rsplit("/", 1)[1]
        data_url = url.replace(f"/spa/{token}", f"/spa-data/{token}")
        (response, body), *_ = by_uri(always, "response", data_url)
        assert body == fakeweb.sent_body(f"/spa-data/{token}")  # raw, as sent
        assert b"came as JSON" in body
        requests = by_uri(always, "request", data_url)
        assert [
            r.rec_headers.get_header("WARC-Concurrent-To") for r, _ in requests
        ] == [response.rec_headers.get_header("WARC-Record-ID")]
        image = url.replace(f"/spa/{token}", f"/image/spa-{token}.png")
        # (the fake web's images are all one PNG: later ones are revisits)
        assert by_uri(always, "response", image) or by_uri(always, "revisit", image)
    # an https page's requests reach the server through the proxy's TLS
    assert always.urls["secure"].startswith("https://")


def test_the_screenshot_and_the_dom_are_kept(always):
    url = always.urls["spa"]
    ((shot, png),) = by_uri(always, "resource", f"urn:screenshot:{url}")
    assert shot.rec_headers.get_header("Content-Type") == "image/png"
    width, height = png_size(png)
    assert width >= 800
    assert height >= 400
    ((dom_record, dom),) = by_uri(always, "resource", f"urn:dom:{url}")
    assert dom_record.rec_headers.get_header("Content-Type").startswith("text/html")
    assert b"came as JSON" in dom
    assert b"<h1>Built by script" in dom
    ((meta, fields),) = [(r, b) for r, b in by_uri(always, "metadata", url)]
    assert meta.rec_headers.get_header("WARC-Concurrent-To") == (
        shot.rec_headers.get_header("WARC-Record-ID")
    )
    assert b"rendered-because: --browser always" in fields
    assert b"settled: yes" in fields


def test_a_static_page_is_rendered_too_with_always(always):
    url = always.urls["static"]
    assert by_uri(always, "resource", f"urn:screenshot:{url}")


def test_the_records_pass_warcio_check(always):
    for path in sorted(always.out.glob("*.warc.gz")):
        check = subprocess.run(
            ["warcio", "check", "-v", str(path)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest failed" not in check.stdout


@pytest.fixture(scope="module")
def wayback(always: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wayback]:
    root = tmp_path_factory.mktemp("pywb-browser")
    archive = root / "collections" / "run" / "archive"
    archive.mkdir(parents=True)
    for warc in always.out.glob("*.warc.gz"):
        shutil.copy2(warc, archive / warc.name)
    indexes = root / "collections" / "run" / "indexes"
    indexes.mkdir()
    shutil.copy2(always.out / INDEX_NAME, indexes / "index.cdxj")
    # Unframed: the page is the top document, as --dump-dom reads it.
    (root / "config.yaml").write_text("framed_replay: false\n")
    with Wayback(pywb_venv(), root) as server:
        yield server


def test_the_replay_shows_what_the_script_built(always, wayback, fakeweb, tmp_path):
    assert CHROMIUM is not None
    url = always.urls["spa"]
    token = always.tokens["spa"]
    before = fakeweb.ledger.hits(f"/spa-data/{token}")
    picture = f"/image/spa-{token.replace('/', '-')}.png"
    pictures = fakeweb.ledger.hits(picture)
    stamp = iso_date_to_timestamp(
        by_uri(always, "resource", f"urn:dom:{url}")[0][0].rec_headers.get_header(
            "WARC-Date"
        )
    )
    address = f"http://127.0.0.1:{wayback.port}/run/{stamp}/{url}"
    result = subprocess.run(
        [
            CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
            # Nothing but pywb can be reached: everything else goes to a
            # proxy that does not exist.
            "--proxy-server=http://127.0.0.1:9",
            f"--proxy-bypass-list=<-loopback>;127.0.0.1:{wayback.port}",
            "--virtual-time-budget=10000", "--dump-dom", address,
        ],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"This article text for {token} came as JSON." in result.stdout
    assert f"spa-{token}.png" in result.stdout
    assert 'data-loaded="yes"' in result.stdout  # the picture shows, replayed
    assert fakeweb.ledger.hits(f"/spa-data/{token}") == before  # all from the archive
    assert fakeweb.ledger.hits(picture) == pictures


@pytest.fixture(scope="module")
def auto(fakeweb: FakeWeb, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """``--browser auto`` without --allow-private: only the fake web's own port
    is allowed, so a page's request to another local port must be refused."""
    token = uuid.uuid4().hex[:8]
    secret = fakeweb.site_url("soft404", f"/page/secret-{token}")
    urls = {
        "shell": fakeweb.url(f"/spa/auto-{token}?also={secret}"),
        "static": fakeweb.url(f"/page/static-{token}"),
        "listed": fakeweb.url(f"/page/listed-{token}").replace(
            "127.0.0.1", "localhost"
        ),
    }
    run = preserve_run(
        fakeweb, tmp_path_factory.mktemp("auto"), urls,
        "--browser", "auto", "--browser-host", "localhost",
        "--allow-private-host", f"127.0.0.1:{fakeweb.port}",
        "--allow-private-host", f"localhost:{fakeweb.port}",
    )  # fmt: skip
    return Run(
        **{**run.__dict__, "tokens": {"shell": f"auto-{token}", "secret": secret}}
    )


def test_auto_renders_a_shell_that_only_loads_scripts(auto, fakeweb):
    url = auto.urls["shell"]
    entry = auto.manifest[url]
    assert entry["outcome"] == "alive", entry
    assert "almost no text, only scripts" in entry["detail"]
    token = auto.tokens["shell"]
    assert by_uri(auto, "response", fakeweb.url(f"/spa-data/{token}"))
    assert by_uri(auto, "resource", f"urn:screenshot:{url}")


def test_auto_renders_a_listed_host_and_leaves_plain_pages_alone(auto):
    listed = auto.urls["listed"]
    assert (
        "its site only shows pages with JavaScript" in auto.manifest[listed]["detail"]
    )
    assert by_uri(auto, "resource", f"urn:screenshot:{listed}")
    static = auto.urls["static"]
    assert "rendered" not in auto.manifest[static]["detail"]
    assert not by_uri(auto, "resource", f"urn:screenshot:{static}")


def test_the_proxy_refuses_a_private_address_the_page_asks_for(auto, fakeweb):
    secret = auto.tokens["secret"]
    assert fakeweb.ledger.hits(f"/page/{secret.rsplit('/', 1)[1]}") == 0
    assert not by_uri(auto, "response", secret)
    url = auto.urls["shell"]
    ((_, fields),) = by_uri(auto, "metadata", url)
    assert f"refused: {secret} ".encode() in fields
    assert b"--allow-private permits it" in fields
    assert "1 refused" in auto.manifest[url]["detail"]
