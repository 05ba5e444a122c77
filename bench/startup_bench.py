"""What the command line costs before it does anything.

Runs ``archiver --help`` and ``import archiver.cli.main`` in fresh
interpreters several times and prints the best wall and CPU times, and the
import time Python itself reports (``-X importtime``) for the CLI module.

    python bench/startup_bench.py [--rounds N]

Results are written down in the README.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import time


def best_of(rounds: int, argv: list[str]) -> tuple[float, float]:
    """Best wall seconds and best CPU seconds (user + system) of ``argv``."""
    walls, cpus = [], []
    for _ in range(rounds):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), min(cpus)


def import_time() -> float:
    """Seconds ``-X importtime`` gives for ``archiver.cli.main``, cumulative."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import archiver.cli.main"],
        check=True,
        capture_output=True,
        text=True,
    )
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \| archiver\.cli\.main$", line)
        if found:
            return int(found.group(1)) / 1e6
    raise SystemExit("no import time reported for archiver.cli.main")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    for label, argv in (
        ("archiver --help", [sys.executable, "-m", "archiver", "--help"]),
        ("import the CLI", [sys.executable, "-c", "import archiver.cli.main"]),
        ("python alone", [sys.executable, "-c", "pass"]),
    ):
        wall, cpu = best_of(args.rounds, argv)
        print(f"{label}: best of {args.rounds}: {wall:.3f} s wall, {cpu:.3f} s CPU")
    print(f"import the CLI (-X importtime, cumulative): {import_time():.3f} s")


if __name__ == "__main__":
    main()
