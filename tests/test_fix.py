"""``archiver fix`` on a store the real nightly CLI wrote, with a fake Memento archive.

Expected rows come from the scenario's tables (``tests/fixscenario.py``)
and from the WARC files themselves, never from the fix list's own code.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.store.base import open_store
from tests import fixscenario as scn
from tests.clirun import run_cli
from tests.fakememento import FakeArchive
from tests.fakeweb.server import FakeWeb, closed_port

REPLAY = "https://replay.example/archive"

# Five nightly runs make the store: some 20 s before the first test.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def archive() -> Iterator[FakeArchive]:
    fake = FakeArchive().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def scenario(
    fakeweb: FakeWeb, archive: FakeArchive, tmp_path_factory: pytest.TempPathFactory
) -> scn.Scenario:
    return scn.build(fakeweb, tmp_path_factory.mktemp("fix"), archive)


def fix(scenario: scn.Scenario, *args: str, code: int = 0) -> str:
    result = run_cli(
        "fix", "--store", str(scenario.store),
        "--memento-timegate", scenario.archive.base, "--allow-private",
        "--memento-retries", "1", *args, at=scn.AFTER,
    )  # fmt: skip
    assert result.returncode == code, result.stderr
    return result.stdout


def rows(scenario: scn.Scenario, *args: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(fix(scenario, *args))))


@pytest.fixture(scope="module")
def default(scenario: scn.Scenario) -> list[dict[str, str]]:
    """The CSV with no options but the archive's, which most tests read."""
    return rows(scenario)


def by_link(found: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["link_url"]: row for row in found}


def record(scenario: scn.Scenario, warc_file: str, offset: int) -> tuple[str, Any]:
    with (scenario.root / "warcs" / warc_file).open("rb") as stream:
        stream.seek(offset)
        found = next(iter(ArchiveIterator(stream)))
        return found.rec_type, (
            found.rec_headers.get_header("WARC-Target-URI"),
            found.content_stream().read(),
        )


def test_the_patch_columns_come_first(default):
    header = list(default[0])
    assert header[:6] == [
        "article_file", "link_url", "replacement_url", "capture_time", "source",
        "confidence",
    ]  # fmt: skip


def test_every_dead_citation_once_and_nothing_alive(scenario, default):
    found = default
    names = {url: name for name, url in scenario.urls.items()}
    listed = sorted((Path(r["article_file"]).name, names[r["link_url"]]) for r in found)
    assert listed == [
        ("a.txt", "foot"), ("a.txt", "img"), ("a.txt", "text"),
        ("b.txt", "gone"), ("b.txt", "lost"), ("c.txt", "cfoot"),
    ]  # fmt: skip


def test_our_copy_is_a_response_record_even_when_the_nearest_is_a_revisit(scenario):
    url = scenario.urls["text"]
    with open_store(scenario.store) as store:
        checks = {c.run_id: c for c in store.history(url)}
    night_one, night_two = checks[scn.run_id(1)], checks[scn.run_id(2)]
    # The precondition that makes this test mean something: the capture
    # nearest before publication (night 2) is a revisit.
    assert night_two.record is not None
    assert night_two.record.revisit_of is not None
    assert night_two.checked < scn.RECENT < checks[scn.run_id(3)].checked
    row = by_link(rows(scenario, "--replay-base", REPLAY))[url]
    assert (row["source"], row["confidence"]) == ("ours", "high")
    assert row["warc_file"].startswith(scn.run_id(1) + "/")
    kind, (target, payload) = record(
        scenario, row["warc_file"], int(row["warc_offset"])
    )
    assert kind == "response"
    assert target == url
    assert payload == b"<p>text page</p>"
    captured = datetime.fromisoformat(row["capture_time"])
    assert captured == night_one.checked.replace(microsecond=0)
    stamp = night_one.checked.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    assert row["replacement_url"] == f"{REPLAY}/{stamp}/{url}"
    # Last seen alive by us on night 2, first seen dead on night 3.
    assert datetime.fromisoformat(row["last_seen_alive"]) == night_two.checked.replace(
        microsecond=0
    )
    assert row["last_seen_alive_by"] == "ours"
    first_dead = checks[scn.run_id(3)].checked.replace(microsecond=0)
    assert datetime.fromisoformat(row["first_seen_dead"]) == first_dead
    assert row["dead_before_monitoring"] == "no"


def test_without_a_replay_base_the_address_is_pywbs_path(scenario, default):
    row = by_link(default)[scenario.urls["img"]]
    assert row["replacement_url"].startswith("/archive/")
    assert row["replacement_url"].endswith("/" + scenario.urls["img"])


def test_a_link_dead_before_monitoring_gets_the_archives_capture(scenario, default):
    found = by_link(default)
    gone = found[scenario.urls["gone"]]
    nearest, last_alive = scn.GONE_CAPTURES[0][0], scn.GONE_CAPTURES[1][0]
    assert (gone["source"], gone["confidence"]) == ("memento", "medium")
    assert gone["replacement_url"] == scenario.archive.memento_url(
        scenario.urls["gone"], nearest
    )
    assert datetime.fromisoformat(gone["capture_time"]) == nearest
    assert gone["archive"] == scenario.archive.base
    assert datetime.fromisoformat(gone["last_seen_alive"]) == last_alive
    assert gone["last_seen_alive_by"] == scenario.archive.base
    assert gone["dead_before_monitoring"] == "yes"
    assert "dead before monitoring began" in gone["dead_since"]
    lost = found[scenario.urls["lost"]]
    assert (lost["source"], lost["confidence"], lost["replacement_url"]) == (
        "needs-research",
        "none",
        "",
    )
    assert lost["last_seen_alive"] == ""
    assert lost["memento_failures"] == ""  # asked, and it holds nothing
    assert "never seen alive" in lost["dead_since"]


