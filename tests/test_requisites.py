"""Page requisites end to end: the real CLI, the fake web, WARC files read back.

One module-scoped ``archiver preserve`` run archives an article citing three
pages: the whole test site (``tests/requisitesite.py``), a broken page (a
requisite that 404s, one that times out, a stylesheet shared with the first
page, an ``@import`` loop, an ``@import`` chain deeper than the limit) and a
hostile page with 10,000 images. Other behaviours (``--no-requisites``, the
private-address guard, politeness, nightly revisits) get runs of their own.
"""

from __future__ import annotations

import csv
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests import requisitesite
from tests.clirun import read_manifest, run_cli, write_article
from tests.fakeweb.proxy import Proxy
from tests.fakeweb.server import FakeWeb

pytestmark = pytest.mark.slow

FONT = b"\x00\x01\x00\x00" + b"not a real font, but served as one" * 10
DEEP = 10  # stylesheets in a chain of @imports, more than the depth limit


@dataclass
class Run:
    out: Path
    stdout: str
    manifest: dict[str, dict[str, Any]]
    requisites: dict[str, dict[str, Any]]
    site: requisitesite.Site
    web: FakeWeb
    urls: dict[str, str]


def read_requisites(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "requisites.jsonl").read_text(encoding="utf-8").splitlines()
    return {entry["url"]: entry for entry in map(json.loads, lines)}


