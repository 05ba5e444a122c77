"""Dead or alive, and why: one scenario per behaviour of the web, the real CLI.

A module-scoped run fetches an article linking to every scenario of the fake
web (tests/fakeweb/server.py); each test then checks one manifest line, the
attempts the server counted, or the times it saw requests arrive. Runs that
need other options (per-host limits, giving up on a host) are their own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.clirun import (
    links_to,
    preserve_local,
    read_manifest,
    run_cli,
    write_article,
)
from tests.fakeweb.server import FakeWeb, closed_port


@dataclass
class Scenarios:
    out: Path
    manifest: dict[str, dict[str, Any]]
    urls: dict[str, str]
    web: FakeWeb
    stderr: str


def scenario_urls(web: FakeWeb, token: str) -> dict[str, str]:
    return {
        "soft_404": web.site_url("soft404", f"/old-story-{token}"),
        "soft_live": web.site_url("soft404", f"/page/live-{token}"),
        "home_redirect": web.site_url("homeredirect", f"/missing-{token}"),
        "home_live": web.site_url("homeredirect", f"/page/real-{token}"),
        "parked": web.site_url("parked", f"/story-{token}", host="localhost"),
        "moved": web.site_url("moved", f"/old/{token}", host="localhost"),
        "spa": web.site_url("spa", f"/article/{token}"),
        "wall": web.url(f"/wall/{token}"),
        "captcha": web.url(f"/captcha/{token}"),
        "401": web.url(f"/status/401/{token}"),
        "451": web.url(f"/status/451/{token}"),
        "418": web.url(f"/status/418/{token}"),
        "503": web.url(f"/status/503/{token}"),
        "rate": web.url(f"/always-429/{token}"),
        "short": web.url(f"/short/{token}"),
        "reset": web.url(f"/reset/{token}"),
        "reset_early": web.url(f"/reset-early/{token}"),
        "malformed": web.url(f"/malformed/{token}"),
        "bad_encoding": web.url(f"/bad-encoding/{token}"),
        "trickle": web.url(f"/trickle/{token}"),
        "huge_headers": web.url(f"/huge-headers/{token}"),
        "too_many": web.url(f"/redirect/302/12/{token}"),
        "flaky": web.url(f"/flaky/2/{token}"),
    }


@pytest.fixture(scope="module")
def own_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeWeb]:
    """A fake web for the scenario run alone.

    What its server counts (probes per host, attempts per URL) must be that
    run's: the session's ``fakeweb`` also serves other modules' tests, and
    tests/test_verify.py probes the same soft-404 site, so counted there a
    probe "per host" depended on which modules ran first in the process.
    """
    web = FakeWeb(tmp_path_factory.mktemp("outcomes-web"))
    web.start()
    yield web
    web.stop()


@pytest.fixture(scope="module")
def scenarios(own_web: FakeWeb, tmp_path_factory: pytest.TempPathFactory) -> Scenarios:
    fakeweb = own_web
    token = uuid.uuid4().hex[:8]
    base = tmp_path_factory.mktemp("outcomes")
    urls = scenario_urls(fakeweb, token)
    article = write_article(
        base / "a.txt", fakeweb.url(f"/page/scenarios-{token}"), links_to(urls)
    )
    out = base / "out"
    result = run_cli(
        "preserve",
        str(article),
        "--out",
        str(out),
        "--allow-private",
        "--retries",
        "2",
        "--retry-base",
        "0.3",
        "--timeout",
        "1",
        "--max-time",
        "1.5",
    )
    assert result.returncode == 0, result.stderr
    return Scenarios(out, read_manifest(out), urls, fakeweb, result.stderr)


@pytest.mark.parametrize(
    ("name", "outcome", "reason", "status", "attempts"),
    [
        ("soft_404", "dead", "soft-404", 200, 1),
        ("soft_live", "alive", "ok", 200, 1),
        ("home_redirect", "dead", "soft-404", 200, 2),
        ("home_live", "alive", "ok", 200, 1),
        ("parked", "dead", "redirects-everywhere", 200, 2),
        ("moved", "alive", "moved-offsite", 200, 2),
        ("spa", "blocked", "same-as-missing", 200, 1),
        ("wall", "blocked", "bot-wall", 403, 1),
        ("captcha", "blocked", "bot-wall", 503, 2),
        ("401", "blocked", "http-401", 401, 1),
        ("451", "blocked", "http-451", 451, 1),
        ("418", "error", "http-4xx", 418, 1),
        ("503", "error", "http-5xx", 503, 2),
        ("rate", "blocked", "rate-limited", 429, 2),
        ("short", "error", "truncated-body", 200, 2),
        ("reset", "error", "truncated-body", 200, 2),
        ("reset_early", "error", "connection-reset", None, 2),
        ("malformed", "error", "connection-reset", None, 2),
        ("bad_encoding", "alive", "ok", 200, 1),
        ("trickle", "error", "timeout", None, 2),
        ("huge_headers", "error", "connection-reset", None, 2),
        ("too_many", "error", "too-many-redirects", 302, 11),
        ("flaky", "alive", "ok", 200, 2),
    ],
)
def test_outcome(scenarios, name, outcome, reason, status, attempts):
    line = scenarios.manifest[scenarios.urls[name]]
    got = (line["outcome"], line["reason"], line["http_status"], line["attempts"])
    assert got == (outcome, reason, status, attempts), line["detail"]
    assert line["detail"]


def test_a_body_the_server_broke_off_is_truncated_in_manifest_and_record(scenarios):
    for name in ("short", "reset"):
        line = scenarios.manifest[scenarios.urls[name]]
        assert line["truncated"] is True, name
        with (scenarios.out / line["warc_file"]).open("rb") as stream:
            stream.seek(line["warc_offset"])
            record = next(iter(ArchiveIterator(stream)))
        assert record.rec_headers.get_header("WARC-Truncated") == "disconnect"
    assert scenarios.manifest[scenarios.urls["flaky"]]["truncated"] is False


def test_attempts_are_what_the_server_counted(scenarios):
    for name in ("503", "rate", "short", "flaky", "wall", "soft_404"):
        path = "/" + scenarios.urls[name].split("/", 3)[3]
        assert (
            scenarios.web.ledger.hits(path)
            == scenarios.manifest[scenarios.urls[name]]["attempts"]
        ), name


def test_backoff_waits_between_attempts(scenarios):
    path = "/" + scenarios.urls["flaky"].split("/", 3)[3]
    first, second = scenarios.web.ledger.times(path)
    assert second - first >= 0.3  # --retry-base


def test_slowloris_is_cut_off_by_max_time(scenarios):
    path = "/" + scenarios.urls["trickle"].split("/", 3)[3]
    first, second = scenarios.web.ledger.times(path)
    # cut at --max-time (1.5 s) although a byte came every 0.2 s
    assert 1.5 <= second - first < 5


def test_soft_404_probe_asks_each_host_once(scenarios):
    port = scenarios.web.site_port("soft404")
    probes = [
        p for p in scenarios.web.ledger.paths() if p.startswith("/archiver-probe-")
    ]
    assert probes
    assert len(set(probes)) == len(probes)
    # two links to the soft404 site, one probe for it
    soft_probes = [p for p in probes if scenarios.web.ledger.port_of(p) == port]
    assert len(soft_probes) == 1


def test_the_run_survives_every_scenario_and_keeps_what_it_got(scenarios):
    alive = [e for e in scenarios.manifest.values() if e["outcome"] == "alive"]
    assert len(alive) >= 6
    assert all(e["warc_file"] for e in alive)
    # a response that was dead or blocked is archived too: it is evidence
    assert scenarios.manifest[scenarios.urls["wall"]]["warc_file"]
    assert scenarios.manifest[scenarios.urls["soft_404"]]["warc_file"]


def test_a_host_saying_slow_down_slows_all_its_urls(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {
        f"r{n}": fakeweb.site_url("rateonce", f"/page/r{n}-{token}") for n in range(4)
    }
    write_article(
        tmp_path / "a.txt", fakeweb.url(f"/page/slow-{token}"), links_to(urls)
    )
    started = time.monotonic()
    result = preserve_local(
        tmp_path,
        "--per-host",
        "2",
        "--retry-base",
        "0.05",
        "--no-probe",
    )
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    times = sorted(
        t
        for url in urls.values()
        for t in fakeweb.ledger.times("/" + url.split("/", 3)[3])
    )
    told = times[0]  # the first request got 429 with Retry-After: 1
    later = times[2:]  # the two first requests started together
    assert later
    assert all(t - told >= 0.95 for t in later), [t - told for t in times]
    assert fakeweb.ledger.peak(fakeweb.site_port("rateonce")) <= 2
    manifest = read_manifest(tmp_path / "out")
    assert {manifest[u]["outcome"] for u in urls.values()} == {"alive"}


def test_per_host_limit_is_never_exceeded(tmp_path):
    web = FakeWeb(tmp_path)
    web.start()
    try:
        urls = {f"s{n}": web.url(f"/slow/0.3/{n}") for n in range(6)}
        write_article(tmp_path / "a.txt", web.url("/page/peak"), links_to(urls))
        result = preserve_local(
            tmp_path,
            "--per-host",
            "2",
            "--no-probe",
        )
        assert result.returncode == 0, result.stderr
        assert web.ledger.peak(web.port) == 2
    finally:
        web.stop()


def test_a_host_that_keeps_refusing_is_given_up_on(fakeweb, tmp_path):
    port = closed_port()
    urls = {f"c{n}": f"http://127.0.0.1:{port}/gone-{n}" for n in range(5)}
    write_article(tmp_path / "a.txt", urls.pop("c0"), links_to(urls))
    result = preserve_local(
        tmp_path,
        "--per-host",
        "1",
        "--retry-base",
        "0.01",
        "--host-failures",
        "2",
        "--canary",
        fakeweb.url("/page/canary"),
    )
    assert result.returncode == 0, result.stderr
    lines = read_manifest(tmp_path / "out").values()
    assert {(e["outcome"], e["reason"]) for e in lines} == {
        ("dead", "connection-refused")
    }
    tried = sorted(e["attempts"] for e in lines)
    assert tried == [0, 0, 0, 3, 3]
    skipped = [e for e in lines if e["attempts"] == 0]
    assert all("not tried" in e["detail"] for e in skipped)


@pytest.mark.parametrize(
    ("fault", "words"),
    [("expired", "expired"), ("wrong-host", "mismatch")],
)
def test_a_certificate_at_fault_is_a_tls_error(fakeweb, tmp_path, fault, words):
    token = uuid.uuid4().hex[:8]
    path = f"/page/tls-{fault}-{token}"
    bad = fakeweb.bad_tls_url(fault, path)
    good = fakeweb.https_url(f"/page/tls-good-{token}")
    write_article(tmp_path / "a.txt", good, links_to({"bad": bad}))
    result = preserve_local(
        tmp_path,
        "--ca-bundle",
        str(fakeweb.ca_pem),
        "--retries",
        "2",
        "--retry-base",
        "0.05",
        "--no-probe",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    manifest = read_manifest(tmp_path / "out")
    # The run trusts the CA that issued both certificates: the good one passes.
    assert (manifest[good]["outcome"], manifest[good]["reason"]) == ("alive", "ok")
    line = manifest[bad]
    got = (line["outcome"], line["reason"], line["http_status"], line["attempts"])
    assert got == ("error", "tls-error", None, 1), line["detail"]  # not retried
    assert line["detail"].startswith("the TLS handshake failed: ")
    assert words in line["detail"]
    assert line["warc_file"] is None
    assert fakeweb.ledger.hits(path) == 0  # no request got past the handshake
    assert f"error - {bad} (tls-error)" in result.stderr


def test_deadline_stops_the_run_and_keeps_what_was_archived(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {"quick": fakeweb.url(f"/page/quick-{token}")} | {
        f"slow{n}": fakeweb.url(f"/slow/20/{n}-{token}") for n in range(3)
    }
    write_article(tmp_path / "a.txt", fakeweb.url(f"/page/dl-{token}"), links_to(urls))
    started = time.monotonic()
    result = preserve_local(
        tmp_path,
        "--deadline",
        "2",
        "--timeout",
        "60",
        "--no-probe",
    )
    assert time.monotonic() - started < 20
    assert result.returncode == 0, result.stderr
    manifest = read_manifest(tmp_path / "out")
    assert manifest[urls["quick"]]["outcome"] == "alive"
    assert manifest[urls["quick"]]["warc_file"]
    for n in range(3):
        line = manifest[urls[f"slow{n}"]]
        assert (line["outcome"], line["reason"]) == ("error", "deadline")
    assert not list((tmp_path / "out").glob("*.open"))
