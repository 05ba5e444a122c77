"""The HTML report passes axe-core's WCAG 2.1 A and AA checks in a real browser.

The report's own tests compute contrast from its style sheet; this one asks
the tool accessibility audits are done with. axe-core (``npm pack``ed into
``.tools/``, see ``tests/replaytools.py``) is run inside the report page in
headless Chromium, driven over DevTools by the project's own client, in the
light and the dark colour scheme and at a phone's width and a desktop's:
every rule tagged WCAG 2.0/2.1 A or AA (colour contrast, names and labels of
controls, table headers, ARIA use, language, landmarks among them) must
find nothing. The page is loaded from a file, as an editor opens it; the
report's content security policy does not apply to what DevTools evaluates.

Skipped, with the reason, without chromium or npm.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from tests import reportsample
from tests.browsertools import devtools_tab, needs_chromium
from tests.replaytools import axe_core

pytestmark = [pytest.mark.slow, needs_chromium]

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
RUN_AXE = """
axe.run(document, {runOnly: {type: "tag", values: %s}, resultTypes: ["violations"]})
  .then(result => result.violations.map(v => ({
    id: v.id, impact: v.impact,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + ": " + n.failureSummary),
  })))
"""
VIEWS = {
    "desktop-light": (1280, "light"),
    "desktop-dark": (1280, "dark"),
    "phone-light": (360, "light"),
    "phone-dark": (360, "dark"),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reportsample.html_report(tmp_path_factory.mktemp("axe"))


async def violations(
    page: str, axe: str, width: int, scheme: str, scratch: Path
) -> list[dict[str, Any]]:
    """axe-core's WCAG A/AA violations on ``page`` at ``width`` px in ``scheme``."""
    flags = (f"--window-size={width},900",)
    async with devtools_tab(flags, scratch) as (browser, session):
        await browser.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1,
             "mobile": width < 600},
            session,
        )  # fmt: skip
        await browser.send(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
            session,
        )
        await browser.send("Page.enable", {}, session)
        events = browser.events(session)
        await browser.send("Page.navigate", {"url": page}, session)
        with trio.fail_after(60):
            async for event in events:
                if event.get("method") == "Page.loadEventFired":
                    break
        loaded = await browser.send(
            "Runtime.evaluate", {"expression": axe, "returnByValue": True}, session
        )
        assert "exceptionDetails" not in loaded, loaded
        answer = await browser.send(
            "Runtime.evaluate",
            {"expression": RUN_AXE % json.dumps(TAGS), "returnByValue": True,
             "awaitPromise": True},
            session,
        )  # fmt: skip
        assert "exceptionDetails" not in answer, answer
        found = answer["result"]["value"]
        assert isinstance(found, list)
        return found


@pytest.mark.parametrize("view", list(VIEWS))
def test_the_report_has_no_wcag_violations(report: Path, tmp_path: Path, view: str):
    folder = axe_core()
    if folder is None:
        pytest.skip("needs npm, to fetch axe-core from its registry")
    width, scheme = VIEWS[view]
    axe = (folder / "axe.min.js").read_text(encoding="utf-8")
    found = trio.run(violations, report.as_uri(), axe, width, scheme, tmp_path)
    assert found == [], json.dumps(found, indent=1)


def test_axe_sees_a_violation_when_there_is_one(tmp_path: Path):
    """The harness is not blind: grey on white and an unlabelled field are found."""
    folder = axe_core()
    if folder is None:
        pytest.skip("needs npm, to fetch axe-core from its registry")
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<!doctype html><html lang="en"><title>t</title><body><main>'
        '<p style="color:#aaa;background:#fff">faint text</p>'
        '<input type="search"></main></body></html>',
        encoding="utf-8",
    )
    axe = (folder / "axe.min.js").read_text(encoding="utf-8")
    found = trio.run(violations, bad.as_uri(), axe, 1280, "light", tmp_path)
    assert {v["id"] for v in found} >= {"color-contrast", "label"}
