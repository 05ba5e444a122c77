"""Helpers for tests that run the real CLI: articles, subprocesses, manifests."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

ARTICLE_MS = 1729735621000


def write_article(path: Path, url: str, body: str) -> Path:
    path.write_text(f"<!--{ARTICLE_MS}-->\n[Test article]({url})\n------\n\n{body}\n")
    return path


def links_to(urls: dict[str, str]) -> str:
    """An article body linking to each URL, anchor text 'link NAME'."""
    return "".join(
        f'<p><a href="{url}" title="t-{name}">link {name}</a></p>'
        for name, url in urls.items()
    )


# The CLI with the process's one clock (archiver.clock) set to start at
# argv[1]: how tests play nights days apart. Users have no such setting.
CLOCKED = """
import sys
from archiver.cli.entry import quiet_while_loading
with quiet_while_loading():
    from datetime import datetime
    from archiver import clock
    from archiver.cli.main import main
with clock.installed(clock.starting_at(datetime.fromisoformat(sys.argv[1]))):
    main(sys.argv[2:])
"""


def archiver_at(when: datetime | str | None) -> list[str]:
    """The command line that starts ``archiver`` with its clock at ``when``."""
    if when is None:
        return [sys.executable, "-m", "archiver"]
    text = when.isoformat() if isinstance(when, datetime) else when
    return [sys.executable, "-c", CLOCKED, text]


def run_cli(
    *args: str, timeout: float = 120, at: datetime | str | None = None
) -> subprocess.CompletedProcess[str]:
    """``archiver ARGS`` in a subprocess; with ``at``, its clock starts there."""
    return subprocess.run(
        [*archiver_at(at), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_manifest(out: Path) -> dict[str, dict[str, Any]]:
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    return {entry["url"]: entry for entry in map(json.loads, lines)}


def preserve_local(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``archiver preserve folder/a.txt --out folder/out``, 127.0.0.1 allowed."""
    article, out = str(folder / "a.txt"), str(folder / "out")
    return run_cli("preserve", article, "--out", out, "--allow-private", *args)
