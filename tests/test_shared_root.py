"""preserve and nightly in one warcs/ (the README's two commands): one index."""

from __future__ import annotations

import json
import uuid
import zipfile
from pathlib import Path

import pytest

from tests.clirun import links_to, run_cli, write_article

pytestmark = pytest.mark.slow


def indexed_files(root: Path) -> set[str]:
    lines = (root / "index.cdxj").read_text().splitlines()
    return {json.loads(line.split(" ", 2)[2])["filename"] for line in lines}


def warc_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.warc.gz")}


def test_preserve_and_nightly_sharing_a_folder_keep_each_others_captures(
    fakeweb, tmp_path
):
    token = uuid.uuid4().hex[:8]
    (tmp_path / "articles").mkdir()
    write_article(
        tmp_path / "articles" / "a.txt",
        fakeweb.url(f"/page/shared-root-{token}"),
        links_to({"x": fakeweb.url(f"/page/shared-link-{token}")}),
    )
    warcs = tmp_path / "warcs"
    common = [
        "--out",
        str(warcs),
        "--allow-private",
        "--no-probe",
        "--browser",
        "never",
    ]
    articles = str(tmp_path / "articles")
    steps = [
        ["preserve", articles, *common],
        ["nightly", articles, *common],
        ["preserve", articles, *common],
    ]
    for step in steps:
        done = run_cli(*step)
        assert done.returncode == 0, done.stderr
        # after every step, the root index lists every WARC file under the root
        assert indexed_files(warcs) == warc_files(warcs)
    assert any("/" in name for name in warc_files(warcs))  # a nightly run folder
    assert any("/" not in name for name in warc_files(warcs))  # preserve's own
    packed = run_cli("package", str(warcs), "--out", str(tmp_path / "all.wacz"))
    assert packed.returncode == 0, packed.stderr
    with zipfile.ZipFile(tmp_path / "all.wacz") as wacz:
        archived = {n for n in wacz.namelist() if n.endswith(".warc.gz")}
    assert len(archived) == len(warc_files(warcs))
