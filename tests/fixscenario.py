"""A store made by the real ``archiver nightly`` over five nights, for ``archiver fix``.

Three articles cite links on the fake web whose answers change by night
(dead rule: 3 failed checks spanning 2 days, so a link failing from night 3
is confirmed dead on night 5). Unchanged pages are archived in full on
night 1 and as ``revisit`` records on night 2. A fake Memento archive holds
captures of one link we never saw alive. What each row of the fix list
should say is worked out by hand in ``tests/test_fix.py`` from these tables.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.clirun import run_cli
from tests.fakememento import FakeArchive
from tests.fakeweb.server import FakeWeb

NIGHT_ONE = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)
NIGHTS = 5
AFTER = NIGHT_ONE + timedelta(days=NIGHTS)  # when the tests run archiver fix
DIES = (200, 200, 404, 404, 404)  # alive twice (a response, then a revisit)
NEVER = (404,) * NIGHTS  # dead before monitoring began
LINKS: dict[str, tuple[int, ...]] = {
    "img": DIES,
    "text": DIES,
    "foot": DIES,
    "ok": (200,) * NIGHTS,
    "gone": NEVER,  # the archive has it
    "lost": NEVER,  # nobody has it
    "cfoot": DIES,
}
# Between night 2 (03:00) and night 3: our night-2 check is the nearest
# capture before publication, and it is a revisit of night 1's response.
RECENT = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
OLD = datetime(2015, 6, 1, tzinfo=UTC)
GONE_CAPTURES = [
    (datetime(2015, 5, 20, tzinfo=UTC), 200),  # nearest the publication
    (datetime(2019, 3, 2, tzinfo=UTC), 200),  # the last one alive
    (datetime(2020, 1, 1, tzinfo=UTC), 404),
]


def run_id(night: int) -> str:
    return (NIGHT_ONE + timedelta(days=night - 1)).strftime("%Y%m%dT%H%M%SZ")


@dataclass(frozen=True)
class Scenario:
    root: Path
    store: Path
    urls: dict[str, str]  # link name (or article file name) -> URL
    paths: dict[str, str]  # article file name -> path as nightly was given it
    archive: FakeArchive


def bodies(urls: dict[str, str]) -> dict[str, tuple[datetime, str]]:
    return {
        "a.txt": (
            RECENT,
            f'<p><img src="{urls["img"]}" alt="lead"></p>\n'
            f'<p>Text with <a href="{urls["text"]}">text link</a> and '
            f'<a href="{urls["ok"]}">a live one</a>.</p>\n'
            f'<footer><a href="{urls["foot"]}">foot link</a></footer>',
        ),
        "b.txt": (
            OLD,
            f'<p><a href="{urls["gone"]}">gone</a> and '
            f'<a href="{urls["lost"]}">lost</a></p>',
        ),
        "c.txt": (
            RECENT,
            f'<p>Nothing dead here.</p><footer><a href="{urls["cfoot"]}">c</a>'
            "</footer>",
        ),
    }


def build(web: FakeWeb, root: Path, archive: FakeArchive) -> Scenario:
    token = uuid.uuid4().hex[:8]
    urls = {name: web.url(f"/switch/fix-{name}-{token}") for name in LINKS}
    folder = root / "articles"
    folder.mkdir()
    paths = {}
    for name, (published, body) in bodies(urls).items():
        urls[name] = web.url(f"/page/fix-{name}-{token}")
        millis = int(published.timestamp() * 1000)
        (folder / name).write_text(
            f"<!--{millis}-->\n[Article {name}]({urls[name]})\n------\n\n{body}\n"
        )
        paths[name] = str(folder / name)
    archive.add(urls["gone"], GONE_CAPTURES)
    for night in range(1, NIGHTS + 1):
        for name, statuses in LINKS.items():
            page = f"<p>{name} page</p>".encode()
            web.switch(f"fix-{name}-{token}", statuses[night - 1], page)
        result = run_cli(
            "nightly", str(folder), "--out", str(root / "warcs"),
            "--allow-private", "--alive-every", "1",
            "--dead-after-failures", "3", "--dead-after-days", "2",
            "--retries", "1", "--no-probe", "--no-requisites",
            at=NIGHT_ONE + timedelta(days=night - 1),
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
    return Scenario(
        root=root,
        store=root / "warcs" / "archiver.sqlite3",
        urls=urls,
        paths=paths,
        archive=archive,
    )
