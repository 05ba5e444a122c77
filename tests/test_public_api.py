"""The library surface is what __all__ says, no more and no less, and it is cheap."""

from __future__ import annotations

import subprocess
import sys

import pytest

import archiver

HEAVY = ("trio", "httpx", "httpcore", "warcio", "bs4", "archiver.run.preserve")


def test_all_is_exactly_the_public_names():
    names = set(archiver.__all__)
    for name in names:
        assert getattr(archiver, name) is not None, name
    public = {
        name
        for name, value in vars(archiver).items()
        if not name.startswith("_")
        and type(value).__name__ != "module"
        and name not in ("annotations", "importlib", "TYPE_CHECKING")
    }
    # every public name, once used, is one of __all__
    assert public <= names | {"__version__"}
    assert sorted(archiver.__all__) == sorted({*dir(archiver)} & names)
    assert names == {*archiver._WHERE, "__version__"}


def test_names_work_together(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text(
        "<!--1-->\n[T](https://Example.COM/a)\n------\n\n<a href='/b'>b</a>\n"
    )
    article = archiver.read_article(path)
    urls = [archiver.normalise(link.raw, link.base) for link in archiver.links(article)]
    assert urls == ["https://example.com/a", "https://example.com/b"]
    assert archiver.__version__


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = archiver.no_such_name


@pytest.mark.parametrize(
    "program",
    [
        "import archiver",
        "import archiver.cli.main",
        "from archiver.cli.main import main; main(['--help'])",
        "from archiver.cli.main import main; main(['preserve', '--help'])",
        "from archiver.cli.main import main; main(['nightly', '--help'])",
    ],
)
def test_import_and_help_do_not_load_the_network_stack(program):
    """`archiver --help` answers without importing trio, httpx or warcio."""
    check = (
        "import sys\n"
        f"try:\n    {program}\nexcept SystemExit:\n    pass\n"
        f"print(sorted(set(sys.modules) & set({HEAVY!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
