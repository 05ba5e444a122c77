"""A store made by the real ``archiver nightly`` over five nights, for report tests.

Three articles (one from 2015, two from 2020) cite eight links on two hosts
(``127.0.0.1`` and ``localhost``, both the fake web) whose answers change from
night to night. ``GROUPS`` says, worked out by hand from the dead rule (dead
after 3 failed checks spanning 2 days), where each link stands after each
night; the tests count their expected figures from these tables, never from
the report's own code.
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.clirun import run_cli
from tests.fakeweb.server import FakeWeb

NIGHT_ONE = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
NIGHTS = 5

# name: (host, status on nights 1..5, group after nights 1..5)
LINKS: dict[str, tuple[str, tuple[int, ...], tuple[str, ...]]] = {
    "dies": (
        "127.0.0.1",
        (200, 404, 404, 404, 404),
        ("alive", "suspect", "suspect", "dead", "dead"),
    ),
    "lost": (
        "localhost",
        (200, 200, 404, 404, 404),
        ("alive", "alive", "suspect", "suspect", "dead"),
    ),
    "revives": (
        "127.0.0.1",
        (404, 404, 404, 404, 200),
        ("suspect", "suspect", "dead", "dead", "alive"),
    ),
    "drifts": ("localhost", (200,) * 5, ("alive",) * 5),  # new content on night 3
    "stable": ("127.0.0.1", (200,) * 5, ("alive",) * 5),
    "flaps": (
        "127.0.0.1",
        (200, 404, 200, 200, 200),
        ("alive", "suspect", "alive", "alive", "alive"),
    ),
    "walled": ("localhost", (403,) * 5, ("blocked",) * 5),
    "broken": ("127.0.0.1", (500,) * 5, ("inconclusive",) * 5),
}

# file name: (year published, links cited in this order)
ARTICLES: dict[str, tuple[int, tuple[str, ...]]] = {
    "a2015.txt": (2015, ("dies", "stable", "walled", "lost")),
    "b2020.txt": (2020, ("drifts", "stable", "flaps")),
    "c2020.txt": (2020, ("revives", "broken")),
}


def run_id(night: int) -> str:
    return (NIGHT_ONE + timedelta(days=night - 1)).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Scenario:
    root: Path
    store: Path
    urls: dict[str, str]  # link name (or article file name) -> URL
    article_paths: dict[str, str]  # file name -> path as nightly was given it
    groups: dict[str, tuple[str, ...]]  # every URL checked -> group per night
    hosts: dict[str, str]  # every URL checked -> host


def body(name: str, night: int) -> bytes:
    if name == "drifts":
        return b"<p>version 1</p>" if night < 3 else b"<p>version 2</p>"
    return f"<p>{name}</p>".encode()


def build(web: FakeWeb, root: Path) -> Scenario:
    token = uuid.uuid4().hex[:8]
    urls = {
        name: f"http://{host}:{web.port}/switch/{name}-{token}"
        for name, (host, _, _) in LINKS.items()
    }
    folder = root / "articles"
    folder.mkdir()
    paths = {}
    for file_name, (year, cited) in ARTICLES.items():
        urls[file_name] = web.url(f"/page/{file_name}-{token}")
        millis = int(datetime(year, 6, 1, tzinfo=UTC).timestamp() * 1000)
        anchors = "".join(f'<p><a href="{urls[n]}">link {n}</a></p>' for n in cited)
        (folder / file_name).write_text(
            f"<!--{millis}-->\n[Article {file_name}]({urls[file_name]})\n------\n\n"
            f"{anchors}\n"
        )
        paths[file_name] = str(folder / file_name)
    for night in range(1, NIGHTS + 1):
        for name, (_, statuses, _) in LINKS.items():
            web.switch(f"{name}-{token}", statuses[night - 1], body(name, night))
        result = nightly(root, night)
        assert result.returncode == 0, result.stderr
    groups = {urls[name]: plan for name, (_, _, plan) in LINKS.items()}
    groups |= {urls[name]: ("alive",) * NIGHTS for name in ARTICLES}
    hosts = {urls[name]: host for name, (host, _, _) in LINKS.items()}
    hosts |= {urls[name]: "127.0.0.1" for name in ARTICLES}
    return Scenario(
        root=root,
        store=root / "warcs" / "archiver.sqlite3",
        urls=urls,
        article_paths=paths,
        groups=groups,
        hosts=hosts,
    )


def nightly(root: Path, night: int) -> subprocess.CompletedProcess[str]:
    when = NIGHT_ONE + timedelta(days=night - 1)
    return run_cli(
        "nightly", str(root / "articles"), "--out", str(root / "warcs"),
        "--allow-private", "--alive-every", "1",
        "--dead-after-failures", "3", "--dead-after-days", "2",
        "--retries", "1", "--no-probe", at=when,
    )  # fmt: skip
