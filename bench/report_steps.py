"""Where a report's CPU time goes: seconds of ``process_time`` in each step.

``bench/report_bench.py`` gives a report's whole time; this says which step
of it to work on. It makes one report in this process from an existing store
(one that script kept, say, after ``archiver store migrate``), with each
named step wrapped to add up the CPU time spent inside it. Steps nest: the
fold of the links (``marks.lives``) holds the database's sums, their folds
and the whole checks read; an iterator's time is only that of making its
items, not of what its caller does with them.

    python bench/report_steps.py STORE [--format csv]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import archiver.report as report_package
from archiver.report import figures, listing, marks, research
from archiver.report.model import Filters, ReportOptions
from archiver.store.base import open_store

SPENT: defaultdict[str, float] = defaultdict(float)


def _items(name: str, items: Iterator[Any]) -> Iterator[Any]:
    """``items``, timing only the making of each one."""
    while True:
        start = time.process_time()
        try:
            item = next(items)
        except StopIteration:
            SPENT[name] += time.process_time() - start
            return
        SPENT[name] += time.process_time() - start
        yield item


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        result = function(*args, **kwargs)
        SPENT[name] += time.process_time() - start
        if isinstance(result, Iterator):
            return _items(name, result)
        return result

    return timed


def _wrap(owner: object, names: tuple[str, ...], prefix: str) -> None:
    for name in names:
        setattr(owner, name, _timed(f"{prefix}{name}", getattr(owner, name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--format", default="csv", choices=report_package.FORMATS)
    args = parser.parse_args()
    store = open_store(args.store, read_only=True)
    reads = ("runs", "articles", "all_citations", "citation_spans")
    _wrap(type(store), (*reads, "tallies", "marks", "checks_at"), "Store.")
    _wrap(marks, ("lives", "fold_tally", "fold_marks", "_life"), "marks.")
    _wrap(figures, ("_cited", "_spells", "each_night"), "figures.")
    _wrap(figures, ("_headline", "_by_year", "_by_domain"), "figures.")
    _wrap(research, ("records", "figures"), "research.")
    _wrap(listing, ("article", "drift"), "listing.")
    start = time.process_time()
    options = ReportOptions(filters=Filters(), store=str(args.store))
    made = report_package.make(store, options)
    SPENT["make (all of it)"] = time.process_time() - start
    start = time.process_time()
    report_package.render(made, args.format)
    SPENT[f"render {args.format}"] = time.process_time() - start
    store.close()
    print("| step | CPU seconds |")
    print("| --- | --- |")
    for name, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        print(f"| {name} | {seconds:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = os.getloadavg()[0]
    print(f"peak memory {peak:.0f} MB; load average {load:.1f}")


if __name__ == "__main__":
    main()
