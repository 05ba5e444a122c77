"""How fast articles turn into URLs: read, extract, normalise, plan.

Runs the corpus through the same functions ``archiver preserve`` uses, on one
core, several times, and prints articles per second for the best round.

    python bench/extract_bench.py [FOLDER] [--rounds N]

FOLDER defaults to the shared corpus next to the project. Results are written
down in the README.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from archiver.articles import extract, plan, seeds
from archiver.errors import InputError
from archiver.models import FoundLink

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "articles"


def one_round(files: list[Path]) -> tuple[float, int, int]:
    started = time.perf_counter()
    found: list[FoundLink] = []
    for path in files:
        try:
            article = seeds.read(path)
        except InputError:
            continue
        found.extend(extract.links(article))
    built = plan.build(found)
    elapsed = time.perf_counter() - started
    return elapsed, len(found), len(built.targets) + len(built.unfetched)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not args.folder.is_dir():
        print(f"extract_bench: {args.folder}: no such folder", file=sys.stderr)
        return 2
    files = seeds.discover([args.folder])
    rounds = [one_round(files) for _ in range(args.rounds)]
    best, occurrences, distinct = min(rounds)
    size = sum(path.stat().st_size for path in files)
    print(f"articles: {len(files)} ({size / 1e6:.1f} MB)")
    print(f"URL occurrences: {occurrences}; distinct URLs: {distinct}")
    print(f"best of {args.rounds}: {best:.3f} s")
    print(f"{len(files) / best:.0f} articles/s, {size / best / 1e6:.1f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
