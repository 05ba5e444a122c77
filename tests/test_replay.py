"""Our WARCs replay in real tools: pywb serves them, warcio and py-wacz accept them.

One module-scoped ``archiver preserve`` run (the real CLI in a subprocess,
against the fake web) is indexed with ``archiver.warc.index`` and packaged with
``archiver.run.package``. pywb, from its own virtualenv (see
``tests/replaytools.py``), then serves two collections: ``run``, the WARC
files with our ``index.cdxj``, and ``wacz``, the package unpacked by
``wb-manager``. Replay is asked for in raw mode (``id_``), so what comes back
is the archived payload, to be compared byte for byte with what the fake web
sent.
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.timeutils import iso_date_to_timestamp

from archiver.run.package import package
from archiver.warc.index import INDEX_NAME, write_cdxj
from tests.clirun import run_cli
from tests.fakeweb.server import FakeWeb
from tests.replaytools import Wayback, offline_env, pywb_venv

pytestmark = pytest.mark.slow

ARTICLE_MS = 1729735621000
# Records that replay as an HTTP response: a revisit stands for an earlier
# capture of the same payload (the redirects' identical bodies, for one).
CAPTURES = ("response", "revisit", "resource")  # what the index lists


@dataclass(frozen=True)
class Replay:
    out: Path
    manifest: dict[str, dict[str, Any]]
    urls: dict[str, str]
    web: FakeWeb
    wayback: Wayback
    wacz: Path
    bin: Path


def preserve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver", "preserve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def record_at(out: Path, name: str, offset: int):
    with (out / name).open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        return record, record.content_stream().read()


def timestamp_of(replay: Replay, entry: dict[str, Any]) -> str:
    record, _ = record_at(replay.out, entry["warc_file"], entry["warc_offset"])
    return str(iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date")))


def path_of(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture(scope="session")
def pywb_bin() -> Path:
    return pywb_venv()


@pytest.fixture(scope="module")
def replay(
    fakeweb: FakeWeb, tmp_path_factory: pytest.TempPathFactory, pywb_bin: Path
) -> Iterator[Replay]:
    token = uuid.uuid4().hex[:8]
    base = tmp_path_factory.mktemp("replay")
    urls = {
        "article": fakeweb.url(f"/page/article-{token}"),
        "ok": fakeweb.url(f"/page/ok-{token}"),
        "image": fakeweb.url(f"/image/pic-{token}.png"),
        "https": fakeweb.https_url(f"/page/secure-{token}"),
        "gzip": fakeweb.url(f"/gzip/{token}"),
        "chunked": fakeweb.url(f"/chunked/{token}"),
        "redirect": fakeweb.url(f"/redirect/301/2/{token}"),
        "found": fakeweb.url(f"/redirect/302/1/{token}"),
        "headers": fakeweb.url(f"/headers-case/{token}"),
        "big": fakeweb.url(f"/huge/70000/{token}"),
        "404": fakeweb.url(f"/status/404/{token}"),
    }
    links = "".join(
        f'<p><a href="{url}">link {name}</a></p>'
        for name, url in urls.items()
        if name not in ("article", "image")
    )
    seeds = base / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(
        f"<!--{ARTICLE_MS}-->\n[Replay article]({urls['article']})\n------\n\n"
        f'<img src="{urls["image"]}" alt="a picture">{links}\n'
    )
    out = base / "out"
    result = preserve(
        str(seeds),
        "--out",
        str(out),
        "--allow-private",
        "--ca-bundle",
        str(fakeweb.ca_pem),
        "--timeout",
        "5",
    )
    assert result.returncode == 0, result.stderr
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    manifest = {e["url"]: e for e in map(json.loads, lines)}
    warcs = sorted(out.glob("*.warc.gz"))
    # Replay reads the index the run wrote as it went: the indexer's own.
    reference = write_cdxj(warcs, base / INDEX_NAME).read_text(encoding="utf-8")
    assert (out / INDEX_NAME).read_text(encoding="utf-8") == reference.replace(
        '"filename": "out/', '"filename": "'
    )
    wacz = package(out)

    root = base / "pywb"
    archive = root / "collections" / "run" / "archive"
    archive.mkdir(parents=True)
    for warc in warcs:
        shutil.copy2(warc, archive / warc.name)
    indexes = root / "collections" / "run" / "indexes"
    indexes.mkdir()
    shutil.copy2(out / INDEX_NAME, indexes / "index.cdxj")
    for args in (["init", "wacz"], ["add", "--unpack-wacz", "wacz", str(wacz)]):
        manager = subprocess.run(
            [str(pywb_bin / "wb-manager"), *args],
            cwd=root,
            env=offline_env(root),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert manager.returncode == 0, manager.stdout + manager.stderr
    with Wayback(pywb_bin, root) as wayback:
        yield Replay(out, manifest, urls, fakeweb, wayback, wacz, pywb_bin)


def archived_2xx(replay: Replay) -> list[dict[str, Any]]:
    return [
        e
        for e in replay.manifest.values()
        if e["warc_file"] and 200 <= (e["http_status"] or 0) < 300
    ]


@pytest.mark.parametrize("collection", ["run", "wacz"])
def test_every_2xx_capture_replays_byte_for_byte(replay, collection):
    entries = archived_2xx(replay)
    names = {n for n, u in replay.urls.items() if u in replay.manifest}
    assert {"gzip", "chunked", "https", "redirect", "found", "big"} <= names
    assert len(entries) == len(replay.urls) - 1  # all but the 404
    wrong = []
    for entry in entries:
        final = entry["final_url"]
        got = replay.wayback.replay(collection, timestamp_of(replay, entry), final)
        sent = replay.web.sent_body(path_of(final))
        if got.status != entry["http_status"] or got.body != sent:
            wrong.append((final, got.status, got.body[:80], (sent or b"")[:80]))
    assert not wrong, replay.wayback.log()[-3000:]


@pytest.mark.parametrize("collection", ["run", "wacz"])
def test_the_article_url_replays_as_its_page_at_the_files_own_time(replay, collection):
    """The article file is archived under its own URN, never the page's URL."""
    files: list[tuple[Any, bytes]] = []
    for warc in replay.out.glob("*.warc.gz"):
        with warc.open("rb") as stream:
            files.extend(
                (record.rec_headers, record.content_stream().read())
                for record in ArchiveIterator(stream)
                if record.rec_type in ("resource", "metadata")
            )
    (resource, article), (_, note) = files
    assert resource.get_header("WARC-Target-URI").startswith("urn:archiver:article:")
    assert article.startswith(b"<!--")  # the file itself
    fields = note.decode().splitlines()
    assert f"article-url: {replay.urls['article']}" in fields
    assert "title: Replay article" in fields
    at = str(iso_date_to_timestamp(resource.get_header("WARC-Date")))
    got = replay.wayback.replay(collection, at, replay.urls["article"])
    assert got.status == 200
    assert got.body == replay.web.sent_body(path_of(replay.urls["article"]))
    assert got.body != article