def responses(out: Path) -> dict[str, list[Any]]:
    """Response and revisit records by target URI, with their payloads read."""
    found: dict[str, list[Any]] = {}
    for path in sorted(out.glob("*.warc.gz")):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type in ("response", "revisit"):
                    uri = record.rec_headers.get_header("WARC-Target-URI")
                    body = record.content_stream().read()
                    found.setdefault(uri, []).append((record, body))
    return found


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture(scope="module")
def run(fakeweb: FakeWeb, tmp_path_factory: pytest.TempPathFactory) -> Run:
    token = uuid.uuid4().hex[:8]
    base = tmp_path_factory.mktemp("requisites")
    site = requisitesite.build(fakeweb, token, FONT)
    put = fakeweb.put
    chain = "".join(f'<link rel="stylesheet" href="deep-{n}.css">' for n in (1,))
    for n in range(1, DEEP + 1):
        put(f"{token}/deep-{n}.css", f'@import "deep-{n + 1}.css";', "text/css")
    put(f"{token}/loop-a.css", '@import url("loop-b.css");', "text/css")
    put(f"{token}/loop-b.css", "@import 'loop-a.css'; p { color: red }", "text/css")
    urls = {
        "missing": fakeweb.url(f"/status/404/{token}-missing.png"),
        "slow": fakeweb.url(f"/slow/3/{token}-slow.png"),
        "cited": site.requisites["photo-1x.png"],
    }
    broken = fakeweb.url(
        put(
            f"{token}/broken.html",
            f"""<!doctype html><title>broken</title>
            <link rel="stylesheet" href="assets/main.css">
            <link rel="stylesheet" href="loop-a.css">{chain}
            <img src="{urls["missing"]}"><img src="{urls["slow"]}">
            <img src="assets/photo-1x.png"><p>Still readable.</p>""",
        )
    )
    images = "".join(f'<img src="h/{n}.png">' for n in range(10_000))
    hostile = fakeweb.url(put(f"{token}/hostile.html", f"<p>many</p>{images}"))
    urls.update(page=site.page, broken=broken, hostile=hostile)
    body = (
        f'<a href="{site.page}">whole</a><a href="{broken}">broken</a>'
        f'<a href="{hostile}">hostile</a><img src="{urls["cited"]}">'
    )
    write_article(base / "a.txt", fakeweb.url(f"/page/article-{token}"), body)
    out = base / "out"
    result = run_cli(
        "preserve", "--browser", "never",
        str(base / "a.txt"), "--out", str(out), "--allow-private",
        "--ca-bundle", str(fakeweb.ca_pem), "--timeout", "1", "--retries", "1",
        "--max-requisites", "50",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return Run(
        out,
        result.stdout,
        read_manifest(out),
        read_requisites(out),
        site,
        fakeweb,
        urls,
    )


def test_every_requisite_of_the_page_is_archived_as_sent(run):
    records = responses(run.out)
    wrong = []
    for name, url in run.site.requisites.items():
        found = records.get(url, [])
        if len(found) != 1:
            wrong.append((name, f"{len(found)} records"))
            continue
        record, body = found[0]
        if record.http_headers.get_statuscode() != "200":
            wrong.append((name, record.http_headers.get_statuscode()))
        elif body != run.web.sent_body(path_of(url)):
            wrong.append((name, "body differs"))
    assert not wrong


def test_the_page_line_says_it_is_complete(run):
    page = run.manifest[run.site.page]
    assert page["outcome"] == "alive"
    expected = len(run.site.requisites)
    assert page["requisites"] == {
        "found": expected,
        "archived": expected,
        "failed": 0,
        "not_fetched": 0,
    }
    assert page["completeness"] == 1.0
    for url in run.site.requisites.values():
        line = run.requisites[url]
        assert line["outcome"] == "archived", url
        assert run.site.page in line["pages"]
        assert line["warc_file"]
        assert line["payload_digest"]
    kinds = {name: run.requisites[u]["kind"] for name, u in run.site.requisites.items()}
    assert kinds["main.css"] == kinds["more.css"] == "stylesheet"
    assert kinds["face.ttf"] == "font"
    assert kinds["frame.html"] == "frame"
    assert kinds["app.js"] == "script"
    assert kinds["icon.png"] == "icon"


def test_requisites_are_not_citations(run):
    cited = {run.urls[name] for name in ("page", "broken", "hostile", "cited")}
    listed = {u for u, e in run.manifest.items() if e["kind"] != "article"}
    assert listed == cited
    assert run.manifest[run.urls["cited"]]["requisites"] is None  # not a page


def test_an_inline_sprite_is_not_fetched_and_pages_are_fetched_once(run):
    assert run.web.ledger.hits(path_of(run.site.page)) == 1  # <use href="#dot">
    assert run.web.ledger.hits(path_of(run.urls["cited"])) == 1  # cited and needed


def test_a_failing_requisite_leaves_the_page_alive_but_partial(run):
    broken = run.manifest[run.urls["broken"]]
    assert broken["outcome"] == "alive"
    counts = broken["requisites"]
    assert counts["failed"] == 2
    assert broken["completeness"] < 1
    assert (
        counts["archived"] + counts["failed"] + counts["not_fetched"]
        == (counts["found"])
    )
    missing, slow = (
        run.requisites[run.urls["missing"]],
        run.requisites[run.urls["slow"]],
    )
    assert (missing["outcome"], missing["reason"], missing["http_status"]) == (
        "failed",
        "http-404",
        404,
    )
    assert (slow["outcome"], slow["reason"]) == ("failed", "timeout")
    with (run.out / "dead-links.csv").open(encoding="utf-8") as stream:
        dead = {row["link_url"] for row in csv.DictReader(stream)}
    assert run.urls["missing"] not in dead
    assert all(e["outcome"] != "dead" for e in run.manifest.values())


def test_a_shared_stylesheet_is_fetched_once_for_both_pages(run):
    css = run.site.requisites["main.css"]
    assert run.web.ledger.hits(path_of(css)) == 1
    assert run.requisites[css]["pages"] == sorted([run.site.page, run.urls["broken"]])
    # what the shared sheet imports counts for the second page too
    more = run.requisites[run.site.requisites["more.css"]]
    assert run.urls["broken"] in more["pages"]


def test_import_loops_end_and_deep_chains_stop(run):
    token = run.site.page.rsplit("/", 2)[1]
    for name in ("loop-a", "loop-b"):
        assert run.web.ledger.hits(f"/files/{token}/{name}.css") == 1
    fetched = [
        n
        for n in range(1, DEEP + 1)
        if run.web.ledger.hits(f"/files/{token}/deep-{n}.css")
    ]
    assert fetched == list(range(1, len(fetched) + 1))
    assert 3 <= len(fetched) < DEEP
    stopped = run.requisites[run.web.url(f"/files/{token}/deep-{len(fetched) + 1}.css")]
    assert (stopped["outcome"], stopped["reason"]) == ("not-fetched", "too-deep")


def test_a_hostile_page_gets_max_requisites_and_no_more(run):
    hostile = run.manifest[run.urls["hostile"]]
    assert hostile["outcome"] == "alive"
    counts = hostile["requisites"]
    assert counts["found"] == 10_000
    assert counts["archived"] + counts["failed"] == 50
    assert counts["not_fetched"] == 9_950
    token = run.site.page.rsplit("/", 2)[1]
    asked = [p for p in run.web.ledger.paths() if p.startswith(f"/files/{token}/h/")]
    assert len(asked) == 50
    reasons = {
        e["reason"] for e in run.requisites.values() if e["outcome"] == "not-fetched"
    }
    assert "over-max-requisites" in reasons


def test_the_summary_counts_complete_and_partial_pages(run):
    # the article's own page needs nothing, so it is complete too
    assert "pages: 4 searched for requisites, 2 captured complete, 2 partial" in (
        run.stdout
    )
    assert "requisites.jsonl" in run.stdout


def test_no_requisites_fetches_the_page_alone(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    site = requisitesite.build(fakeweb, token, FONT)
    write_article(tmp_path / "a.txt", site.page, "<p>only the page</p>")
    out = tmp_path / "out"
    result = run_cli(
        "preserve", "--browser", "never",
        str(tmp_path / "a.txt"), "--out", str(out), "--allow-private",
        "--no-requisites", "--no-probe",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert [p for p in fakeweb.ledger.paths() if token in p] == [path_of(site.page)]
    assert read_manifest(out)[site.page]["requisites"] is None
    assert not (out / "requisites.jsonl").exists()


def test_a_requisite_on_a_private_address_is_refused(fakeweb, tmp_path):
    """Through a proxy a host name is not checked, a literal address still is."""
    token = uuid.uuid4().hex[:8]
    private = fakeweb.url(
        fakeweb.put(f"{token}/p.png", requisitesite.png((1, 2, 3)), "image/png")
    )
    page = fakeweb.put(f"{token}/page.html", f'<img src="{private}"><p>hi</p>')
    named = f"http://localhost:{fakeweb.port}{page}"
    write_article(tmp_path / "a.txt", named, "<p>a page by name</p>")
    proxy = Proxy()
    proxy.start()
    try:
        result = run_cli(
            "preserve", "--browser", "never",
            str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"),
            "--proxy", proxy.url, "--no-probe",
        )  # fmt: skip
    finally:
        proxy.stop()
    assert result.returncode == 0, result.stderr
    line = read_requisites(tmp_path / "out")[private]
    assert (line["outcome"], line["reason"]) == ("refused-private", "private-address")
    assert fakeweb.ledger.hits(path_of(private)) == 0
    assert read_manifest(tmp_path / "out")[named]["requisites"]["failed"] == 1


def test_requisites_keep_to_per_host(tmp_path):
    """A server of its own counts the requests in flight while 30 load slowly."""
    web = FakeWeb(tmp_path)
    web.start()
    try:
        paths = [
            web.put(f"i/{n}.png", requisitesite.png((n, n, n)), "image/png", delay=0.15)
            for n in range(30)
        ]
        images = "".join(f'<img src="{path}">' for path in paths)
        page = web.url(web.put("polite.html", f"<p>slow parts</p>{images}"))
        write_article(tmp_path / "a.txt", page, "<p>polite</p>")
        result = run_cli(
            "preserve", "--browser", "never",
            str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"),
            "--allow-private", "--per-host", "3", "--no-probe",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert read_manifest(tmp_path / "out")[page]["completeness"] == 1.0
        assert web.ledger.peak(web.port) == 3  # used, never exceeded
    finally:
        web.stop()


def test_a_second_night_revisits_a_shared_stylesheet(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    css = fakeweb.url(fakeweb.put(f"{token}/site.css", "p { color: #123 }", "text/css"))
    pages = [
        fakeweb.url(
            fakeweb.put(
                f"{token}/{n}.html",
                f'<link rel="stylesheet" href="site.css"><p>{n}</p>',
            )
        )
        for n in ("one", "two")
    ]
    (tmp_path / "articles").mkdir()
    write_article(
        tmp_path / "articles" / "a.txt",
        pages[0],
        f'<a href="{pages[1]}">two</a>',
    )
    warcs = tmp_path / "warcs"
    for night in ("2026-01-01T03:00:00+00:00", "2026-01-02T03:00:00+00:00"):
        done = run_cli(
            "nightly", "--browser", "never", str(tmp_path / "articles"),
            "--out", str(warcs),
            "--alive-every", "1", "--allow-private", "--no-probe", at=night,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    assert fakeweb.ledger.hits(path_of(css)) == 2  # once a night, for both pages
    first, second = sorted(p for p in warcs.iterdir() if p.is_dir())
    kinds = [
        [record.rec_type for record, _ in responses(night).get(css, [])]
        for night in (first, second)
    ]
    assert kinds == [["response"], ["revisit"]]
    line = read_requisites(second)[css]
    assert line["outcome"] == "archived"
    assert line["revisit_of"] == {
        "uri": css,
        "date": read_requisites(first)[css]["warc_date"],
    }
    assert line["pages"] == sorted(pages)
