"""What a main-text digest costs a nightly run: per page, and the import once.

Each corpus article's body is put inside a news page's furniture (a nav bar
of 200 links, an ad, a "most read" box, a footer), as the live page would
have it, and digested by the same function a nightly run calls for every
cited HTML page (``archiver.crawl.maintext.text_digest``), on one core.
Prints the cost of the first call (it imports readability and lxml.html),
then pages per second and the median, 95th percentile and slowest page.

    python bench/maintext_bench.py [FOLDER] [--rounds N]

FOLDER defaults to the shared corpus next to the project. Results are
written down in the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archiver.articles import seeds
from archiver.crawl import maintext
from archiver.errors import InputError
from archiver.models import Body, Hop
from tests.corpusfiles import corpus_folder

NAV = "".join(f'<a href="/section/{n}">Section {n}</a> ' for n in range(200))


def page(body: str) -> Hop:
    html = (
        f"<!doctype html><html><head><title>t</title></head><body><header>"
        f"<nav>{NAV}</nav><div class='ad'>Advert 123</div></header><main>"
        f"<article>{body}</article><aside>Most read: <a href='/s/1'>One</a>"
        "</aside></main><footer>Example Daily</footer></body></html>"
    ).encode()
    return Hop(
        url="http://news.example/story",
        method="GET",
        target="/story",
        request_headers=(),
        http_version="HTTP/1.1",
        status=200,
        reason="OK",
        response_headers=((b"Content-Type", b"text/html; charset=utf-8"),),
        body=Body(length=len(html), truncated=False, complete=True, data=html),
        peer_ip=None,
        started=datetime(2026, 1, 1, tzinfo=UTC),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", nargs="?", type=Path, default=corpus_folder())
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.folder is None or not args.folder.is_dir():
        print(f"maintext_bench: {args.folder}: no such folder", file=sys.stderr)
        return 2
    pages = []
    for path in seeds.discover([args.folder]):
        try:
            pages.append(page(seeds.read(path).body))
        except InputError:
            continue
    started = time.perf_counter()
    maintext.text_digest(pages[0])
    first = time.perf_counter() - started
    best: list[float] = []
    for _ in range(args.rounds):
        times = []
        for hop in pages:
            started = time.perf_counter()
            maintext.text_digest(hop)
            times.append(time.perf_counter() - started)
        if not best or sum(times) < sum(best):
            best = times
    size = statistics.median(hop.body.length for hop in pages)
    ordered = sorted(best)
    print(f"pages: {len(pages)} (median {size / 1000:.1f} kB of HTML)")
    print(f"first call, with the import: {first * 1000:.0f} ms")
    print(f"best of {args.rounds}: {len(pages) / sum(best):.0f} pages/s")
    print(
        f"per page: median {statistics.median(best) * 1000:.1f} ms, "
        f"p95 {ordered[int(len(ordered) * 0.95)] * 1000:.1f} ms, "
        f"slowest {ordered[-1] * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
