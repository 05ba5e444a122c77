"""Articles whose files are gone are withdrawn; back, they are cited again (issue 13).

Real nightly runs in subprocesses against the local test server, which
counts the requests it gets: a withdrawn article's own links are fetched no
more, a link another article still cites is, and editors are never told to
fix a file that no longer exists.
"""

from __future__ import annotations

import csv
import json
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.store.base import open_store
from tests.clirun import links_to, run_cli, write_article
from tests.fakeweb.server import FakeWeb

pytestmark = pytest.mark.slow

NIGHT_ONE = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)


def night(root: Path, n: int) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "nightly",
        str(root / "articles"),
        "--out",
        str(root / "warcs"),
        "--allow-private",
        "--alive-every",
        "1",
        "--retries",
        "1",
        "--no-probe",
        "--no-requisites",
        at=NIGHT_ONE + timedelta(days=n - 1),
    )


def dead_links(root: Path, n: int) -> list[dict[str, str]]:
    run = (NIGHT_ONE + timedelta(days=n - 1)).strftime("%Y%m%dT%H%M%SZ")
    with (root / "warcs" / run / "dead-links.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def report(root: Path) -> dict[str, object]:
    done = run_cli(
        "report",
        "--store",
        str(root / "warcs" / "archiver.sqlite3"),
        "--format",
        "json",
        "--out",
        "-",
        at=NIGHT_ONE + timedelta(days=10),
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, object] = json.loads(done.stdout)
    return found


def withdrawn(root: Path) -> dict[str, datetime | None]:
    with open_store(root / "warcs" / "archiver.sqlite3") as store:
        return {Path(a.path).name: a.withdrawn for a in store.articles()}


@pytest.fixture
def library(fakeweb: FakeWeb, tmp_path: Path):
    token = uuid.uuid4().hex[:8]
    urls = {
        "own": fakeweb.url(f"/switch/own-{token}"),
        "shared": fakeweb.url(f"/switch/shared-{token}"),
        "kept": fakeweb.url(f"/switch/kept-{token}"),
    }
    fakeweb.switch(f"own-{token}", 404, b"gone")
    fakeweb.switch(f"shared-{token}", 200, b"<p>shared</p>")
    fakeweb.switch(f"kept-{token}", 200, b"<p>kept</p>")
    folder = tmp_path / "articles"
    folder.mkdir()
    one = write_article(
        folder / "one.txt",
        fakeweb.url(f"/page/one-{token}"),
        links_to({"own": urls["own"], "shared": urls["shared"]}),
    )
    write_article(
        folder / "two.txt",
        fakeweb.url(f"/page/two-{token}"),
        links_to({"shared": urls["shared"]}),
    )
    three = write_article(
        folder / "three.txt",
        fakeweb.url(f"/page/three-{token}"),
        links_to({"kept": urls["kept"]}),
    )
    return tmp_path, urls, one, three


def hits(fakeweb: FakeWeb, url: str) -> int:
    return fakeweb.ledger.hits("/" + url.split("/", 3)[3])


def test_a_deleted_article_is_withdrawn_its_links_rest_and_it_returns(library, fakeweb):
    root, urls, one, three = library
    copy = one.read_bytes()
    first = night(root, 1)
    assert first.returncode == 0, first.stderr
    assert [row["link_url"] for row in dead_links(root, 1)] == [urls["own"]]
    before = {name: hits(fakeweb, url) for name, url in urls.items()}

    one.unlink()
    # Unreadable is not gone: it is skipped and keeps its links.
    three.write_bytes(b"not an article at all")
    second = night(root, 2)
    assert second.returncode == 0, second.stderr
    assert "withdrawn: 1 article(s) whose file is gone" in second.stdout
    assert f"{one}: withdrawn" in second.stderr
    assert "article-skipped" in second.stderr
    after = {name: hits(fakeweb, url) for name, url in urls.items()}
    assert after["own"] == before["own"]  # cited by the withdrawn article alone
    assert after["shared"] > before["shared"]  # two.txt still cites it
    assert after["kept"] > before["kept"]  # three.txt is there, if unreadable
    assert dead_links(root, 2) == []  # no fix asked for in a file that is gone
    marks = withdrawn(root)
    when = marks["one.txt"]
    assert when is not None
    assert timedelta(0) <= when - (NIGHT_ONE + timedelta(days=1)) < timedelta(minutes=1)
    assert marks["two.txt"] is None
    assert marks["three.txt"] is None
    audit = report(root)
    headline = audit["headline"]
    assert isinstance(headline, dict)
    assert headline["withdrawn_articles"] == 1
    assert headline["dead"] == 0
    assert headline["articles"] == 2
    listed = audit["articles"]
    assert isinstance(listed, list)
    assert all(not str(a["path"]).endswith("one.txt") for a in listed)
    printed = audit["trend"]
    assert isinstance(printed, list)
    assert len(printed) == 2

    one.write_bytes(copy)  # back, unchanged
    third = night(root, 3)
    assert third.returncode == 0, third.stderr
    assert "returned: 1 withdrawn article(s) back" in third.stdout
    assert hits(fakeweb, urls["own"]) > before["own"]  # checked again
    assert [row["link_url"] for row in dead_links(root, 3)] == [urls["own"]]
    assert withdrawn(root)["one.txt"] is None
    later = report(root)
    assert later["headline"]["withdrawn_articles"] == 0  # type: ignore[index]
    # The nights it was away read as they were printed then (issue 17: a
    # figure once printed stays the same), though the file is back.
    trend = later["trend"]
    assert isinstance(trend, list)
    assert trend[:2] == printed
    with open_store(root / "warcs" / "archiver.sqlite3") as store:
        [away] = [a.away for a in store.articles() if a.path.endswith("one.txt")]
    [(gone, back)] = away
    assert gone == when
    assert back is not None
    assert back - gone > timedelta(hours=23)


def test_an_emptied_folder_withdraws_nothing(library, fakeweb):
    """An unmounted disk looks like an empty folder: it must not retire a collection."""
    root, urls, _, _ = library
    assert night(root, 1).returncode == 0
    before = hits(fakeweb, urls["own"])
    for path in (root / "articles").iterdir():
        path.unlink()
    second = night(root, 2)
    assert second.returncode == 0, second.stderr
    assert "withdrawn" not in second.stdout
    assert set(withdrawn(root).values()) == {None}
    assert hits(fakeweb, urls["own"]) > before  # still due, still checked
