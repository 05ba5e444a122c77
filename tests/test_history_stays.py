"""A figure once printed stays printed (issue 17 item 3): real nightly runs, real CLI.

Five nights of ``archiver nightly`` against the local fake web, a report
taken, then the editor removes the dead link from the article; three more
nights, and every earlier night of the new report must match the old one,
with the removal counted as fixed on the night it left, and the link gone
from everything that means "cited now": the night's ``dead-links.csv``,
``archiver fix`` and the report's lists. The store is a real SQLite file.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import links_to, run_cli, write_article
from tests.fakeweb.server import FakeWeb

pytestmark = pytest.mark.slow

NIGHT_ONE = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


def when(n: int) -> datetime:
    return NIGHT_ONE + timedelta(days=n - 1)


def night(root: Path, n: int) -> subprocess.CompletedProcess[str]:
    done = run_cli(
        "nightly", str(root / "articles"), "--out", str(root / "warcs"),
        "--allow-private", "--alive-every", "1", "--retries", "1", "--no-probe",
        "--no-requisites", "--dead-after-failures", "3", "--dead-after-days", "2",
        at=when(n),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done


def report(root: Path, n: int, form: str = "json") -> str:
    done = run_cli(
        "report", "--store", str(root / "warcs" / "archiver.sqlite3"),
        "--format", form, "--out", "-", at=when(n) + timedelta(hours=1),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def dead_links(root: Path, n: int) -> list[str]:
    run = when(n).strftime("%Y%m%dT%H%M%SZ")
    with (root / "warcs" / run / "dead-links.csv").open(encoding="utf-8") as f:
        return sorted(row["link_url"] for row in csv.DictReader(f))


def fix_list(root: Path, n: int) -> list[str]:
    done = run_cli(
        "fix", "--store", str(root / "warcs" / "archiver.sqlite3"), "--no-memento",
        "--out", "-", at=when(n) + timedelta(hours=1),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return sorted({row["link_url"] for row in csv.DictReader(io.StringIO(done.stdout))})


def test_removing_a_dead_link_is_a_fix_and_leaves_past_nights_as_printed(
    fakeweb: FakeWeb, tmp_path: Path
):
    token = uuid.uuid4().hex[:8]
    urls = {
        name: fakeweb.url(f"/switch/{name}-{token}")
        for name in ("dead", "alive", "shared")
    }
    fakeweb.switch(f"dead-{token}", 404, b"gone")
    fakeweb.switch(f"shared-{token}", 404, b"gone")
    fakeweb.switch(f"alive-{token}", 200, b"<p>here</p>")
    articles = tmp_path / "articles"
    articles.mkdir()
    one = write_article(
        articles / "one.txt", fakeweb.url(f"/page/one-{token}"), links_to(urls)
    )
    write_article(
        articles / "two.txt",
        fakeweb.url(f"/page/two-{token}"),
        links_to({"shared": urls["shared"]}),
    )
    for n in range(1, 6):
        night(tmp_path, n)
    before: dict[str, Any] = json.loads(report(tmp_path, 5))
    printed = before["trend"]
    assert len(printed) == 5
    assert printed[-1]["dead"] == 2  # "dead" and "shared", confirmed on night 3
    # One row per citing article: "shared" is cited by both.
    assert dead_links(tmp_path, 5) == sorted([urls["dead"], *[urls["shared"]] * 2])
    md_before = report(tmp_path, 5, "md")

    # The editor takes the dead link out of one.txt (and the shared one, which
    # two.txt still cites, so that one is not fixed).
    write_article(
        one, fakeweb.url(f"/page/one-{token}"), links_to({"alive": urls["alive"]})
    )
    for n in range(6, 9):
        night(tmp_path, n)
    after: dict[str, Any] = json.loads(report(tmp_path, 8))
    assert after["trend"][:5] == printed  # every earlier figure, as printed
    md_after = report(tmp_path, 8, "md")
    for point in printed:
        row = f"| `{point['run']}`"
        old = [line for line in md_before.splitlines() if line.startswith(row)]
        new = [line for line in md_after.splitlines() if line.startswith(row)]
        assert len(old) == 1
        assert old == new

    left = after["trend"][5]
    assert (left["fixed"], left["removed"]) == (1, 0)
    assert left["dead"] == 1  # "shared", still cited by two.txt
    assert [p["fixed"] for p in after["trend"]] == [0, 0, 0, 0, 0, 1, 0, 0]
    assert after["headline"]["fixed"] == 1
    assert after["headline"]["dead"] == 1
    # Cited now means cited now: the removed link is listed nowhere.
    assert dead_links(tmp_path, 8) == [urls["shared"]]  # two.txt's row only
    assert fix_list(tmp_path, 8) == [urls["shared"]]
    listed = [link["url"] for a in after["articles"] for link in a["dead_links"]]
    assert listed == [urls["shared"]]
    assert urls["dead"] not in md_after.split("## Dead links by article")[1]
    assert fakeweb.ledger.hits(f"/switch/dead-{token}") == 5  # not checked since
