"""Servers that attack the archiver: decompression bombs and redirects inward.

Each scenario runs the real CLI in a subprocess against the fake web. Peak
memory is measured from outside: a small parent process runs the CLI and
reports its child's ``ru_maxrss``, so no other test's children count.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.clirun import links_to, read_manifest, write_article
from tests.fakeweb.server import FakeWeb, bomb
from tests.warcfiles import records

MEMORY_LIMIT_MB = 150
DEADLINE = 40.0

_MEASURE = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "archiver", *sys.argv[1:]],
                      capture_output=True, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
import json
print(json.dumps({"code": done.returncode, "peak_kb": peak_kb,
                  "stderr": done.stderr}))
"""


def _measured_cli(*args: str) -> tuple[int, float, str, float]:
    """Run the CLI once: its exit code, peak memory in MB, stderr, wall seconds."""
    started = time.monotonic()
    parent = subprocess.run(
        [sys.executable, "-c", _MEASURE, *args],
        capture_output=True,
        text=True,
        timeout=DEADLINE * 3,
        check=True,
    )
    elapsed = time.monotonic() - started
    report = json.loads(parent.stdout)
    return report["code"], report["peak_kb"] / 1024, report["stderr"], elapsed


@pytest.mark.slow
def test_decompression_bombs_stay_small_and_within_the_deadline(
    fakeweb: FakeWeb, tmp_path: Path
):
    codings = ("gzip", "deflate", "br")
    for coding in codings:
        bomb(coding)  # built before the clock starts
    urls = {
        f"{coding}-{kind}": fakeweb.site_url(f"bomb-{coding}", f"/{kind}/zeros")
        for coding in codings
        for kind in ("page", "wall")
    }
    article = write_article(tmp_path / "a.txt", fakeweb.url("/page/a"), links_to(urls))
    out = tmp_path / "out"

    # archiver's own decoding is what is measured here; a bomb handed to the
    # browser (--browser auto) is bounded by chromium's own limits instead.
    code, peak_mb, stderr, elapsed = _measured_cli(
        "preserve",
        "--browser",
        "never",
        str(article),
        "--out",
        str(out),
        "--allow-private",
        "--deadline",
        str(DEADLINE),
    )

    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert peak_mb < MEMORY_LIMIT_MB
    assert elapsed < DEADLINE
    manifest = read_manifest(out)
    for name, url in urls.items():
        assert manifest[url]["outcome"] != "deadline", name
        assert manifest[url]["http_status"] == (503 if "wall" in name else 200)


DISGUISED = {
    "loopback": "127.0.0.2",
    "private": "10.0.0.1",
    "mapped": "[::ffff:127.0.0.2]",
    "compatible": "[::7f00:2]",
    "nat64": "[64:ff9b::7f00:2]",
    "6to4": "[2002:7f00:2::]",
    "metadata": "169.254.169.254",
}


def test_redirects_to_private_addresses_are_refused_after_the_first_hop(
    fakeweb: FakeWeb, tmp_path: Path
):
    """127.0.0.1 plays the internet (tests/publicloopback.py); nothing else does."""
    hops = {
        name: fakeweb.url(f"/away/{name}-{tmp_path.name}?")
        + quote(f"http://{host}:{fakeweb.port}/", safe=":/")
        for name, host in DISGUISED.items()
    }
    public = fakeweb.url(f"/page/public-{tmp_path.name}")
    article = write_article(
        tmp_path / "a.txt", fakeweb.url("/page/a"), links_to({**hops, "ok": public})
    )
    out = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.publicloopback",
            "preserve",
            str(article),
            "--out",
            str(out),
            "--no-probe",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    manifest = read_manifest(out)
    assert manifest[public]["outcome"] == "alive"
    archived = {
        record.rec_headers.get_header("WARC-Target-URI")
        for warc in out.glob("*.warc.gz")
        for record, _body in records(warc)
        if record.rec_type == "response"
    }
    for name, url in hops.items():
        entry = manifest[url]
        assert entry["outcome"] == "refused-private", (name, entry)
        assert "--allow-private" in entry["detail"]
        assert url in archived, name  # the public first hop was kept
        assert fakeweb.ledger.hits("/" + url.split("/", 3)[3]) == 1