def test_gzip_capture_replays_still_encoded(replay):
    entry = replay.manifest[replay.urls["gzip"]]
    got = replay.wayback.replay("run", timestamp_of(replay, entry), entry["url"])
    assert got.headers["Content-Encoding"] == "gzip"
    assert got.body == replay.web.sent_body(path_of(entry["url"]))
    assert got.body[:2] == b"\x1f\x8b"
    plain = replay.wayback.replay(
        "run", timestamp_of(replay, entry), entry["url"], accept_encoding="identity"
    )
    assert plain.headers["Content-Encoding"] is None
    assert plain.body == gzip.decompress(got.body)
    assert plain.body.startswith(b"<!doctype html><p>compressed /gzip/")


def test_chunked_capture_replays_as_one_body(replay):
    entry = replay.manifest[replay.urls["chunked"]]
    got = replay.wayback.replay("run", timestamp_of(replay, entry), entry["url"])
    assert got.body == replay.web.sent_body(path_of(entry["url"]))
    assert b"part 0 of" in got.body
    assert b"part 4 of" in got.body
    assert b"0\r\n\r\n" not in got.body


@pytest.mark.parametrize(("name", "status"), [("redirect", 301), ("found", 302)])
def test_redirect_hops_replay_as_redirects(replay, name, status):
    chain = replay.manifest[replay.urls[name]]["chain"]
    assert len(chain) >= 2
    stamps = response_timestamps(replay.out)
    for hop, following in itertools.pairwise(chain):
        got = replay.wayback.replay("run", stamps[hop], hop)
        assert got.status == status, hop
        assert urljoin(hop, got.headers["Location"]) == following  # as sent
        # what a browser gets: the Location rewritten into the archive
        shown = replay.wayback.get(f"/run/{stamps[hop]}mp_/{hop}")
        assert shown.status == status, hop
        assert shown.headers["Location"].endswith(f"mp_/{following}")


