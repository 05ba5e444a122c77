"""Pages per minute and peak memory of browser capture, and its cost to the rest.

Starts the test suite's fake web on 127.0.0.1 and writes one article citing
N single-page apps (shells whose script fetches JSON and an image) and M
plain pages on another host. Runs the real CLI with ``--browser always`` at
each tab count, sampling the summed resident memory of archiver and every
process under it (the browser's too) every 0.1 s, and once with
``--browser never``. The plain pages' own time is read from the manifest
(``checked`` of the last plain page minus the run's start), so a browser
slowing plain capture down would show there.

    python bench/browser_bench.py [--spa N] [--plain M] [--tabs 2 4]

Results are written down in the README.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakeweb.server import FakeWeb


def tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants, in kB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def run(root: Path, article: Path, name: str, *args: str) -> tuple[float, int, Path]:
    out = root / name
    command = [sys.executable, "-m", "archiver", "preserve", str(article)]
    command += ["--out", str(out), "--allow-private", "--no-probe", *args]
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss_kb(process.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.wait()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{name}: archiver exited {process.returncode}")
    return time.monotonic() - started, peak, out


def plain_span(out: Path, host: str, started: float, wall: float) -> float:
    """Seconds from the run's first check to the last plain page's."""
    lines = (out / "manifest.jsonl").read_text().splitlines()
    times = [
        datetime.fromisoformat(entry["checked"]).timestamp()
        for entry in map(json.loads, lines)
        if entry["checked"]
    ]
    plain = [
        datetime.fromisoformat(entry["checked"]).timestamp()
        for entry in map(json.loads, lines)
        if host in entry["url"] and entry["checked"]
    ]
    return max(plain) - min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--spa", type=int, default=50)
    parser.add_argument("--plain", type=int, default=500)
    parser.add_argument("--tabs", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        web = FakeWeb(root)
        web.start()
        try:
            plain_host = f"127.0.0.1:{web.site_port('soft404')}"
            links = [
                f'<a href="{web.url(f"/spa/bench-{n}")}">s</a>' for n in range(args.spa)
            ]
            links += [
                f'<a href="http://{plain_host}/page/bench-{n}">p</a>'
                for n in range(args.plain)
            ]
            article = root / "a.txt"
            article.write_text(
                f"<!--0-->\n[bench]({web.url('/page/bench')})\n------\n\n"
                + "".join(links)
                + "\n"
            )
            for tabs in args.tabs:
                wall, peak, out = run(
                    root, article, f"tabs{tabs}", "--browser", "always",
                    "--browser-tabs", str(tabs),
                )  # fmt: skip
                span = plain_span(out, plain_host, 0, wall)
                print(
                    f"--browser always --browser-tabs {tabs}: {wall:.1f} s, "
                    f"{args.spa / wall * 60:.0f} pages/min, peak memory "
                    f"{peak / 1024:.0f} MB (archiver and chromium), "
                    f"{args.plain} plain pages done in {span:.1f} s"
                )
            wall, peak, out = run(root, article, "never", "--browser", "never")
            span = plain_span(out, plain_host, 0, wall)
            print(
                f"--browser never: {wall:.1f} s, peak memory {peak / 1024:.0f} MB, "
                f"{args.plain} plain pages done in {span:.1f} s"
            )
        finally:
            web.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
