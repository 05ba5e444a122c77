"""The library surface is what __all__ says, no more and no less."""

from __future__ import annotations

import archiver


def test_all_is_exactly_the_public_names():
    public = {
        name
        for name, value in vars(archiver).items()
        if not name.startswith("_")
        and type(value).__name__ != "module"
        and name != "annotations"  # from __future__
    }
    assert sorted(archiver.__all__) == sorted(public | {"__version__"})


def test_names_work_together(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "<!--1-->\n[T](https://Example.COM/a)\n------\n\n<a href='/b'>b</a>\n"
    )
    article = archiver.read_article(path)
    urls = [archiver.normalise(link.raw, link.base) for link in archiver.links(article)]
    assert urls == ["https://example.com/a", "https://example.com/b"]
    assert archiver.__version__
