"""Extraction over the shared corpus of real articles, against committed counts.

How the expectation file (``tests/data/corpus_counts.json``) was derived and
checked: it is written by ``python -m tests.test_corpus --write``. Before it
was committed, the per-folder counts of hyperlinks and images were compared
with the corpus README's own table, which was made by an independent script
(BeautifulSoup with other counting code): every folder agrees exactly
(that table sums the two ``2020-layout`` files; 2,367 hyperlinks and 1,598
image URLs in total). Embeds agree too except in
``waimei/cna``, where we count 6 more: lazy-loaded ``iframe[data-src]``, which
that table does not count. The seed article was checked by hand, URL by URL
(see ``test_cli_extract.py``), and so was ``duty-machine-news/rfi``: 4 share
links, 1 image, the article URL. Distinct URLs are after our normalisation
and proxy unwrapping, so they differ from the README's 3,098 on purpose.

Changes since, each checked by listing the URLs added (issue 14):

- ``waimei/wqw``: 10 more images, the ``data-orig-file`` and
  ``data-large-file`` of five WordPress gallery images; 2 of them are new
  distinct URLs (the other 8 repeat a ``src`` or ``srcset`` candidate).
- ``waimei/bbc``: 4 more embeds, ``<link rel=stylesheet>`` (one file cites
  the same stylesheet twice: 3 new distinct URLs). The 22 fonts of one BBC
  ``<style>`` block are not counted (see the README's What is gathered).
- ``waimei/ft`` (18) and ``duty-machine-news/ft`` (1): the originals inside
  the 23 thumbor URLs (``/unsafe/1340x754/https://...``), 19 of them distinct.
- ``waimei/epochtimes``: 4 Wayback Machine originals.
- ``waimei/cdt``: 1 Jetpack Photon original (``i0.wp.com/chinachange.org/...``).
- WHATWG parsing changes the spelling of 17 URLs (``|`` and ``^`` kept in 16
  queries, an empty ``?`` kept once) but no count.

The corpus lives outside the project; without it the test is skipped.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import pytest

from archiver.articles import extract, plan, seeds
from archiver.models import FoundLink
from tests.corpusfiles import corpus_folder

EXPECTED = Path(__file__).parent / "data" / "corpus_counts.json"


def outlet(relative: Path) -> str:
    """Group files as the corpus README's table does."""
    parts = relative.parts
    if parts[0] == "waimei" or "2020-layout" in parts:
        return "/".join(parts[:2] if parts[0] == "waimei" else parts[:3])
    return "/".join(parts[:-1])


def count(folder: Path) -> dict[str, dict[str, int]]:
    grouped: dict[str, list[Path]] = {}
    for path in seeds.discover([folder]):
        grouped.setdefault(outlet(path.relative_to(folder)), []).append(path)
    result: dict[str, dict[str, int]] = {}
    for name, paths in sorted(grouped.items()):
        kinds: Counter[str] = Counter()
        found: list[FoundLink] = []
        for path in paths:
            article = seeds.read(path)
            kinds.update(str(link.citation.kind) for link in extract.links(article, ()))
            found.extend(extract.links(article))
        built = plan.build(found)
        result[name] = {
            "files": len(paths),
            "hyperlinks": kinds["link"],
            "images": kinds["image"],
            "embeds": kinds["embed"],
            "distinct_urls": len(built.targets) + len(built.unfetched),
            "fetchable": len(built.targets),
        }
    return result


def test_every_corpus_file_parses_and_counts_match():
    folder = corpus_folder()
    if folder is None:
        pytest.skip("the shared article corpus is not next to this checkout")
    assert count(folder) == json.loads(EXPECTED.read_text(encoding="utf-8"))


if __name__ == "__main__" and "--write" in sys.argv:
    found_folder = corpus_folder()
    if found_folder is None:
        sys.exit("corpus not found; set ARCHIVER_CORPUS")
    EXPECTED.write_text(
        json.dumps(count(found_folder), indent=1) + "\n", encoding="utf-8"
    )
