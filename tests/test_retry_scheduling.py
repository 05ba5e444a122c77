"""Issue 18: a backoff holds no slot. Through the real CLI against the local
server, URLs that each fail once (a 500) and then answer: while the first
ones wait out their backoff, the host's other URLs get their first attempt.
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.clirun import links_to, run_cli, write_article

pytestmark = pytest.mark.slow


def test_urls_waiting_to_retry_let_the_hosts_other_urls_go_first(fakeweb, tmp_path):
    token = uuid.uuid4().hex[:8]
    urls = {f"b{n}": fakeweb.url(f"/broken/1/{token}-{n}") for n in range(6)}
    article = write_article(
        tmp_path / "a.txt", fakeweb.url(f"/page/sched-{token}"), links_to(urls)
    )
    out = tmp_path / "out"
    done = run_cli(
        "preserve", str(article), "--out", str(out), "--allow-private",
        "--no-probe", "--no-requisites", "--browser", "never",
        "--per-host", "2", "--retry-base", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    manifest = [json.loads(line) for line in lines]
    by_url = {entry["url"]: entry for entry in manifest}
    for url in urls.values():
        assert by_url[url]["outcome"] == "alive"
        assert by_url[url]["attempts"] == 2
    paths = ["/" + url.split("/", 3)[3] for url in urls.values()]
    arrivals = [fakeweb.ledger.times(path) for path in paths]
    assert all(len(times) == 2 for times in arrivals)
    # Two slots, six URLs, each first attempt followed by >= 1 s of backoff:
    # had the waits held the slots, URLs 3-6 would start after 1-2 retried.
    last_first = max(first for first, _ in arrivals)
    first_retry = min(second for _, second in arrivals)
    assert last_first < first_retry