def response_timestamps(out: Path) -> dict[str, str]:
    """Each capture's URI and 14-digit time (one capture per URI here)."""
    return {
        r.rec_headers.get_header("WARC-Target-URI"): str(
            iso_date_to_timestamp(r.rec_headers.get_header("WARC-Date"))
        )
        for r in all_records(out)
        if r.rec_type in CAPTURES
    }


def test_archived_404_replays_as_404(replay):
    entry = replay.manifest[replay.urls["404"]]
    got = replay.wayback.replay("run", timestamp_of(replay, entry), entry["url"])
    assert got.status == 404
    assert got.body == replay.web.sent_body(path_of(entry["url"]))


def test_manifest_offsets_point_at_final_responses(replay):
    checked = 0
    for url, entry in replay.manifest.items():
        if not entry["warc_file"]:
            continue
        record, _ = record_at(replay.out, entry["warc_file"], entry["warc_offset"])
        assert record.rec_type in CAPTURES, url
        if record.rec_type == "revisit":  # same payload as an earlier capture
            assert record.rec_headers.get_header("WARC-Refers-To-Target-URI")
        assert record.rec_headers.get_header("WARC-Target-URI") == entry["final_url"]
        assert int(record.http_headers.get_statuscode()) == entry["http_status"]
        checked += 1
    assert checked == len(replay.urls)


def read_index(path: Path) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        key, stamp, fields = line.split(" ", 2)
        found.append((key, stamp, json.loads(fields)))
    return found


def test_index_is_sorted_and_agrees_with_the_manifest(replay):
    lines = read_index(replay.out / INDEX_NAME)
    keys = [f"{key} {stamp}" for key, stamp, _ in lines]
    assert keys == sorted(keys)
    captures = sum(1 for r in all_records(replay.out) if r.rec_type in CAPTURES)
    assert len(lines) == captures  # no warcinfo, no requests
    where = {(f["filename"], int(f["offset"])): f for _, _, f in lines}
    for entry in replay.manifest.values():
        if not entry["warc_file"]:
            continue
        fields = where[(entry["warc_file"], entry["warc_offset"])]
        assert fields["url"] == entry["final_url"]
        assert fields["status"] == str(entry["http_status"])
        assert fields["digest"] == entry["payload_digest"]


def all_records(out: Path) -> list[Any]:
    found = []
    for path in sorted(out.glob("*.warc.gz")):
        with path.open("rb") as stream:
            found.extend(ArchiveIterator(stream))
    return found


