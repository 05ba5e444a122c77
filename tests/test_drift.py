"""Content drift over real nightly runs: a page's article, not its ads, decides.

The fake web's ``/news/<slug>`` pages are rebuilt on every request (another
ad, "updated" time, script nonce, request id and "most read" box), so their
bytes never repeat; the article in them changes only when the test edits it.
Three nights of the real CLI, then the real report, read back as JSON and
Markdown.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from archiver.store.base import open_store
from archiver.store.history import Verdict
from tests.clirun import links_to, run_cli, write_article
from tests.fakeweb.server import PNG, FakeWeb

NIGHT_ONE = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
STORY = (
    "The city council approved a budget of 4.2 million on Tuesday, after a "
    "debate that lasted more than six hours.",
    "Supporters said the spending on roads and schools was overdue; opponents "
    "said the plan relied on optimistic forecasts of revenue.",
)
CORRECTED = (STORY[0], "Correction: the council rejected the plan for schools.")


def nightly(root: Path, night: int) -> None:
    done = run_cli(
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
        at=NIGHT_ONE + timedelta(days=night - 1),
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr


def verdicts(root: Path, urls: dict[str, str]) -> dict[str, Verdict]:
    with open_store(root / "warcs" / "archiver.sqlite3") as store:
        found = {name: store.state(url) for name, url in urls.items()}
    return {name: state.verdict for name, state in found.items() if state}


@pytest.mark.slow
def test_a_page_whose_ads_change_is_not_drift_and_an_edited_article_is(
    fakeweb: FakeWeb, tmp_path: Path
):
    token = uuid.uuid4().hex[:8]
    urls = {
        "ads-only": fakeweb.url(fakeweb.edit(f"ads-{token}", *STORY)),
        "edited": fakeweb.url(fakeweb.edit(f"edited-{token}", *STORY)),
        "chart": fakeweb.url(fakeweb.put(f"chart-{token}.png", PNG, "image/png")),
    }
    (tmp_path / "articles").mkdir()
    write_article(
        tmp_path / "articles" / "one.txt",
        fakeweb.url(f"/page/one-{token}"),
        links_to(urls),
    )
    nightly(tmp_path, 1)
    nightly(tmp_path, 2)
    assert verdicts(tmp_path, urls) == dict.fromkeys(urls, Verdict.ALIVE)
    with open_store(tmp_path / "warcs" / "archiver.sqlite3") as store:
        ads = store.history(urls["ads-only"])
    # The bytes did change (a payload comparison would say drift) ...
    assert len({c.record.payload_digest for c in ads if c.record}) == 2
    # ... while the main text did not.
    assert len({c.text_digest for c in ads}) == 1
    assert ads[0].text_digest is not None

    fakeweb.edit(f"edited-{token}", *CORRECTED)
    fakeweb.put(f"chart-{token}.png", PNG + b"redrawn", "image/png")
    nightly(tmp_path, 3)
    assert verdicts(tmp_path, urls) == {
        "ads-only": Verdict.ALIVE,
        "edited": Verdict.DRIFT,
        "chart": Verdict.DRIFT,
    }

    store_path = str(tmp_path / "warcs" / "archiver.sqlite3")
    made = run_cli("report", "--store", store_path, "--format", "json")
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    drift = {d["url"]: d for d in report["drift"]}
    assert set(drift) == {urls["edited"], urls["chart"]}
    assert drift[urls["edited"]]["compared"] == "main-text"
    assert drift[urls["chart"]]["compared"] == "payload"
    assert drift[urls["edited"]]["versions"] == 2
    assert drift[urls["edited"]]["changed"].startswith("2026-03-03T")  # night 3
    assert drift[urls["edited"]]["first_capture"]["time"].startswith("2026-03-01T")
    assert report["headline"]["drifted"] == 2

    markdown = run_cli("report", "--store", store_path, "--format", "md")
    assert markdown.returncode == 0, markdown.stderr
    section = markdown.stdout.split("## Content drift", 1)[1]
    assert "compared by their main text" in section
    assert urls["ads-only"] not in section
    rows = {line.split(" | ")[0]: line for line in section.splitlines() if "|" in line}
    edited_row = next(line for key, line in rows.items() if urls["edited"] in key)
    assert "| main text |" in edited_row
    chart_row = next(line for key, line in rows.items() if urls["chart"] in key)
    assert "| bytes |" in chart_row
