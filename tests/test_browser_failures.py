"""Browser capture when things go wrong: no chromium, endless pages, crashes, floods.

Each failure must stay inside the page it happened to: the run completes,
plain capture is done for every URL, and the manifest says what happened.
The tests that need chromium are skipped with a reason without it; the ones
about a missing browser name a program that does not exist.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

import archiver
from archiver.browser.settings import BrowserMode, BrowserSettings
from archiver.crawl.client import ClientSettings
from archiver.crawl.fetch import FetchSettings
from tests.browsertools import Run, by_uri, needs_chromium, read_records
from tests.clirun import links_to, read_manifest, run_cli, write_article
from tests.fakeweb.server import FakeWeb
from tests.reporting import Notes

NO_SUCH_BROWSER = "no-such-chromium-" + uuid.uuid4().hex[:6]


def article(fakeweb: FakeWeb, folder: Path, urls: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_article(
        folder / "a.txt", fakeweb.url("/page/f-article"), links_to(urls)
    )


def test_always_without_chromium_is_a_usage_error_before_any_fetch(fakeweb, tmp_path):
    url = fakeweb.url(f"/spa/none-{uuid.uuid4().hex[:8]}")
    path = article(fakeweb, tmp_path, {"shell": url})
    result = run_cli(
        "preserve", str(path), "--out", str(tmp_path / "out"), "--allow-private",
        "--browser", "always", "--chromium", NO_SUCH_BROWSER,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert NO_SUCH_BROWSER in lines[0]
    assert "Traceback" not in result.stderr
    assert fakeweb.ledger.hits("/" + url.split("/", 3)[3]) == 0


def test_auto_without_chromium_says_so_once_and_captures_plainly(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {f"shell{n}": fakeweb.url(f"/spa/none{n}-{token}") for n in range(3)}
    path = article(fakeweb, tmp_path, urls)
    out = tmp_path / "out"
    result = run_cli(
        "preserve", str(path), "--out", str(out), "--allow-private",
        "--chromium", NO_SUCH_BROWSER,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("browser capture is off") == 1
    manifest = read_manifest(out)
    for url in urls.values():
        assert manifest[url]["outcome"] == "alive"
        assert manifest[url]["warc_file"]
    uris = [r.rec_headers.get_header("WARC-Target-URI") for r, _ in read_records(out)]
    assert not [uri for uri in uris if uri and uri.startswith("urn:screenshot:")]


def run_of(fakeweb: FakeWeb, folder: Path, urls: dict[str, str], *args: str) -> Run:
    path = article(fakeweb, folder, urls)
    out = folder / "out"
    started = time.monotonic()
    result = run_cli(
        "preserve", str(path), "--out", str(out), "--allow-private", "--no-probe",
        "--browser", "always", *args, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Run(
        out=out,
        manifest=read_manifest(out),
        records=read_records(out),
        urls=urls,
        tokens={"elapsed": f"{time.monotonic() - started:.1f}"},
        stderr=result.stderr,
    )


@needs_chromium
@pytest.mark.slow
def test_a_page_that_never_stops_fetching_is_kept_at_the_time_limit(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {
        "tick": fakeweb.url(f"/spa/tick/{token}"),
        "plain": fakeweb.url(f"/page/beside-tick-{token}"),
    }
    run = run_of(fakeweb, tmp_path, urls, "--browser-time", "3")
    assert float(run.tokens["elapsed"]) < 60
    entry = run.manifest[urls["tick"]]
    assert entry["outcome"] == "alive", entry
    assert "kept at the time limit" in entry["detail"]
    ((_, fields),) = by_uri(run, "metadata", urls["tick"])
    assert b"settled: no (time limit)" in fields
    assert by_uri(run, "resource", f"urn:screenshot:{urls['tick']}")
    ((_, dom),) = by_uri(run, "resource", f"urn:dom:{urls['tick']}")
    assert b"came as JSON" in dom  # what it had built by then
    uris = [
        r.rec_headers.get_header("WARC-Target-URI")
        for r, _ in run.records
        if r.rec_type == "response"
    ]
    ticks = [uri for uri in uris if uri and "/page/tick-" in uri]
    assert 3 <= len(ticks) < 200  # it fetched, and was stopped
    assert run.manifest[urls["plain"]]["outcome"] == "alive"


@needs_chromium
@pytest.mark.slow
def test_a_page_that_crashes_its_renderer_does_not_end_the_run(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {
        "hog": fakeweb.url(f"/spa/hog/{token}"),
        "after": fakeweb.url(f"/spa/after-hog-{token}"),
    }
    run = run_of(
        fakeweb, tmp_path, urls, "--browser-memory", "32", "--browser-tabs", "1"
    )
    entry = run.manifest[urls["hog"]]
    assert entry["outcome"] == "error", entry
    assert entry["reason"] == "browser-failed"
    assert "crashed" in entry["detail"]
    assert entry["warc_file"]  # its plain capture is archived all the same
    ((_, fields),) = by_uri(run, "metadata", urls["hog"])
    assert b"browser-tries: 2" in fields
    # The page after it, in the same tab, is rendered by a fresh browser.
    after = run.manifest[urls["after"]]
    assert after["outcome"] == "alive", after
    assert by_uri(run, "resource", f"urn:screenshot:{urls['after']}")


@needs_chromium
@pytest.mark.slow
def test_a_page_that_opens_hundreds_of_requests_is_recorded_whole(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {"many": fakeweb.url(f"/spa/many/300/{token}")}
    run = run_of(fakeweb, tmp_path, urls)
    entry = run.manifest[urls["many"]]
    assert entry["outcome"] == "alive", entry
    fetched = {
        r.rec_headers.get_header("WARC-Target-URI")
        for r, _ in run.records
        if r.rec_type == "response"
        and f"/page/many-many/300/{token}-"
        in (r.rec_headers.get_header("WARC-Target-URI"))
    }
    assert len(fetched) == 300
    ((_, dom),) = by_uri(run, "resource", f"urn:dom:{urls['many']}")
    assert b"came as JSON" in dom


def browser_children() -> list[int]:
    """Chromium processes started by this very process (the library run's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == os.getpid() and "chrom" in name:
            found.append(int(entry.name))
    return found


@needs_chromium
@pytest.mark.slow
def test_a_browser_killed_mid_page_is_replaced_and_the_page_tried_again(
    fakeweb, tmp_path
):
    """The library run, in this process, so the test can kill its browser."""
    token = uuid.uuid4().hex[:8]
    url = fakeweb.url(f"/spa/slow/{token}")
    path = f"/spa/slow/{token}"
    killed: list[int] = []

    def kill_when_the_browser_asks() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and fakeweb.ledger.hits(path) < 2:
            time.sleep(0.05)  # the plain fetch is the first hit, the browser's next
        for pid in browser_children():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    killer = threading.Thread(target=kill_when_the_browser_asks, daemon=True)
    killer.start()
    settings = archiver.PreserveSettings(
        inputs=(),
        out=tmp_path / "out",
        fetch=FetchSettings(allow_private=True, timeout=10),
        probe=False,
        client=ClientSettings(user_agent="test"),
        browser=BrowserSettings(mode=BrowserMode.ALWAYS, page_time=15),
    )
    summary = archiver.preserve(settings, archiver.gather([], urls=[url]), Notes())
    killer.join(timeout=5)
    assert killed
    (status,) = summary.statuses
    assert status.outcome is archiver.Outcome.ALIVE, status
    assert "rendered in a browser" in status.detail
    assert fakeweb.ledger.hits(path) >= 3  # plain, the killed try, the second try
    run = Run(tmp_path / "out", {}, read_records(tmp_path / "out"), {}, {}, "")
    ((_, fields),) = by_uri(run, "metadata", url)
    assert b"browser-tries: 2" in fields
    assert by_uri(run, "resource", f"urn:screenshot:{url}")


@needs_chromium
@pytest.mark.slow
def test_a_page_past_its_request_limit_gets_429s_not_fetches(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    url = fakeweb.url(f"/spa/many/120/{token}")
    settings = archiver.PreserveSettings(
        inputs=(),
        out=tmp_path / "out",
        fetch=FetchSettings(allow_private=True),
        probe=False,
        client=ClientSettings(user_agent="test"),
        browser=BrowserSettings(mode=BrowserMode.ALWAYS, max_requests=40),
    )
    archiver.preserve(settings, archiver.gather([], urls=[url]), Notes())
    hits = [
        p
        for p in fakeweb.ledger.paths()
        if p.startswith(f"/page/many-many/120/{token}-")
    ]
    assert len(hits) < 40
    run = Run(tmp_path / "out", {}, read_records(tmp_path / "out"), {}, {}, "")
    ((_, fields),) = by_uri(run, "metadata", url)
    over = int(fields.split(b"over-limit: ")[1].split(b"\r\n")[0])
    assert over >= 80
