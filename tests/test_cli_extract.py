"""What the CLI gathers, without fetching: the seed article URL by URL."""

# ruff: noqa: E501 - the seed's URLs are written out whole, as they are cited

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "000_2e8e3bea19a4cd0f.txt"

# Read off the seed by hand: the title link, 14 hyperlinks and 4 images behind
# the weserv proxy (19 cited URLs), then the 4 originals behind the proxy.
NYT_IMAGES = "static01.nyt.com/images/2024/10/23/multimedia/23nkorea-ukraine-wwk-{0}/23nkorea-ukraine-wwk-{0}-master1050.jpg"
IMAGE_IDS = ("wqpt", "qvzl", "kfmq", "hlpf")
SEED_CITED = {
    "https://cn.nytimes.com/world/20241024/north-korea-troops-russia-ukraine/": "article",
    "https://www.nytimes.com/2024/06/19/world/asia/putin-meets-kim-north-korea.html": "link",
    "https://www.nytimes.com/2024/10/10/us/politics/russia-casualties-ukraine-war.html": "link",
    "https://www.nytimes.com/2024/10/23/us/politics/north-korea-russia-military-ukraine.html": "link",
    "https://www.nis.go.kr/CM/1_4/view.do?seq=320": "link",
    "https://newsukraine.rbc.ua/news/north-korea-prepares-two-brigades-of-6-000-1729617407.html": "link",
    "https://www.nytimes.com/2023/09/13/world/asia/putin-kim-russia-north-korea.html": "link",
    "https://cn.nytimes.com/asia-pacific/20190228/trump-kim-summit/": "link",
    "https://cn.nytimes.com/asia-pacific/20230906/north-korea-russia-kim-jong-un/": "link",
    "https://www.csis.org/analysis/russias-veto-dismembering-un-sanctions-regime-north-korea": "link",
    "https://www.reuters.com/business/energy/russia-is-shipping-oil-north-korea-above-un-mandated-levels-us-official-2024-05-02/": "link",
    "https://x.com/SecGenNATO/status/1848257731515363781": "link",
    "https://www.asaninst.org/contents/%EB%B6%81%ED%95%9C%EC%9D%98-%EC%9A%B0%ED%81%AC%EB%9D%BC%EC%9D%B4%EB%82%98-%EC%A0%84%EC%9F%81-%ED%8C%8C%EB%B3%91%EA%B3%BC-%EB%8C%80%EB%82%A8-%EC%A0%81%EB%8C%80%EA%B0%90-%EA%B3%A0%EC%B7%A8/": "link",
    "https://www.nytimes.com/by/choe-sang-hun": "link",
    "https://www.nytimes.com/2024/10/23/world/asia/north-korea-troops-russia-ukraine.html": "link",
} | {
    "https://images.weserv.nl/?url=" + NYT_IMAGES.format(i): "image" for i in IMAGE_IDS
}
SEED_ORIGINALS = {"https://" + NYT_IMAGES.format(i): "image" for i in IMAGE_IDS}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "archiver", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_dry_run_on_the_seed_lists_exactly_its_urls():
    assert len(SEED_CITED) == 19
    result = run_cli("preserve", "--dry-run", str(SEED))
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert {line["url"]: line["kind"] for line in lines} == SEED_CITED | SEED_ORIGINALS
    assert len(lines) == 23
    assert all(line["fetch"] is True for line in lines)


def test_dry_run_without_arguments_reads_seeds_folder():
    result = run_cli("preserve", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert {line["url"] for line in json_lines(result.stdout)} >= set(SEED_CITED)


def test_extract_prints_every_citation_with_context():
    result = run_cli("extract", str(SEED))
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    assert {line["url"] for line in lines} == set(SEED_CITED) | set(SEED_ORIGINALS)
    csis = next(line for line in lines if "csis.org" in str(line["url"]))
    assert csis["kind"] == "link"
    assert csis["element"] == "a"
    assert csis["text"]
    assert str(csis["article"]).endswith("000_2e8e3bea19a4cd0f.txt")
    originals = [line for line in lines if line["wrapped_by"]]
    assert len(originals) == 4


def test_bad_article_is_reported_and_skipped(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text(
        "<!--1-->\n[ok](https://ok.example/a)\n------\n\n"
        '<a href="mailto:x@example.org">m</a><a href="http://bad host/">b</a>\n'
    )
    (tmp_path / "broken.txt").write_text("this is not an article\n")
    result = run_cli("preserve", "--dry-run", str(tmp_path))
    assert result.returncode == 0
    (error,) = result.stderr.strip().splitlines()
    assert "broken.txt" in error
    lines = {line["url"]: line for line in json_lines(result.stdout)}
    assert lines["https://ok.example/a"]["fetch"] is True
    assert lines["mailto:x@example.org"]["reason"] == "scheme-mailto"
    assert lines["http://bad host/"]["outcome"] == "invalid"


def test_url_arguments_and_extra_wrappers(tmp_path):
    url = "https://l.example/out?u=https%3A%2F%2Fgone.example%2Fp"
    result = run_cli("preserve", "--dry-run", url, "--unwrap", "l.example=u")
    assert result.returncode == 0, result.stderr
    assert {line["url"] for line in json_lines(result.stdout)} == {
        url,
        "https://gone.example/p",
    }
    bad = run_cli("preserve", "--dry-run", "--unwrap", "nonsense")
    assert bad.returncode == 2
    assert "--unwrap nonsense" in bad.stderr
