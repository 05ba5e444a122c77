"""Throughput and memory of ``archiver preserve`` against a local server.

Starts the test suite's fake web on 127.0.0.1, writes one article citing N
pages (and one large body, to show bodies stream to disk rather than into
memory), runs the real CLI in a subprocess and prints URLs/s and the peak
resident memory of that process.

    python bench/preserve_bench.py [--urls N] [--big-mb M] [--per-host K]

Results are written down in the README.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakeweb.server import FakeWeb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--per-host", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        web = FakeWeb(root)
        web.start()
        try:
            links = "".join(
                f'<a href="{web.url(f"/page/bench-{n}")}">{n}</a>'
                for n in range(args.urls)
            )
            big = web.url(f"/huge/{args.big_mb * 1_000_000}/bench")
            article = root / "a.txt"
            article.write_text(
                f"<!--0-->\n[bench]({web.url('/page/bench')})\n------\n\n"
                f'{links}<a href="{big}">big</a>\n'
            )
            started = time.monotonic()
            command = [sys.executable, "-m", "archiver", "preserve", str(article)]
            command += ["--out", str(root / "out"), "--allow-private", "--no-probe"]
            command += ["--per-host", str(args.per_host)]
            command += ["--max-size", str((args.big_mb + 1) * 1_000_000)]
            result = subprocess.run(
                command, capture_output=True, text=True, check=False
            )
            elapsed = time.monotonic() - started
        finally:
            web.stop()
        if result.returncode != 0:
            print(result.stderr[-2000:], file=sys.stderr)
            return 1
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        total = args.urls + 2
        print(
            f"URLs: {total} ({args.urls} pages + article + one {args.big_mb} MB body)"
        )
        print(f"wall time: {elapsed:.1f} s, {total / elapsed:.0f} URLs/s")
        print(f"peak memory of the archiver process: {peak_kb / 1024:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
