"""Any input gives a result or a one-line error, never a traceback.

Hypothesis draws command lines (option names mixed with hostile values),
``archiver.toml`` documents (right and wrong keys, every TOML type, bytes
that are not TOML or not UTF-8) and article files (random bytes, random
markup). Command lines run in this process through ``archiver.cli.main``,
which is what the ``archiver`` script runs, so an exception it does not turn
into an exit code fails the property. ``nightly`` is only parsed (its
options, its settings file and their checks), never run: a drawn command
line could name any folder as its output.

The large inputs at the end (deep nesting, huge attributes, 1 MB lines) run
the real ``archiver extract`` in a subprocess, whose peak memory is measured.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from archiver.articles import extract, plan, seeds
from archiver.articles.unwrap import DEFAULT_RULES
from archiver.cli.main import cli, main
from archiver.cli.nightly import nightly_cmd
from archiver.errors import ArchiverError, InputError

COMMANDS = ("preserve", "extract", "report", "package")
HOSTILE = (
    "nan", "-nan", "inf", "-inf", "1e309", "1e10", "-1", "0", "2.5", "1_000",
    "true", "", " ", "\x00", "a\r\nb", "\t", "caf\u00e9", "http://[::1",
    "ftp://x", "https://", "mailto:x", "-", "--", "=", "a=b", "99999999999999999999",
)  # fmt: skip
FAST = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _option_names(command: click.Command) -> list[str]:
    names = ["-h", "--nope", "-x"]
    for param in command.params:
        if isinstance(param, click.Option):
            names += [*param.opts, *param.secondary_opts]
    return names


def _tokens(command: click.Command) -> st.SearchStrategy[list[str]]:
    token = st.one_of(
        st.sampled_from(_option_names(command)),
        st.sampled_from(HOSTILE),
        st.text(max_size=12),
        st.floats().map(repr),
        st.integers().map(str),
    )
    # No NUL: an operating system cannot put one in a process's arguments.
    return st.lists(token.filter(lambda t: "\x00" not in t), max_size=8)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(COMMANDS))
    command = cli.commands[name]
    # preserve always lists instead of fetching; first, so no option eats it.
    head = [name, "--dry-run"] if name == "preserve" else [name]
    return head + draw(_tokens(command))


def _one_line_error(err: str) -> None:
    assert "Traceback" not in err
    (line,) = err.strip().splitlines()
    assert line.startswith("archiver: error:"), err


@pytest.fixture
def empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@FAST
@given(argv=command_lines())
def test_any_command_line_runs_or_is_a_usage_error(empty_cwd, capsys, argv):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    _, err = capsys.readouterr()
    assert code in (0, 2), (argv, err)
    if code == 2:
        _one_line_error(err)
    else:
        assert "Traceback" not in err


def _parse_nightly(args: list[str]) -> tuple[int, str]:
    """``nightly``'s options, settings file and checks, without running it.

    The exit code and the error message (``""`` when the options are good).
    """
    try:
        with nightly_cmd.make_context("nightly", args):
            return 0, ""
    except click.exceptions.Exit as stop:  # --help
        return stop.exit_code, ""
    except click.ClickException as error:
        return error.exit_code, error.format_message()
    except ArchiverError as error:
        return int(error.exit_code), str(error)


@FAST
@given(args=_tokens(nightly_cmd))
def test_any_nightly_command_line_parses_or_is_a_usage_error(empty_cwd, capsys, args):
    code, message = _parse_nightly(args)
    assert code in (0, 2)
    assert "\n" not in message


_KEYS = sorted(
    {opt.removeprefix("--") for p in nightly_cmd.params for opt in p.opts}
    | {"now", "paths", "canaries", "unwrap-specs", "per_host", "nightly", ""}
)
_SCALARS = (
    st.sampled_from(HOSTILE)
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats()
    | st.text(max_size=10)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner),
    max_leaves=5,
)


def _string(text: str) -> str:
    """A TOML basic string: JSON's escapes, and DEL too, which JSON leaves."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml(value: object) -> str:
    """``value`` as TOML (enough of TOML for these documents)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    assert isinstance(value, dict)
    pairs = (f"{_string(k)} = {_toml(v)}" for k, v in value.items())
    return "{" + ", ".join(pairs) + "}"


_DOCUMENTS = st.one_of(
    st.dictionaries(
        st.sampled_from(_KEYS) | st.text(max_size=8), _VALUES, max_size=4
    ).map(
        lambda table: "".join(
            f"{_string(k)} = {_toml(v)}\n" for k, v in table.items()
        ).encode()
    ),
    st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=4).map(
        lambda table: (
            "[nightly]\n"
            + "".join(f"{k} = {_toml(v)}\n" for k, v in table.items() if k)
        ).encode()
    ),
    st.binary(max_size=64),
)


@FAST
@given(document=_DOCUMENTS)
def test_any_settings_file_loads_or_is_a_one_line_error(empty_cwd, capsys, document):
    config = empty_cwd / "drawn.toml"
    config.write_bytes(document)
    code, message = _parse_nightly(["--config", str(config)])
    assert code in (0, 2)
    assert "\n" not in message


def test_the_settings_printer_writes_toml():
    """The strategy above is only as good as its TOML: check it round-trips."""
    import tomllib

    value = {"a": [1, 2.5, True], "b": {"c": "d\n\x7f"}, "e": math.inf}
    assert tomllib.loads(f"x = {_toml(value)}")["x"]["a"] == [1, 2.5, True]


_MARKUP = st.sampled_from(
    [
        "<a href='https://a.example/x'>", "</a>", "<img src=", "srcset='", " 1x, ",
        "<div>", "</div>", "<base href='//b.example/'>", "[t](", ")", "](", "![i](",
        "<https://c.example/>", "style='background:url(", "<!--", "-->", "\x00",
        "<script>", "</script>", "&amp;", "&#0;", "\ufeff", "\r", "\n", "\u2028",
        "<svg><use href='#x'/>", "<video poster=", "<source src=", "<link rel=",
    ]
)  # fmt: skip
_BODIES = st.lists(_MARKUP | st.text(max_size=5), max_size=40).map("".join)
_HEADER = "<!--1729735621000-->\n[Title](https://news.example/a)\n------\n\n"


@settings(max_examples=200, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=300),
        _BODIES.map(lambda body: (_HEADER + body).encode()),
        _BODIES.map(lambda body: (_HEADER + body).encode("utf-16")),
        st.tuples(st.binary(max_size=40), _BODIES).map(
            lambda pair: (
                _HEADER.encode() + pair[0] + pair[1].encode("latin-1", "replace")
            )
        ),
    )
)
def test_any_article_file_is_read_or_skipped_with_a_reason(data):
    try:
        article = seeds.parse(Path("drawn.txt"), data)
    except InputError as error:
        reason = str(error)
    else:
        reason = ""
    if reason:
        assert reason.startswith("drawn.txt: ")
        assert "\n" not in reason
        return
    found = list(extract.links(article, DEFAULT_RULES))
    plan.build(found)


_MEASURE = """
import resource, subprocess, sys
done = subprocess.run([sys.executable, "-m", "archiver", *sys.argv[1:]],
                      capture_output=True, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
import json
print(json.dumps({"code": done.returncode, "peak_kb": peak_kb,
                  "stdout": done.stdout[-2000:], "stderr": done.stderr}))
"""

_BIG = {
    "deeply nested": "<div><span>" * 100_000
    + "<a href='https://x.example/deep'>deep</a>"
    + "</span></div>" * 100_000,
    "huge attributes": "<a href='https://x.example/"
    + "a" * 1_000_000
    + "' title='"
    + "t" * 3_000_000
    + "'>x</a><img srcset='"
    + ", ".join(f"https://i.example/{i}.png {i}w" for i in range(50_000))
    + "'>",
    "a 1 MB line": "word <b>bold</b> " * 60_000
    + "<a href='https://x.example/line'>l</a> [md](https://m.example/"
    + "b" * 1_000_000
    + ")",
    "many links on one line": "".join(
        f"<a href='https://x.example/{i}'>{i}</a>" for i in range(40_000)
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_BIG))
def test_large_articles_extract_in_bounded_memory(tmp_path, name):
    article = tmp_path / "big.txt"
    article.write_text(_HEADER + _BIG[name], encoding="utf-8")
    started = time.monotonic()
    parent = subprocess.run(
        [sys.executable, "-c", _MEASURE, "extract", str(article)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    report = json.loads(parent.stdout)
    assert report["code"] == 0, report["stderr"]
    assert "Traceback" not in report["stderr"]
    assert report["peak_kb"] / 1024 < 400, name
    assert time.monotonic() - started < 30, name
