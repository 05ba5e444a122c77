"""``archiver report`` on a store the real nightly CLI wrote over five nights.

Every expected figure is counted here from the scenario's hand-made tables
(``tests/reportscenario.py``), or read from the WARC files themselves, never
from the report's own code.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from archiver.store.base import open_store
from tests import reportscenario as scn
from tests.clirun import run_cli
from tests.fakeweb.server import FakeWeb


@pytest.fixture(scope="module")
def scenario(fakeweb: FakeWeb, tmp_path_factory: pytest.TempPathFactory):
    return scn.build(fakeweb, tmp_path_factory.mktemp("report"))


@pytest.fixture(scope="module")
def default(scenario: scn.Scenario) -> dict[str, Any]:
    """The JSON report with no options, which most tests read."""
    return as_json(scenario)


def report(scenario: scn.Scenario, *args: str) -> str:
    result = run_cli("report", "--store", str(scenario.store), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def as_json(scenario: scn.Scenario, *args: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(report(scenario, "--format", "json", *args))
    return document


def counted(groups: list[str]) -> dict[str, int]:
    tally = Counter(groups)
    names = ("alive", "dead", "suspect", "blocked", "inconclusive")
    return {"links_checked": len(groups), **{name: tally[name] for name in names}}


def counts_of(entry: dict[str, Any]) -> dict[str, int]:
    keys = ("links_checked", "alive", "dead", "suspect", "blocked", "inconclusive")
    return {key: entry[key] for key in keys}


def now_groups(scenario: scn.Scenario, urls: set[str] | None = None) -> list[str]:
    return [
        plan[-1] for url, plan in scenario.groups.items() if urls is None or url in urls
    ]


def transitions(scenario: scn.Scenario, night: int) -> tuple[set[str], set[str]]:
    """URLs that became dead, and that came back from dead, on ``night``."""
    died, back = set(), set()
    for url, plan in scenario.groups.items():
        before = plan[night - 2] if night > 1 else None
        if plan[night - 1] == "dead" and before != "dead":
            died.add(url)
        if before == "dead" and plan[night - 1] == "alive":
            back.add(url)
    return died, back


def cited_by(scenario: scn.Scenario, *files: str) -> set[str]:
    urls = set()
    for name in files:
        urls |= {scenario.urls[n] for n in scn.ARTICLES[name][1]}
        urls.add(scenario.urls[name])
    return urls


def test_headline_figures_match_the_nights(scenario, default):
    document = default
    head = document["headline"]
    expected = counted(now_groups(scenario))
    assert counts_of(head) == expected
    assert expected == {"links_checked": 11, "alive": 7, "dead": 2, "suspect": 0,
                        "blocked": 1, "inconclusive": 1}  # fmt: skip
    assert head["dead_share"] == round(expected["dead"] / 11, 4)
    unsure = expected["blocked"] + expected["inconclusive"]
    assert head["blocked_or_inconclusive_share"] == round(unsure / 11, 4)
    with_dead = [
        name
        for name in scn.ARTICLES
        if any(scenario.groups[u][-1] == "dead" for u in cited_by(scenario, name))
    ]
    assert head["articles"] == len(scn.ARTICLES)
    assert head["articles_with_dead"] == len(with_dead) == 1
    assert head["articles_with_dead_share"] == round(1 / 3, 4)
    died, back = transitions(scenario, scn.NIGHTS)
    assert head["window"] == [scn.run_id(scn.NIGHTS)]
    assert set(head["newly_dead"]) == died == {scenario.urls["lost"]}
    assert set(head["revived"]) == back == {scenario.urls["revives"]}
    assert head["drifted"] == 1
    assert document["rule"] == {"dead_after_failures": 3, "dead_after_days": 2.0}
    assert document["schema"] == 1


def test_trend_has_every_run_with_its_counts(scenario, default):
    trend = default["trend"]
    assert [point["run"] for point in trend] == [
        scn.run_id(n) for n in range(1, scn.NIGHTS + 1)
    ]
    for night, point in enumerate(trend, start=1):
        groups = [plan[night - 1] for plan in scenario.groups.values()]
        assert counts_of(point) == counted(groups), night
        died, back = transitions(scenario, night)
        assert (point["newly_dead"], point["revived"]) == (len(died), len(back))
        assert point["checks"] == len(scenario.groups)
        assert point["status"] == "completed"
        assert point["conclusive"] is True


def test_rot_by_article_year_and_by_domain(scenario, default):
    document = default
    years: dict[int, set[str]] = {}
    for name, (year, _) in scn.ARTICLES.items():
        years.setdefault(year, set()).update(cited_by(scenario, name))
    assert [row["year"] for row in document["by_year"]] == sorted(years)
    for row in document["by_year"]:
        assert counts_of(row) == counted(now_groups(scenario, years[row["year"]]))
    hosts: dict[str, set[str]] = {}
    for url, host in scenario.hosts.items():
        hosts.setdefault(host, set()).add(url)
    assert {row["domain"] for row in document["by_domain"]} == set(hosts)
    for row in document["by_domain"]:
        assert counts_of(row) == counted(now_groups(scenario, hosts[row["domain"]]))
    assert document["by_year"][0]["dead_share"] == 0.4  # 2 of the 5 from 2015


def warc_record(scenario: scn.Scenario, warc_file: str, offset: int):
    with (scenario.root / "warcs" / warc_file).open("rb") as stream:
        stream.seek(offset)
        record = next(iter(ArchiveIterator(stream)))
        return record.rec_type, dict(record.rec_headers.headers)


def test_each_dead_link_says_since_when_and_where_its_last_good_copy_is(
    scenario, default
):
    document = default
    by_path = {a["path"]: a for a in document["articles"]}
    assert set(by_path) == set(scenario.article_paths.values())
    article = by_path[scenario.article_paths["a2015.txt"]]
    assert counts_of(article) == counted(
        now_groups(scenario, cited_by(scenario, "a2015.txt"))
    )
    dead = {d["url"]: d for d in article["dead_links"]}
    assert set(dead) == {scenario.urls["dies"], scenario.urls["lost"]}
    store = open_store(scenario.store)
    with store:
        for name, first_failure, last_alive in (("dies", 2, 1), ("lost", 3, 2)):
            entry = dead[scenario.urls[name]]
            plan = scn.LINKS[name][1]
            assert entry["text"] == f"link {name}"
            assert (entry["outcome"], entry["reason"], entry["http_status"]) == (
                "dead",
                "http-404",
                404,
            )
            assert entry["failures"] == sum(1 for s in plan if s == 404)
            assert entry["dead_since_run"] == scn.run_id(first_failure)
            checks = {c.run_id: c for c in store.history(scenario.urls[name])}
            started = checks[scn.run_id(first_failure)].checked
            assert datetime.fromisoformat(entry["dead_since"]) == started.replace(
                microsecond=0
            )
            good = entry["last_good"]
            assert good["run"] == scn.run_id(last_alive)
            assert good["warc_file"].startswith(good["run"] + "/")
            kind, headers = warc_record(scenario, good["warc_file"], good["offset"])
            assert kind in ("response", "revisit")
            assert headers["WARC-Target-URI"] == scenario.urls[name]
            match = re.fullmatch(r"/archive/(\d{14})/(.+)", good["replay"])
            assert match is not None
            assert match.group(2) == scenario.urls[name]
            stamp = datetime.strptime(match.group(1) + "+0000", "%Y%m%d%H%M%S%z")
            warc_date = datetime.fromisoformat(headers["WARC-Date"])
            assert abs((stamp - warc_date).total_seconds()) < 5
    for other in ("b2020.txt", "c2020.txt"):
        assert by_path[scenario.article_paths[other]]["dead_links"] == []


def test_drift_lists_links_changed_since_first_captured(scenario, default):
    drift = default["drift"]
    assert [d["url"] for d in drift] == [scenario.urls["drifts"]]
    (entry,) = drift
    assert entry["versions"] == 2
    assert entry["changed_run"] == scn.run_id(3)  # the night its content changed
    assert entry["first_capture"]["run"] == scn.run_id(1)
    assert entry["latest_capture"]["run"] == scn.run_id(scn.NIGHTS)
    assert entry["articles"] == [scenario.article_paths["b2020.txt"]]
    kind, headers = warc_record(
        scenario, entry["first_capture"]["warc_file"], entry["first_capture"]["offset"]
    )
    assert (kind, headers["WARC-Target-URI"]) == ("response", scenario.urls["drifts"])


def test_domain_filter(scenario):
    document = as_json(scenario, "--domain", "localhost")
    local = {u for u, host in scenario.hosts.items() if host == "localhost"}
    assert counts_of(document["headline"]) == counted(now_groups(scenario, local))
    assert [row["domain"] for row in document["by_domain"]] == ["localhost"]
    citing = [n for n in scn.ARTICLES if cited_by(scenario, n) & local]
    assert document["headline"]["articles"] == len(citing) == 2
    assert document["filters"]["domain"] == ["localhost"]


def test_article_filter_takes_a_path_or_its_tail(scenario):
    whole = as_json(scenario, "--article", scenario.article_paths["a2015.txt"])
    tail = as_json(scenario, "--article", "articles/a2015.txt")
    expected = counted(now_groups(scenario, cited_by(scenario, "a2015.txt")))
    assert counts_of(whole["headline"]) == counts_of(tail["headline"]) == expected
    assert [a["path"] for a in tail["articles"]] == [
        scenario.article_paths["a2015.txt"]
    ]


def test_since_limits_runs_and_changes_but_not_the_state(scenario):
    document = as_json(scenario, "--since", "2026-01-03")
    nights = range(3, scn.NIGHTS + 1)
    assert [p["run"] for p in document["trend"]] == [scn.run_id(n) for n in nights]
    assert document["headline"]["window"] == [scn.run_id(n) for n in nights]
    died: set[str] = set()
    back: set[str] = set()
    for night in nights:
        d, b = transitions(scenario, night)
        died |= d
        back |= b
    still_dead = {u for u in died if scenario.groups[u][-1] == "dead"}
    assert set(document["headline"]["newly_dead"]) == still_dead
    assert set(document["headline"]["revived"]) == back
    assert counts_of(document["headline"]) == counted(now_groups(scenario))
    # "dies" has been failing since night 2, "lost" since night 3
    dead = [d["url"] for a in document["articles"] for d in a["dead_links"]]
    assert dead == [scenario.urls["lost"]]
    assert [d["url"] for d in document["drift"]] == [scenario.urls["drifts"]]
    later = as_json(scenario, "--since", "2026-01-04T00:00:00+00:00")
    assert later["drift"] == []


def test_a_stricter_rule_than_the_runs_used(scenario):
    document = as_json(scenario, "--dead-after-failures", "5")
    # no link failed 5 times: what was dead is only suspect, nothing revived
    head = document["headline"]
    assert (head["dead"], head["suspect"]) == (0, 2)
    assert head["revived"] == []
    assert document["rule"]["dead_after_failures"] == 5


def test_csv_has_one_row_per_dead_citation(scenario):
    rows = list(csv.DictReader(io.StringIO(report(scenario, "--format", "csv"))))
    assert {(r["article_file"], r["link_url"], r["link_text"]) for r in rows} == {
        (scenario.article_paths["a2015.txt"], scenario.urls[n], f"link {n}")
        for n in ("dies", "lost")
    }
    assert len(rows) == 2
    row = next(r for r in rows if r["link_url"] == scenario.urls["dies"])
    assert (row["reason"], row["http_status"], row["failures"]) == (
        "http-404",
        "404",
        "4",
    )
    assert row["dead_since_run"] == scn.run_id(2)
    assert row["last_good_warc_file"].startswith(scn.run_id(1) + "/")
    assert row["replay"].endswith("/" + scenario.urls["dies"])
    assert row["article_published"].startswith("2015-06-01")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in rows[0])


def test_every_unsettled_citation_is_listed_with_its_kind_and_state(scenario, default):
    """Blocked, suspect and inconclusive links are listed per article too."""
    unsettled = {"suspect", "blocked", "inconclusive"}
    expected = {
        (scenario.article_paths[name], scenario.urls[link], scn.LINKS[link][2][-1])
        for name, (_, cited) in scn.ARTICLES.items()
        for link in cited
        if scn.LINKS[link][2][-1] in unsettled
    }
    assert len(expected) == 2  # walled (403) in a2015, broken (500) in c2020
    listed = {
        (a["path"], o["url"], o["group"])
        for a in default["articles"]
        for o in a["unsettled_links"]
    }
    assert listed == expected
    by_url = {o["url"]: o for a in default["articles"] for o in a["unsettled_links"]}
    walled, broken = by_url[scenario.urls["walled"]], by_url[scenario.urls["broken"]]
    assert walled["http_status"] == 403
    assert broken["http_status"] == 500
    assert walled["kind"] == broken["kind"] == "link"
    assert walled["text"] == "link walled"
    assert walled["failing_since"] is None  # a wall is not a failure towards dead
    assert walled["last_good"] is None  # never answered
    for a in default["articles"]:
        for o in a["unsettled_links"]:
            assert o["url"] not in {d["url"] for d in a["dead_links"]}
    text = report(scenario, "--format", "md")
    section = text.split("## Suspect, blocked and inconclusive links", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert f"<{scenario.urls['walled']}>" in section
    assert f"<{scenario.urls['broken']}>" in section
    assert f"<{scenario.urls['dies']}>" not in section  # dead is listed as dead


def test_markdown_tells_the_same(scenario):
    text = report(scenario, "--format", "md", "--collection", "web")
    assert text.startswith("# Link rot report\n")
    assert "| links checked | 11 |" in text
    assert "| dead | 2 (18.2 %) |" in text
    assert "| articles with a dead link | 1 of 3 (33.3 %) |" in text
    assert "| 2015 | 5 | 2 | 0 | 1 | 40.0 % |" in text
    listed = text.split("## Dead links by article", 1)[1]
    dead_rows = [line for line in listed.splitlines() if "`http-404`" in line]
    assert len(dead_rows) == 2
    assert all("/web/" in line for line in dead_rows)  # the replay collection
    assert f"<{scenario.urls['drifts']}>" in text


class Resources(HTMLParser):
    """Every URL the page would load, and every anchor it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.anchors: list[str] = []
        self.tags: Counter[str] = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        for name, value in attrs:
            if value is None:
                continue
            if tag == "a" and name == "href":
                self.anchors.append(value)
            elif name in ("src", "href", "srcset", "data", "poster", "action"):
                self.loads.append(f"{tag}[{name}]={value}")