def warcio(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from warcio.cli import main; main(sys.argv[1:])",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_warcio_check_and_index_pass_on_every_warc(replay):
    for warc in sorted(replay.out.glob("*.warc.gz")):
        check = warcio("check", "-v", str(warc))
        assert check.returncode == 0, check.stdout + check.stderr
        assert "digest pass" in check.stdout
        assert "digest fail" not in check.stdout
        index = warcio("index", "-f", "warc-type,warc-target-uri,offset", str(warc))
        assert index.returncode == 0, index.stderr
        rows = [json.loads(line) for line in index.stdout.splitlines()]
        with warc.open("rb") as stream:
            expected = sum(1 for _ in ArchiveIterator(stream))
        assert len(rows) == expected
        assert rows[0]["warc-type"] == "warcinfo"


def test_wacz_package_validates(replay):
    validate = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from wacz.main import main; sys.exit(main())",
            "validate",
            "--file",
            str(replay.wacz),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "Validation succeeded" in validate.stdout


def test_wacz_holds_warcs_pages_and_manifest(replay):
    with zipfile.ZipFile(replay.wacz) as wacz:
        names = set(wacz.namelist())
        pages = [
            json.loads(line)
            for line in wacz.read("pages/pages.jsonl").decode().splitlines()
        ]
        logged = wacz.read("logs/manifest.jsonl")
    warcs = {f"archive/{p.name}" for p in replay.out.glob("*.warc.gz")}
    assert warcs <= names
    assert {"datapackage.json", "indexes/index.cdx.gz", "indexes/index.idx"} <= names
    assert "logs/dead-links.csv" in names
    assert logged == (replay.out / "manifest.jsonl").read_bytes()
    assert pages[0]["format"] == "json-pages-1.0"
    alive = {u for u, e in replay.manifest.items() if e["outcome"] == "alive"}
    assert {p["url"] for p in pages[1:]} == alive
    titles = {p["url"]: p["title"] for p in pages[1:]}
    assert titles[replay.urls["article"]] == "Replay article"
    assert titles[replay.urls["ok"]] == "link ok"


def test_nightly_runs_replay_as_one_collection_revisits_included(
    fakeweb, pywb_bin, tmp_path
):
    """The README's recipe: warcs/ as the archive, warcs/index.cdxj as its index."""
    token = uuid.uuid4().hex[:8]
    page = f"stable-{token}"
    fakeweb.switch(page, 200, b"<p>the same page every night</p>")
    stable = fakeweb.url(f"/switch/{page}")
    (tmp_path / "articles").mkdir()
    (tmp_path / "articles" / "a.txt").write_text(
        f"<!--0-->\n[A]({fakeweb.url(f'/page/art-{token}')})\n------\n\n"
        f'<a href="{stable}">s</a>\n'
    )
    warcs = tmp_path / "warcs"
    for night in ("2026-01-01T03:00:00+00:00", "2026-01-02T03:00:00+00:00"):
        done = run_cli(
            "nightly", str(tmp_path / "articles"), "--out", str(warcs),
            "--alive-every", "1", "--allow-private", "--no-probe", at=night,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    revisits = [
        record
        for path in sorted(warcs.glob("*/*.warc.gz"))
        for record in _records(path)
        if record[0] == "revisit" and record[1] == stable
    ]
    assert len(revisits) == 1
    root = tmp_path / "replay"
    (root / "collections" / "all" / "indexes").mkdir(parents=True)
    (root / "collections" / "all" / "archive").symlink_to(warcs)
    shutil.copy(warcs / INDEX_NAME, root / "collections" / "all" / "indexes")
    with Wayback(pywb_bin, root) as wayback:
        got = wayback.replay("all", revisits[0][2], stable)
    assert got.status == 200, wayback.log()
    assert got.body == b"<p>the same page every night</p>"
    # and the whole root packs into one WACZ, both nights' WARCs and manifests
    wacz = package(warcs, tmp_path / "all.wacz")
    with zipfile.ZipFile(wacz) as packed:
        names = set(packed.namelist())
    nights = sorted(p.name for p in warcs.iterdir() if p.is_dir())
    assert {f"logs/{night}-manifest.jsonl" for night in nights} <= names
    assert len([n for n in names if n.endswith(".warc.gz")]) == len(
        list(warcs.glob("*/*.warc.gz"))
    )
    program = "import sys; from wacz.main import main; sys.exit(main())"
    validate = subprocess.run(
        [sys.executable, "-c", program, "validate", "--file", str(wacz)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr


def _records(path: Path) -> list[tuple[str, str, str]]:
    """(type, target URI, 14-digit timestamp) of each record of a WARC file."""
    with path.open("rb") as stream:
        return [
            (
                r.rec_type,
                r.rec_headers.get_header("WARC-Target-URI"),
                iso_date_to_timestamp(r.rec_headers.get_header("WARC-Date")),
            )
            for r in ArchiveIterator(stream)
        ]


def test_a_retried_url_replays_as_its_final_answer(fakeweb, pywb_bin, tmp_path):
    """Every attempt is archived (503, then 200); replay must show the 200."""
    token = uuid.uuid4().hex[:8]
    flaky = fakeweb.url(f"/flaky/2/replay-{token}")
    article = tmp_path / "a.txt"
    article.write_text(
        f"<!--0-->\n[A]({fakeweb.url(f'/page/retried-{token}')})\n------\n\n"
        f'<a href="{flaky}">f</a>\n'
    )
    out = tmp_path / "out"
    done = preserve(
        str(article), "--out", str(out), "--allow-private", "--retry-base", "0.05"
    )
    assert done.returncode == 0, done.stderr
    kinds = [
        (kind, uri) for path in out.glob("*.warc.gz") for kind, uri, _ in _records(path)
    ]
    assert kinds.count(("response", flaky)) == 2
    root = tmp_path / "replay"
    (root / "collections" / "run" / "indexes").mkdir(parents=True)
    (root / "collections" / "run" / "archive").symlink_to(out)
    shutil.copy(out / INDEX_NAME, root / "collections" / "run" / "indexes")
    with Wayback(pywb_bin, root) as wayback:
        got = wayback.replay("run", "2026", flaky)
    assert got.status == 200, wayback.log()
    assert got.body == fakeweb.sent_body(path_of(flaky))
