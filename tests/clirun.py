"""Helpers for tests that run the real CLI: articles, subprocesses, manifests."""

from __future__ import annotations

import json
import subprocess
import sys
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


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver", *args],
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