def test_html_is_one_self_contained_file(scenario, tmp_path):
    out = tmp_path / "audit.html"
    assert report(scenario, "--out", str(out)).strip() == str(out)
    page = out.read_text(encoding="utf-8")
    parser = Resources()
    parser.feed(page)
    assert parser.loads == []  # no script, style sheet, image or font to fetch
    assert parser.tags["link"] == parser.tags["img"] == parser.tags["iframe"] == 0
    assert parser.tags["script"] == parser.tags["style"] == 1
    assert not re.search(r"url\(|@import|@font-face", page)
    known = {*scenario.urls.values()}
    external = [a for a in parser.anchors if not a.startswith("#")]
    assert external
    assert set(external) <= known  # articles and cited links only
    assert "default-src 'none'" in page
    assert parser.tags["svg"] >= 1 + 2 + 2  # trend chart, bars per year and domain
    tables = ("trend", "by-year", "by-domain", "dead-links", "unsettled-links")
    for table in (*tables, "articles", "drift"):
        assert f'<table id="{table}"' in page


def test_html_is_the_default_and_replay_base_makes_links(scenario, tmp_path):
    base = "https://replay.example.org/"
    command = [sys.executable, "-m", "archiver", "report", "--store",
               str(scenario.store), "--replay-base", base]  # fmt: skip
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "report.html"
    parser = Resources()
    parser.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    replays = [a for a in parser.anchors if a.startswith("https://replay.example")]
    assert any(a.endswith("/" + scenario.urls["dies"]) for a in replays)
    assert all(
        re.match(r"https://replay\.example\.org/archive/\d{14}/", a) for a in replays
    )


def test_a_missing_store_is_a_usage_error(tmp_path):
    result = run_cli("report", "--store", str(tmp_path / "none.sqlite3"))
    assert result.returncode == 2
    assert "no such file" in result.stderr
    assert not (tmp_path / "none.sqlite3").exists()  # not created by asking
