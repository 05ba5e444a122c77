"""A sample history store for the report's picture and its browser test.

Fourteen nightly runs over a dozen articles from 2012 to 2024, written
through the store's own API with made-up checks on reserved example domains
(nothing is fetched). Older articles' links die more often, as on the web.
The same seed always gives the same store.

    python -m tests.reportsample docs/report.png

writes the store and report into a temporary folder and has headless
Chromium photograph the page into the given file.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archiver.models import (
    Article,
    Citation,
    LinkKind,
    LinkStatus,
    NormalizedURL,
    Outcome,
    RecordRef,
    Target,
)
from archiver.store.base import open_store
from tests.clirun import run_cli

FIRST_NIGHT = datetime(2026, 3, 2, 3, 17, tzinfo=UTC)
NIGHTS = 14
OPTIONS = {"dead_after_failures": 3, "dead_after_days": 3.0}

ARTICLES = (
    (2012, "city-budget", "City budget passes after all-night session"),
    (2013, "river-flood", "River bursts its banks in the old town"),
    (2014, "tram-line", "Council approves the new tram line"),
    (2015, "election-night", "Election night: how the districts voted"),
    (2016, "library", "The central library reopens"),
    (2017, "heatwave", "Heatwave: hospitals on alert"),
    (2018, "stadium", "Stadium plans shelved after costs double"),
    (2019, "startups", "Ten start-ups to watch this year"),
    (2020, "lockdown", "Lockdown diary, week one"),
    (2022, "bridge", "Old bridge closed for repairs"),
    (2023, "schools", "School results, district by district"),
    (2024, "festival", "Festival returns to the harbour"),
)
SITES = (
    "news.example.com",
    "www.example.org",
    "data.example.net",
    "blog.example.com",
    "city.example",
    "video.example.net",
    "archive.example.org",
    "images.example.com",
    "shop.example",
    "weather.example.com",
)
ANCHORS = ("the full report", "official figures", "as reported", "the minutes",
           "photo", "interview", "the map", "press release", "video")  # fmt: skip
DEAD: tuple[tuple[str, int | None], ...] = (
    ("http-404", 404),
    ("http-410", 410),
    ("dns-not-found", None),
)
BLOCKED: tuple[tuple[str, int | None], ...] = (("http-403", 403), ("bot-wall", 403))
ERRORS: tuple[tuple[str, int | None], ...] = (("timeout", None), ("http-5xx", 503))


def night(n: int) -> datetime:
    return FIRST_NIGHT + timedelta(days=n)


def _fates(rng: random.Random, year: int) -> list[tuple[str, int]]:
    """(fate, night) per link: older articles lose more of theirs."""
    age = (2025 - year) / 13
    fates = []
    for _ in range(rng.randint(4, 7)):
        roll = rng.random()
        if roll < 0.08 + 0.45 * age:
            fates.append(("dies", rng.choice((0, 0, 2, 4, 6, 8, 10))))
        elif roll < 0.15 + 0.45 * age:
            fates.append(("blocked", 0))
        elif roll < 0.22 + 0.45 * age:
            fates.append(("flaky", 0))
        elif roll < 0.30 + 0.45 * age:
            fates.append(("drifts", rng.randint(2, 12)))
        elif roll < 0.33 + 0.45 * age:
            fates.append(("revives", 0))
        else:
            fates.append(("alive", 0))
    return fates


def _status(
    rng: random.Random, url: str, fate: str, since: int, n: int, nights: int
) -> LinkStatus:
    outcome, reason = Outcome.ALIVE, "ok"
    code: int | None = 200
    if (fate == "dies" and n >= since) or (fate == "revives" and 3 <= n < nights - 1):
        outcome = Outcome.DEAD
        reason, code = DEAD[len(url) % len(DEAD)]
    elif fate == "blocked":
        outcome = Outcome.BLOCKED
        reason, code = BLOCKED[len(url) % len(BLOCKED)]
    elif fate == "flaky" and rng.random() < 0.5:
        outcome = Outcome.ERROR
        reason, code = ERRORS[len(url) % len(ERRORS)]
    record = None
    checked = night(n) + timedelta(minutes=rng.randint(1, 50))
    if outcome is Outcome.ALIVE:
        version = "v2" if fate == "drifts" and n >= since else "v1"
        digest = hashlib.sha1(f"{url} {version}".encode()).hexdigest()  # noqa: S324
        record = RecordRef(
            warc_file=f"archiver-{checked:%Y%m%d%H%M%S}-00001.warc.gz",
            offset=rng.randint(1, 5000) * 512,
            payload_digest=f"sha1:{digest}",
        )
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(),
        outcome=outcome,
        reason=reason,
        detail=f"{reason} (sample)",
        http_status=code,
        attempts=1,
        record=record,
        checked=checked,
    )


def build(path: Path, nights: int = NIGHTS) -> Path:
    """Write the sample store at ``path`` (a new file), ``nights`` nights of it."""
    rng = random.Random(2026)
    articles: list[Article] = []
    targets: list[Target] = []
    fates: dict[str, tuple[str, int]] = {}
    for year, slug, title in ARTICLES:
        name = f"seeds/{year}/{slug}.txt"
        own = f"https://news.example.com/{year}/{slug}"
        text = f"{year} {slug}"
        articles.append(
            Article(
                path=Path(name),
                url=own,
                title=title,
                published=datetime(year, rng.randint(1, 12), 14, 9, tzinfo=UTC),
                body=text,
                text=text,
                sha256=hashlib.sha256(text.encode()).hexdigest(),
            )
        )
        cited = [(own, ("alive", 0), LinkKind.ARTICLE, title)]
        for n, fate in enumerate(_fates(rng, year)):
            site = SITES[rng.randrange(len(SITES))]
            cited.append(
                (
                    f"https://{site}/{year}/{slug}/{n}",
                    fate,
                    LinkKind.LINK,
                    rng.choice(ANCHORS),
                )
            )
        for url, fate, kind, anchor in cited:
            fates[url] = fate
            citation = Citation(
                article=name, kind=kind, element="a", attribute="href", text=anchor
            )
            targets.append(Target(url=NormalizedURL(url), citations=(citation,)))
    with open_store(path) as store:
        for n in range(nights):
            run_id = f"{night(n):%Y%m%dT%H%M%SZ}"
            store.begin_run(run_id, night(n), OPTIONS)
            if n == 0:
                store.record_articles(articles, night(n))
                store.record_citations(targets, night(n))
            statuses = [
                _status(rng, url, fate, since, n, nights)
                for url, (fate, since) in sorted(fates.items())
            ]
            store.record_checks(run_id, statuses)
            counts = {str(o): sum(s.outcome is o for s in statuses) for o in Outcome}
            store.finish_run(run_id, night(n) + timedelta(hours=1), counts, True)
    return path


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--hide-scrollbars", "--force-device-scale-factor=1",
)  # fmt: skip


def main(picture: Path) -> None:
    """Build the sample, render its report, and screenshot it into ``picture``."""
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium package (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        # Relative names, so the picture shows no path of this machine.
        build(Path(folder) / "warcs" / "archiver.sqlite3")
        page = Path(folder) / "report.html"
        subprocess.run(
            [sys.executable, "-m", "archiver", "report", "--store",
             "warcs/archiver.sqlite3", "--out", "report.html"],
            check=True, cwd=folder, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={folder}/profile",
             "--window-size=1200,3000", f"--screenshot={picture.resolve()}",
             page.as_uri()],
            check=True, capture_output=True,
        )  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/report.png"))


def html_report(folder: Path) -> Path:
    """The sample history's HTML report, made by the real CLI, in ``folder``."""
    store = build(folder / "archiver.sqlite3")
    out = folder / "report.html"
    result = run_cli("report", "--store", str(store), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out
