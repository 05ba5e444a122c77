"""``archiver preserve`` end to end: the real CLI in a subprocess, the fake web, warcio.

One module-scoped run fetches an article that links to every scenario; the
tests then read its manifest, its WARC files and the server's ledger. Runs
that need other options (no --allow-private, offline, --fail-on-dead) are
their own subprocesses.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.clirun import read_manifest, run_cli, write_article
from tests.fakeweb.proxy import Proxy
from tests.fakeweb.server import FakeWeb, closed_port


def warc_files(out: Path) -> list[Path]:
    return sorted(out.glob("*.warc.gz"))


def record_at(out: Path, name: str, offset: int):
    """The record at a manifest's (file, offset), with its body read out."""
    with (out / name).open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        return record, record.raw_stream.read()


def sha1_b32(data: bytes) -> str:
    return (
        "sha1:"
        + base64.b32encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
    )


@dataclass
class Run:
    out: Path
    result: subprocess.CompletedProcess[str]
    manifest: dict[str, dict[str, Any]]
    token: str
    web: FakeWeb
    urls: dict[str, str]
    elapsed: float


@pytest.fixture(scope="module")
def run(fakeweb: FakeWeb, tmp_path_factory: pytest.TempPathFactory) -> Run:
    token = uuid.uuid4().hex[:8]
    base = tmp_path_factory.mktemp("preserve")
    closed = f"http://127.0.0.1:{closed_port()}/nothing"
    urls = {
        "article": fakeweb.url(f"/page/article-{token}"),
        "ok": fakeweb.url(f"/page/ok-{token}"),
        "image": fakeweb.url(f"/image/pic-{token}.png"),
        "image_copy": fakeweb.url(f"/image/copy-{token}.png"),
        "https": fakeweb.https_url(f"/page/secure-{token}"),
        "gzip": fakeweb.url(f"/gzip/{token}"),
        "chunked": fakeweb.url(f"/chunked/{token}"),
        "redirect": fakeweb.url(f"/redirect/301/2/{token}"),
        "404": fakeweb.url(f"/status/404/{token}"),
        "410": fakeweb.url(f"/status/410/{token}"),
        "403": fakeweb.url(f"/status/403/{token}"),
        "500": fakeweb.url(f"/status/500/{token}"),
        "flaky": fakeweb.url(f"/flaky/2/{token}"),
        "retry_after": fakeweb.url(f"/retry-after/1/2/{token}"),
        "huge": fakeweb.url(f"/huge/300000/{token}"),
        "headers": fakeweb.url(f"/headers-case/{token}"),
        "slow": fakeweb.url(f"/slow/3/{token}"),
        "loop": fakeweb.url(f"/loop/{token}"),
        "refused": closed,
        "nxdomain": "http://no-such-host.invalid/gone",
    }
    links = "".join(
        f'<p><a href="{url}" title="t-{name}">link {name}</a></p>'
        for name, url in urls.items()
        if name not in ("article", "image", "image_copy")
    )
    body = (
        f'<figure><img src="{urls["image"]}" alt="a picture"></figure>{links}'
        f'<img src="{urls["image_copy"]}">'
        '<a href="mailto:someone@example.org">mail</a>'
        '<a href="http://bad host:99999/">bad</a>'
    )
    seeds = base / "seeds"
    seeds.mkdir()
    write_article(seeds / "a.txt", urls["article"], body)
    out = base / "out"
    started = time.monotonic()
    result = run_cli(
        "preserve",
        str(seeds),
        "--out",
        str(out),
        "--allow-private",
        "--ca-bundle",
        str(fakeweb.ca_pem),
        "--retry-base",
        "0.05",
        "--timeout",
        "1",
        "--max-size",
        "100000",
        "--operator",
        "Test Desk",
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return Run(out, result, read_manifest(out), token, fakeweb, urls, elapsed)


def entry(run: Run, name: str) -> dict[str, Any]:
    url = run.urls[name]
    matches = [e for u, e in run.manifest.items() if u == url]
    assert matches, f"{url} not in manifest: {sorted(run.manifest)}"
    return matches[0]


@pytest.mark.parametrize(
    ("name", "outcome", "reason", "status"),
    [
        ("article", "alive", "ok", 200),
        ("ok", "alive", "ok", 200),
        ("image", "alive", "ok", 200),
        ("https", "alive", "ok", 200),
        ("gzip", "alive", "ok", 200),
        ("chunked", "alive", "ok", 200),
        ("redirect", "alive", "redirected", 200),
        ("404", "dead", "http-404", 404),
        ("410", "dead", "http-410", 410),
        ("403", "blocked", "http-403", 403),
        ("500", "error", "http-5xx", 500),
        ("flaky", "alive", "ok", 200),
        ("retry_after", "alive", "ok", 200),
        ("huge", "alive", "ok", 200),
        ("slow", "error", "timeout", None),
        ("loop", "error", "redirect-loop", 302),
        ("refused", "dead", "connection-refused", None),
        ("nxdomain", "dead", "dns-not-found", None),
    ],
)
def test_outcome_per_url(run, name, outcome, reason, status):
    line = entry(run, name)
    assert (line["outcome"], line["reason"], line["http_status"]) == (
        outcome,
        reason,
        status,
    ), line["detail"]
    assert line["detail"]


def test_kinds_and_citations(run):
    assert entry(run, "article")["kind"] == "article"
    assert entry(run, "image")["kind"] == "image"
    link = entry(run, "ok")
    assert link["kind"] == "link"
    (citation,) = link["citations"]
    assert citation["text"] == "link ok"
    assert citation["title"] == "t-ok"
    assert link["articles"] == [citation["article"]]
    assert citation["article"].endswith("a.txt")


def test_unfetchable_urls_are_listed_not_fetched(run):
    by_outcome = {e["outcome"]: e for e in run.manifest.values()}
    assert by_outcome["skipped"]["url"].startswith("mailto:")
    assert by_outcome["invalid"]["reason"]
    assert by_outcome["invalid"]["warc_file"] is None


def test_attempts_match_what_the_server_counted(run):
    web = run.web
    for name, attempts in [("ok", 1), ("404", 1), ("500", 3), ("flaky", 2)]:
        path = run.urls[name].split(str(web.port), 1)[1]
        assert web.ledger.hits(path) == attempts, name
        assert entry(run, name)["attempts"] == attempts, name
    assert entry(run, "refused")["attempts"] == 3
    assert entry(run, "nxdomain")["attempts"] == 0


def test_retry_after_is_honoured(run):
    path = run.urls["retry_after"].split(str(run.web.port), 1)[1]
    first, second = run.web.ledger.times(path)
    assert second - first >= 0.95
    assert entry(run, "retry_after")["attempts"] == 2


def test_redirect_chain_is_recorded_hop_by_hop(run):
    line = entry(run, "redirect")
    chain = line["chain"]
    assert len(chain) == 3
    assert chain[0] == run.urls["redirect"]
    assert line["final_url"] == chain[-1]
    responses = [
        r
        for r in all_records(run.out)
        if r["type"] in ("response", "revisit") and r["uri"] in chain
    ]
    assert sorted(r["status"] for r in responses) == [200, 301, 301]


def all_records(out: Path) -> list[dict[str, Any]]:
    found = []
    for path in warc_files(out):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                status = None
                if record.http_headers is not None and record.rec_type in (
                    "response",
                    "revisit",
                ):
                    status = int(record.http_headers.get_statuscode())
                found.append(
                    {
                        "type": record.rec_type,
                        "uri": record.rec_headers.get_header("WARC-Target-URI"),
                        "headers": record.rec_headers,
                        "status": status,
                    }
                )
    return found


def test_every_manifest_offset_points_at_its_response(run):
    checked = 0
    for url, line in run.manifest.items():
        if line["warc_file"] is None:
            continue
        record, body = record_at(run.out, line["warc_file"], line["warc_offset"])
        assert record.rec_headers.get_header("WARC-Target-URI") == line["final_url"]
        if line["revisit_of"] is None:
            assert record.rec_type == "response"
            assert line["payload_digest"] == sha1_b32(body), url
        else:
            assert record.rec_type == "revisit"
            assert body == b""
        checked += 1
    assert checked >= 12


@pytest.mark.parametrize("name", ["ok", "image", "gzip", "chunked", "https"])
def test_archived_body_is_exactly_what_the_server_sent(run, name):
    line = entry(run, name)
    if line["revisit_of"]:  # the same bytes were archived under another URL
        line = run.manifest[line["revisit_of"]["uri"]]
    _, body = record_at(run.out, line["warc_file"], line["warc_offset"])
    url = run.urls[name]
    path = "/" + url.split("/", 3)[3]
    assert body == run.web.sent_body(path)
    assert line["length"] == len(body)


def test_same_bytes_under_a_second_url_are_a_revisit(run):
    first, copy = entry(run, "image"), entry(run, "image_copy")
    assert first["payload_digest"] == copy["payload_digest"]
    # whichever finished first holds the bytes; the other refers to it
    original, revisit = (first, copy) if copy["revisit_of"] else (copy, first)
    assert original["revisit_of"] is None
    assert revisit["revisit_of"]["uri"] == original["url"]
    record, _ = record_at(run.out, *locate(run, "image_copy"))
    assert record.rec_type in ("response", "revisit")
    assert copy["outcome"] == "alive"


def test_gzip_and_chunked_headers_are_kept_for_replay(run):
    record, _ = record_at(run.out, *locate(run, "gzip"))
    assert record.http_headers.get_header("Content-Encoding") == "gzip"
    record, _ = record_at(run.out, *locate(run, "chunked"))
    assert record.http_headers.get_header("Transfer-Encoding") is None
    assert (
        record.http_headers.get_header("X-Archiver-Orig-Transfer-Encoding") == "chunked"
    )


def locate(run: Run, name: str) -> tuple[str, int]:
    line = entry(run, name)
    return str(line["warc_file"]), int(str(line["warc_offset"]))


def test_header_bytes_are_kept_exactly(run):
    name, _ = locate(run, "headers")
    path = "/" + run.urls["headers"].split("/", 3)[3]
    sent = run.web.sent(path)
    assert sent is not None
    sent_head = sent.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    assert sent_head in gzip.decompress((run.out / name).read_bytes())


def test_oversized_body_is_cut_and_marked(run):
    line = entry(run, "huge")
    assert line["truncated"] is True
    assert line["length"] == 100000
    record, body = record_at(run.out, *locate(run, "huge"))
    assert record.rec_headers.get_header("WARC-Truncated") == "length"
    assert len(body) == 100000


def test_records_carry_required_headers(run):
    records = all_records(run.out)
    infos = [r for r in records if r["type"] == "warcinfo"]
    assert len(infos) == len(warc_files(run.out)) >= 1
    responses = {
        r["headers"].get_header("WARC-Record-ID"): r
        for r in records
        if r["type"] in ("response", "revisit")
    }
    requests = [r for r in records if r["type"] == "request"]
    assert len(requests) == len(responses)
    for request in requests:
        concurrent = request["headers"].get_header("WARC-Concurrent-To")
        assert concurrent in responses
        assert responses[concurrent]["uri"] == request["uri"]
    for response in responses.values():
        headers = response["headers"]
        assert headers.get_header("WARC-Payload-Digest").startswith("sha1:")
        assert headers.get_header("WARC-Block-Digest").startswith("sha1:")
        assert headers.get_header("WARC-IP-Address") == "127.0.0.1"
        assert headers.get_header("WARC-Warcinfo-ID")


def test_warcinfo_names_software_and_operator(run):
    with warc_files(run.out)[0].open("rb") as stream:
        record = next(iter(ArchiveIterator(stream)))
        fields = record.content_stream().read().decode()
    assert record.rec_type == "warcinfo"
    assert "software: archiver/" in fields
    assert "operator: Test Desk" in fields
    assert "command: archiver preserve" in fields
    assert f"hostname: {socket.gethostname()}" in fields
    assert f"isPartOf: {run.out.name}\r\n" in fields  # the run's collection
    assert "description: " in fields


def test_warc_files_pass_warcio_check(run):
    files = warc_files(run.out)
    assert files
    assert not list(run.out.glob("*.open"))
    assert all(f.name.startswith("archiver-") for f in files)
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from warcio.cli import main; main(sys.argv[1:])",
            "check",
            "-v",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout


def test_dead_links_csv_lists_only_dead(run):
    with (run.out / "dead-links.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    dead = {u for u, e in run.manifest.items() if e["outcome"] == "dead"}
    assert {r["link_url"] for r in rows} == dead
    row = next(r for r in rows if r["link_url"] == run.urls["404"])
    assert row["article_url"] == run.urls["article"]
    assert row["article_title"] == "Test article"
    assert row["link_text"] == "link 404"
    assert row["reason"] == "http-404"


def test_summary_is_printed(run):
    out = run.result.stdout
    assert "dead" in out
    assert "URLs/s" in out
    assert "http-404 1" in out
    assert "manifest:" in out
    # not a terminal: plain log lines, one per URL
    assert run.result.stderr.count("archiver: ") >= len(run.manifest)


def test_no_spool_files_left_behind(run):
    assert not list(run.out.glob(".spool-*"))


def test_private_addresses_are_refused_by_default(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    path = f"/page/private-{token}"
    write_article(tmp_path / "a.txt", fakeweb.url(path), "<p>nothing else</p>")
    out = tmp_path / "out"
    result = run_cli("preserve", str(tmp_path / "a.txt"), "--out", str(out))
    assert result.returncode == 0, result.stderr
    (line,) = read_manifest(out).values()
    assert line["outcome"] == "refused-private"
    assert "--allow-private" in line["detail"]
    assert fakeweb.ledger.hits(path) == 0


def test_numeric_ipv4_hosts_are_one_loopback_target_and_still_refused(
    fakeweb, tmp_path
):
    # 2130706433 and 0x7f.1 are 127.0.0.1 to a browser: one target, named as
    # such, and the private-address guard must see through the spelling.
    token = uuid.uuid4().hex[:8]
    path = f"/page/numeric-{token}"
    port = fakeweb.port
    body = (
        f'<a href="http://2130706433:{port}{path}">decimal</a>'
        f'<a href="http://0x7f.1:{port}{path}">hex</a>'
        f'<img src="http://0177.0.0.01:{port}{path}">'
    )
    write_article(tmp_path / "a.txt", fakeweb.url(f"/page/cites-{token}"), body)
    article = str(tmp_path / "a.txt")
    refused = run_cli("preserve", article, "--out", str(tmp_path / "r"))
    assert refused.returncode == 0, refused.stderr
    line = read_manifest(tmp_path / "r")[f"http://127.0.0.1:{port}{path}"]
    assert line["outcome"] == "refused-private"
    assert len(line["articles"]) == 1
    assert fakeweb.ledger.hits(path) == 0

    allowed = run_cli(
        "preserve", article, "--out", str(tmp_path / "o"), "--allow-private"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert (
        read_manifest(tmp_path / "o")[f"http://127.0.0.1:{port}{path}"]["outcome"]
        == "alive"
    )
    assert fakeweb.ledger.hits(path) == 1  # three spellings, one request
    assert fakeweb.ledger.headers(path)["Host"] == f"127.0.0.1:{port}"


def test_fail_on_dead_sets_exit_code(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    body = f'<a href="{fakeweb.url(f"/status/404/{token}")}">x</a>'
    write_article(tmp_path / "a.txt", fakeweb.url(f"/page/{token}"), body)
    args = ("preserve", str(tmp_path), "--allow-private")
    assert run_cli(*args, "--out", str(tmp_path / "o1")).returncode == 0
    result = run_cli(*args, "--out", str(tmp_path / "o2"), "--fail-on-dead")
    assert result.returncode == 3, result.stderr


def test_offline_machine_is_not_blamed_on_the_links(tmp_path):
    body = (
        '<a href="http://first.invalid/a">a</a><a href="https://second.invalid/b">b</a>'
    )
    write_article(tmp_path / "a.txt", "https://third.invalid/article", body)
    started = time.monotonic()
    result = run_cli(
        "preserve",
        str(tmp_path),
        "--out",
        str(tmp_path / "out"),
        "--canary",
        "https://canary.invalid/",
    )
    assert time.monotonic() - started < 30
    assert result.returncode == 5, result.stderr
    assert "NETWORK UNAVAILABLE" in result.stdout
    lines = read_manifest(tmp_path / "out").values()
    assert {line["outcome"] for line in lines} == {"error"}
    assert {line["reason"] for line in lines} == {"network-unavailable"}
    # the log never called a link dead on the way
    assert "dead" not in result.stderr.replace("no link was marked dead", "")
    assert result.stderr.count("(network-unavailable)") == 3


def test_offline_relabels_network_failures_only(fakeweb, tmp_path):
    private = fakeweb.url(f"/page/private-offline-{uuid.uuid4().hex[:8]}")
    body = f'<a href="http://first.invalid/a">a</a><a href="{private}">p</a>'
    write_article(tmp_path / "a.txt", "https://third.invalid/article", body)
    result = run_cli(
        "preserve",
        str(tmp_path),
        "--out",
        str(tmp_path / "out"),
        "--canary",
        "https://canary.invalid/",
    )
    assert result.returncode == 5, result.stderr
    manifest = read_manifest(tmp_path / "out")
    # A private address is refused before anything is sent: on an offline
    # night that is as true as on any other, so it is not relabelled.
    line = manifest[private]
    assert (line["outcome"], line["reason"]) == ("refused-private", "private-address")
    assert "--allow-private" in line["detail"]
    others = [e for url, e in manifest.items() if url != private]
    assert len(others) == 2
    for entry in others:
        assert (entry["outcome"], entry["reason"]) == ("error", "network-unavailable")
        assert "all 2 hosts" in entry["detail"]  # the private host is not one
    log = result.stderr.splitlines()
    assert f"archiver: refused-private - {private} (private-address)" in log
    assert sum(line.endswith("(network-unavailable)") for line in log) == 2
    assert "(dns-not-found)" not in result.stderr
    assert not (tmp_path / "out" / "manifest.jsonl.partial").exists()


def test_offline_leaves_a_url_the_deadline_cut_off_as_deadline(fakeweb, tmp_path):
    slow = fakeweb.url(f"/slow/20/offline-{uuid.uuid4().hex[:8]}")
    body = f'<a href="http://first.invalid/a">a</a><a href="{slow}">s</a>'
    write_article(tmp_path / "a.txt", "https://third.invalid/article", body)
    result = run_cli(
        "preserve", str(tmp_path), "--out", str(tmp_path / "out"),
        "--allow-private", "--deadline", "2", "--no-probe",
        "--canary", "https://canary.invalid/",
    )  # fmt: skip
    assert result.returncode == 5, result.stderr
    manifest = read_manifest(tmp_path / "out")
    assert {url: (e["outcome"], e["reason"]) for url, e in manifest.items()} == {
        slow: ("error", "deadline"),
        "http://first.invalid/a": ("error", "network-unavailable"),
        "https://third.invalid/article": ("error", "network-unavailable"),
    }


def test_bad_option_is_a_usage_error(tmp_path):
    result = run_cli("preserve", str(tmp_path), "--proxy", "ftp://proxy.example")
    assert result.returncode == 2
    assert "--proxy" in result.stderr
    missing = run_cli("preserve", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "nope" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1


def test_proxy_carries_every_request_and_user_agent_is_sent(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    plain = f"/page/proxied-{token}"
    secure = f"/page/proxied-tls-{token}"
    body = f'<a href="{fakeweb.https_url(secure)}">s</a>'
    write_article(tmp_path / "a.txt", fakeweb.url(plain), body)
    proxy = Proxy()
    proxy.start()
    try:
        result = run_cli(
            "preserve",
            str(tmp_path / "a.txt"),
            "--out",
            str(tmp_path / "out"),
            "--proxy",
            proxy.url,
            "--allow-private",
            "--ca-bundle",
            str(fakeweb.ca_pem),
            "--user-agent",
            "TestAgent/1.0 (+https://archive.example/about)",
        )
    finally:
        proxy.stop()
    assert result.returncode == 0, result.stderr
    outcomes = {u: e["outcome"] for u, e in read_manifest(tmp_path / "out").items()}
    assert outcomes == {fakeweb.url(plain): "alive", fakeweb.https_url(secure): "alive"}
    assert ("GET", fakeweb.url(plain)) in proxy.seen
    assert ("CONNECT", f"127.0.0.1:{fakeweb.https_port}") in proxy.seen
    for path in (plain, secure):
        agent = fakeweb.ledger.headers(path)["User-Agent"]
        assert agent == "TestAgent/1.0 (+https://archive.example/about)"


def test_the_article_file_itself_is_archived_with_its_outlinks(run):
    article_file = next(iter(run.out.parent.glob("seeds/*.txt")))
    resources, metadata = [], []
    for path in warc_files(run.out):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                if record.rec_type == "resource":
                    resources.append(
                        (record.rec_headers, record.content_stream().read())
                    )
                elif record.rec_type == "metadata":
                    metadata.append(
                        (record.rec_headers, record.content_stream().read())
                    )
    ((headers, payload),) = resources
    digest = hashlib.sha256(article_file.read_bytes()).hexdigest()
    assert (
        headers.get_header("WARC-Target-URI") == f"urn:archiver:article:sha256:{digest}"
    )
    assert payload == article_file.read_bytes()
    ((meta_headers, fields),) = metadata
    assert meta_headers.get_header("WARC-Concurrent-To") == headers.get_header(
        "WARC-Record-ID"
    )
    about = fields.decode().splitlines()
    assert about[:2] == [
        f"article-url: {run.urls['article']}",
        f"article-file: {article_file}",
    ]
    lines = [line for line in about if line.startswith("outlink: ")]
    outlinks = {line.split(" ")[1] for line in lines}
    assert run.urls["ok"] in outlinks
    assert run.urls["image"] in outlinks
    assert "mailto:someone@example.org" not in outlinks  # not fetched, not an outlink
    # Heritrix's form: URL, hop type (L a link, E an embed), context.
    assert f"outlink: {run.urls['ok']} L a/@href" in lines
    assert f"outlink: {run.urls['image']} E img/@src" in lines
    assert f"outlink: {run.urls['article']} L title/@markdown" in lines
    assert all(len(line.split(" ")) == 4 for line in lines)


def test_every_attempt_is_archived_as_evidence(run):
    def statuses(name: str) -> list[tuple[str, int]]:
        return [
            (str(r["type"]), int(str(r["status"])))
            for r in all_records(run.out)
            if r["uri"] == run.urls[name] and r["type"] in ("response", "revisit")
        ]

    assert statuses("flaky") == [("response", 503), ("response", 200)]
    assert statuses("retry_after") == [("response", 429), ("response", 200)]
    # three identical 500 answers: the body once, then revisits of it
    assert statuses("500") == [("response", 500), ("revisit", 500), ("revisit", 500)]
    line = entry(run, "flaky")
    record, _ = record_at(run.out, *locate(run, "flaky"))
    assert int(record.http_headers.get_statuscode()) == 200  # the manifest: the last
    assert line["attempts"] == 2