def test_links_we_hold_a_copy_of_are_not_looked_up(scenario, default):
    for name in ("img", "text", "foot", "cfoot", "ok"):
        assert scenario.archive.asked(scenario.urls[name]) == 0, name
    assert scenario.archive.asked(scenario.urls["gone"]) > 0


def test_no_memento_asks_no_archive(scenario):
    before = len(scenario.archive.requests)
    gone = by_link(rows(scenario, "--no-memento"))[scenario.urls["gone"]]
    assert gone["source"] == "needs-research"
    assert len(scenario.archive.requests) == before


def test_an_archive_that_is_down_is_said_and_the_next_one_answers(scenario):
    down = f"http://127.0.0.1:{closed_port()}/web/"
    result = run_cli(
        "fix", "--store", str(scenario.store), "--allow-private",
        "--memento-timegate", down,
        # Without its final "/", as a user might write it: it gets one.
        "--memento-timegate", scenario.archive.base.rstrip("/"),
        "--memento-retries", "1", at=scn.AFTER,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    gone = by_link(list(csv.DictReader(io.StringIO(result.stdout))))[
        scenario.urls["gone"]
    ]
    assert gone["source"] == "memento"
    assert gone["archive"] == scenario.archive.base
    assert gone["memento_failures"] == f"{down}: unreachable"
    (line,) = [line for line in result.stderr.splitlines() if down in line]
    assert "unreachable" in line
    assert "asking 2 web archive(s) about 2 dead link(s)" in result.stderr


def test_articles_are_ranked_by_prominence_and_recency(scenario, default):
    found = default
    # a.txt: lead image 3 + in-text 2 + footer 0.25, published days ago;
    # b.txt: two in-text links (4), but published in 2015 (recency ~0.51);
    # c.txt: one footer link (0.25), recent.
    order = list(dict.fromkeys(Path(r["article_file"]).name for r in found))
    assert order == ["a.txt", "b.txt", "c.txt"]
    a_rows = [r for r in found if r["article_file"] == scenario.paths["a.txt"]]
    assert [r["placement"] for r in a_rows] == ["lead-image", "in-text", "footer"]
    assert [r["rank"] for r in found] == ["1"] * 3 + ["2"] * 2 + ["3"]


def test_traffic_figures_reorder_the_articles(scenario, tmp_path):
    views = tmp_path / "views.csv"
    views.write_text(f"url,views\n{scenario.urls['c.txt']},1000000000\n")
    found = rows(scenario, "--priority", str(views))
    # c.txt: 0.25 x (1 + log10(1e9)) = 2.5, above b.txt's ~2.05.
    order = list(dict.fromkeys(Path(r["article_file"]).name for r in found))
    assert order == ["a.txt", "c.txt", "b.txt"]


def test_json_patch_has_the_same_rows(scenario, default):
    document = json.loads(fix(scenario, "--format", "json"))
    assert document["schema"] == 1
    assert document["memento"]["asked"] is True
    assert document["memento"]["failures"] == []
    from_csv = default
    patch = [
        (f["article_file"], f["link_url"], f["replacement_url"] or "", f["source"])
        for f in document["fixes"]
    ]
    assert patch == [
        (r["article_file"], r["link_url"], r["replacement_url"], r["source"])
        for r in from_csv
    ]
    assert [a["rank"] for a in document["articles"]] == [1, 2, 3]
    assert document["fixes"][0]["dead_before_monitoring"] is False
    assert all(f["memento_failures"] == [] for f in document["fixes"])


def digests(paths: dict[str, str]) -> dict[str, str]:
    return {
        name: hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for name, path in paths.items()
    }


@pytest.mark.parametrize("mode", ["replace", "beside"])
def test_patched_copies_and_untouched_originals(scenario, tmp_path, mode):
    before = digests(scenario.paths)
    folder = tmp_path / "patched"
    found = by_link(
        rows(scenario, "--replay-base", REPLAY, "--patched", str(folder),
             "--patch-mode", mode)
    )  # fmt: skip
    assert digests(scenario.paths) == before
    copies = {
        name: folder / Path(path).relative_to(Path(path).anchor)
        for name, path in scenario.paths.items()
    }
    text = copies["a.txt"].read_text()
    original = Path(scenario.paths["a.txt"]).read_text()
    for name in ("img", "text", "foot"):
        url, replacement = scenario.urls[name], found[scenario.urls[name]]
        assert replacement["replacement_url"] in text
        assert (f'"{url}"' in text) == (mode == "beside")
    assert ("archived copy" in text) == (mode == "beside")
    assert f'"{scenario.urls["ok"]}"' in text  # an alive link stays as it was
    assert text.splitlines()[:3] == original.splitlines()[:3]  # the header too
    b_text = copies["b.txt"].read_text()
    assert found[scenario.urls["gone"]]["replacement_url"] in b_text
    assert f'"{scenario.urls["lost"]}"' in b_text  # nothing to replace it with


def test_a_patched_folder_that_is_the_originals_is_refused(scenario):
    before = digests(scenario.paths)
    result = run_cli(
        "fix", "--store", str(scenario.store), "--no-memento",
        "--patched", Path(scenario.paths["a.txt"]).anchor, at=scn.AFTER,
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("archiver: error: --patched ")
    assert digests(scenario.paths) == before
