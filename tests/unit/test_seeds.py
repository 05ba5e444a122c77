"""Article files: the formats met in the wild, and one-line errors for the rest."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from archiver.articles import extract, plan
from archiver.articles.seeds import discover, parse, read, title_link
from archiver.errors import InputError, UsageError


def test_current_format():
    text = (
        "<!--1729735621000-->\n"
        "[关于朝鲜军队 [影]](https://cn.nytimes.com/world/x/)\n"
        "------\n\n<p>body</p>\n"
    )
    article = parse(Path("a.txt"), text.encode())
    assert article.url == "https://cn.nytimes.com/world/x/"
    assert article.title == "关于朝鲜军队 [影]"
    assert article.published == datetime(2024, 10, 24, 2, 7, 1, tzinfo=UTC)
    assert article.body == "<p>body</p>"
    assert len(article.sha256) == 64


def test_waimei_body_wrapped_in_a_div_and_empty_title():
    text = "<!--1600000000000-->\n[](https://x.example/a)\n------\n\n<div>\n<p>b</p>\n</div>\n"
    article = parse(Path("a.md"), text.encode())
    assert (article.title, article.url) == ("", "https://x.example/a")
    assert article.body == "<div>\n<p>b</p>\n</div>"


@pytest.mark.parametrize(
    ("title_line", "url"),
    [
        ("[T](https://x.example/a b)", "https://x.example/a b"),
        ("[T](<https://x.example/a b>)", "https://x.example/a b"),
        ("[T](<https://x.example/a>)", "https://x.example/a"),
        (
            "[T (1)](https://en.wikipedia.org/wiki/Foo_(bar))",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
    ],
)
def test_a_title_url_with_a_space_or_in_angle_brackets_is_read(title_line, url):
    # Such a file used to be skipped whole as "not a title link".
    text = f"<!--1600000000000-->\n{title_line}\n------\n\n<a href='/b'>b</a>\n"
    article = parse(Path("a.md"), text.encode())
    assert article.url == url
    links = extract.links(article)
    targets = [t.url for t in plan.build(links).targets]
    assert targets[0] == url.replace(" ", "%20")  # encoded as a browser would
    assert len(targets) == 2  # and the body's links still resolve against it


def test_variant_without_timestamp_takes_the_date_line():
    text = (
        "[标题](https://chinadigitaltimes.net/chinese/2020/07/%e7%ab%8b/)\n------\n"
        "日期：Thu, 02 Jul 2020 18:28:24 +0000\n\n<html><p>x</p></html>\n"
    )
    article = parse(Path("b.md"), text.encode())
    assert article.published == datetime(2020, 7, 2, 18, 28, 24, tzinfo=UTC)
    assert article.url == "https://chinadigitaltimes.net/chinese/2020/07/%e7%ab%8b/"


def test_legacy_encoding_is_detected():
    text = "<!--1600000000000-->\n[新闻标题](https://x.example/a)\n------\n\n" + (
        "<p>这是一篇用旧编码保存的中文文章，内容足够长以便识别编码。</p>" * 5
    )
    article = parse(Path("gbk.txt"), text.encode("gb18030"))
    assert article.title == "新闻标题"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty article"),
        (b"\n\n  \n", "empty article"),
        (b"<!--1-->\nno title link here\n------\n", "line 2 is not a title link"),
        (
            b"[t](https://x.example/)\nbody without a rule\n",
            "no '------' line after the title",
        ),
        (b"\x00\x01binary", "not a text file"),
    ],
)
def test_malformed_files_raise_one_line_naming_the_file(data, message):
    with pytest.raises(InputError) as caught:
        parse(Path("bad.txt"), data)
    text = str(caught.value)
    assert text.startswith("bad.txt: ")
    assert message in text
    assert "\n" not in text


def test_unreadable_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read(tmp_path)  # a folder cannot be read as a file


def test_discover_walks_folders_and_skips_hidden_and_other_files(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in [
        "a.txt",
        "b/c.md",
        "b/d.html",
        ".git/e.txt",
        ".hidden.md",
        "notes.tsv",
    ]:
        (tmp_path / name).write_text("x")
    explicit = tmp_path / "notes.tsv"
    found = discover([tmp_path, explicit, tmp_path / "a.txt"])
    names = [str(p.relative_to(tmp_path)) for p in found]
    assert names == ["a.txt", "b/c.md", "b/d.html", "notes.tsv"]


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="nope: no such file or folder"):
        discover([tmp_path / "nope"])


_OLD_TITLE = re.compile(r"\[(?P<title>.*)\]\((?:<(?P<bracketed>[^<>]*)>|(?P<url>.*))\)")


@settings(max_examples=500, deadline=None)
@given(line=st.text(alphabet="[]()<>ab x", max_size=30))
def test_the_title_line_is_read_as_the_pattern_it_replaced_read_it(line):
    """title_link scans once; the greedy pattern before it backtracked."""
    old = _OLD_TITLE.fullmatch(line)
    expected = (
        None
        if old is None
        else (old.group("title"), old.group("bracketed") or old.group("url") or "")
    )
    assert title_link(line) == expected


def test_a_megabyte_title_line_of_brackets_is_refused_in_one_scan(tmp_path):
    path = tmp_path / "hostile.txt"
    path.write_text("[" + "](x" * 350_000 + "\n------\n\nbody\n")
    with pytest.raises(InputError, match="not a title link"):
        read(path)
