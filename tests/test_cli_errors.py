"""Mistakes a user makes on the command line or in archiver.toml: one line, exit 2.

Most cases run the command in-process (``archiver.cli.main.main``), which is
what the ``archiver`` script calls, so an exception that is not turned into
an exit code fails the test as it would show a traceback to a user. The
cases that need a fetching run use the CLI in a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from archiver.cli.main import cli, main
from archiver.cli.types import HostPort, StoreParam, WebURL
from archiver.store.base import STORE_NAME
from tests.clirun import links_to, run_cli, write_article
from tests.fakeweb.server import FakeWeb, closed_port
from tests.warcfiles import make_hop, sink


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``archiver ARGS`` run in this process."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with a seeds/ holding one article."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    write_article(
        tmp_path / "seeds" / "a.txt",
        "https://news.example/a",
        links_to({"x": "https://news.example/x"}),
    )
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["preserve", "--timeout", "nan"],
        ["preserve", "--timeout", "inf"],
        ["preserve", "--deadline", "nan"],
        ["preserve", "--max-time", "nan"],
        ["preserve", "--delay", "inf"],
        ["preserve", "--delay", "1e300"],
        ["preserve", "--retry-base", "-1"],
        ["preserve", "--per-host", "2.5"],
        ["preserve", "--concurrency", "99999999999999999999"],
        ["nightly", "--alive-every", "1e10"],
        ["nightly", "--suspect-every", "nan"],
        ["nightly", "--dead-after-days", "inf"],
        ["report", "--dead-after-days", "inf"],
        ["report", "--dead-after-days", "nan"],
        ["preserve", "--user-agent", "bot\r\nX-Injected: 1"],
        ["preserve", "--user-agent", "caf\u00e9"],
        ["preserve", "--operator", "desk\nsoftware: fake"],
        ["nightly", "--operator", "tab\there"],
        ["preserve", "--allow-private-host", "127.0.0.1:99999"],
        ["preserve", "--allow-private-host", "intranet:abc"],
        ["preserve", "--allow-private-host", "http://127.0.0.1:8765/"],
        ["preserve", "--allow-private-host", "[::1]"],
        ["preserve", "--canary", "notaurl"],
        ["preserve", "--canary", "ftp://example.org/"],
        ["preserve", "--canary", "http://[bad"],  # urlsplit raises on it
        ["report", "--replay-base", "https://[::1"],
        ["nightly", "--store", "postgresq://u:secret@127.0.0.1/x"],
        ["report", "--store", "bogus://x"],
        ["report", "--replay-base", "notaurl"],
        ["fix", "--replay-base", "archive.example.org"],
    ],
)
def test_bad_option_values_are_usage_errors(capsys, workdir, args):
    extra = ["--dry-run"] if args[0] == "preserve" else []
    code, _, err = run_main(capsys, *args, *extra)
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"archiver: error: Invalid value for '{args[1]}'")
    assert "secret" not in line
    assert not (workdir / "warcs").exists()
    assert sorted(p.name for p in workdir.iterdir()) == ["seeds"]  # no store made


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (HostPort(), "intranet"),
        (HostPort(), "intranet:8080"),
        (HostPort(), "10.0.0.7"),
        (HostPort(), "::1"),
        (HostPort(), "[::1]:8080"),
        (WebURL(), "https://canary.example/"),
        (WebURL(relative=True), ""),
        (WebURL(relative=True), "/replay"),
        (WebURL(relative=True), "https://archive.example.org/archive"),
    ],
)
def test_good_hosts_and_urls_pass_as_written(kind, value):
    assert kind.convert(value, None, None) == value


def test_store_copy_from_no_store_makes_none(capsys, workdir):
    code, _, err = run_main(capsys, "store", "copy", "missing.db", "target.db")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert "missing.db: no such store file" in line
    assert not (workdir / "missing.db").exists()
    assert not (workdir / "target.db").exists()


def _commands(
    group: click.Group, path: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _bad_value(option: click.Option) -> str | None:
    """A value the option's type refuses, or None for an option that takes any text."""
    kind = option.type
    if isinstance(kind, click.Choice):
        return "no-such-choice"
    if isinstance(kind, click.IntRange | click.FloatRange) and kind.min is not None:
        below = kind.min if kind.min_open else kind.min - 1
        return str(below)
    if isinstance(kind, click.types.IntParamType | click.types.FloatParamType):
        return "not-a-number"
    if isinstance(kind, HostPort):
        return "http://intranet/"
    if isinstance(kind, WebURL):
        return "not-a-url"
    if isinstance(kind, StoreParam):
        return "postgresq://127.0.0.1/typo"
    return None


def _bad_options() -> Iterator[tuple[str, ...]]:
    """Every command's every option with a typed value, given a value it refuses."""
    for path, command in _commands(cli, ()):
        yield (*path, "--no-such-option")
        for option in command.params:
            if isinstance(option, click.Option) and not option.is_flag:
                value = _bad_value(option)
                if value is not None:
                    yield (*path, option.opts[0], value)


@pytest.mark.parametrize("args", list(_bad_options()), ids=" ".join)
def test_every_bad_option_is_one_line_naming_it(capsys, workdir, args):
    """click's own range and choice errors are one line as ours are, not three."""
    code, out, err = run_main(capsys, *args)
    assert code == 2
    (line,) = err.strip().splitlines()
    option = next(arg for arg in args if arg.startswith("--"))
    assert line.startswith("archiver: error: ")
    assert f"'{option}'" in line
    assert out == ""
    assert not (workdir / "warcs").exists()


def test_the_shared_nights_options_are_one_line_from_the_script(tmp_path, monkeypatch):
    """As the installed script runs it, in a process of its own."""
    monkeypatch.chdir(tmp_path)
    for args, said in (
        (["nightly", "--workers", "-1"], "'--workers': -1 is not in the range"),
        (["worker", "--lease", "0.1"], "'--lease': 0.1 is not in the range"),
    ):
        result = run_cli(*args)
        assert result.returncode == 2
        assert result.stdout == ""
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"archiver: error: Invalid value for {said}")
        assert line.endswith(f"(see 'archiver {args[0]} --help')")
    assert list(tmp_path.iterdir()) == []


def test_a_bare_command_still_shows_its_help(capsys, workdir):
    code, _, err = run_main(capsys, "store")
    assert code == 2
    assert err.startswith("Usage: archiver store")
    assert "\\n" not in err  # the help itself, not escaped onto one line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("out = 5", "out must be a string, not 5"),
        ("per-host = 2.5", "per-host must be an integer, not 2.5"),
        ("per-host = true", "per-host must be an integer, not true"),
        ("delay = true", "delay must be a number, not true"),
        ("probe = 1", "probe must be a boolean, not 1"),
        ('canary = "https://a.example/"', "canary must be a list of strings"),
        ("[nightly]\nout = [1]", "out must be a string, not a list"),
        ("canaries = []", "unknown setting 'canaries'"),
        ('unwrap-specs = ["a.example=u"]', "unknown setting 'unwrap-specs'"),
        ('paths = ["seeds"]', "unknown setting 'paths'"),
        ('now = "2020-01-01"', "unknown setting 'now'"),
        ("config = 'x.toml'", "unknown setting 'config'"),
        ("no-probe = true", "unknown setting 'no-probe'"),
        ("nightly = 3", "[nightly] must be a table"),
        ("per-host = ", "not valid TOML"),
        ('out = "a\\u0000b"', "out contains a NUL character"),
        ('canary = ["https://a.example/\\u0000"]', "canary contains a NUL character"),
    ],
)
def test_bad_settings_files_name_the_key(capsys, workdir, text, message):
    (workdir / "archiver.toml").write_text(text + "\n")
    code, _, err = run_main(capsys, "nightly")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"archiver: error: archiver.toml: {message}")
    assert not (workdir / "warcs").exists()  # no store, no run


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("delay = inf", "Invalid value for '--delay'"),
        ("timeout = nan", "Invalid value for '--timeout'"),
        ("per_host = 0", "Invalid value for '--per-host'"),
        ('user-agent = "a\\nb"', "Invalid value for '--user-agent'"),
        ('log-format = "xml"', "Invalid value for '--log-format'"),
    ],
)
def test_settings_pass_the_options_checks(capsys, workdir, text, message):
    (workdir / "archiver.toml").write_text(text + "\n")
    code, _, err = run_main(capsys, "nightly")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert message in line


def test_a_settings_file_that_is_not_utf8(capsys, workdir):
    (workdir / "archiver.toml").write_bytes(b'operator = "caf\xe9"\n')
    code, _, err = run_main(capsys, "nightly")
    assert code == 2
    assert err.strip() == (
        "archiver: error: archiver.toml: not UTF-8 text (byte 16 is 0xe9)"
    )


@pytest.mark.parametrize(
    "text",
    [
        'canary = ["https://canary.example/"]',
        'unwrap = ["wrap.example=u"]',
        "[nightly]\nprobe = false\nper_host = 2\ndelay = 1\nalive-every = 7.5",
    ],
)
def test_documented_settings_are_accepted(capsys, workdir, text):
    """The keys pass: what stops the run is the path given, checked next."""
    (workdir / "archiver.toml").write_text(text + "\n")
    code, _, err = run_main(capsys, "nightly", "missing-folder")
    assert code == 2
    assert err.strip() == "archiver: error: missing-folder: no such file or folder"
    assert not (workdir / "warcs").exists()  # checked before the store is made


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("ftp://x", "ftp://x: ftp: URLs cannot be preserved; give http:// or https://"),
        ("http://[::1", "http://[::1: not a valid URL"),
        ("https://", "https://: not a valid URL: it names no host"),
        ("no-such-file.txt", "no-such-file.txt: no such file or folder"),
    ],
)
def test_bad_arguments_are_usage_errors(capsys, workdir, argument, message):
    code, _, err = run_main(capsys, "preserve", argument)
    assert code == 2
    assert err.strip().startswith(f"archiver: error: {message}")
    assert not (workdir / "warcs").exists()


def test_a_folder_without_articles_stops_preserve_and_warns_nightly(capsys, workdir):
    (workdir / "empty").mkdir()
    (workdir / "empty" / "notes.pdf").write_bytes(b"%PDF")
    code, _, err = run_main(capsys, "preserve", "empty")
    assert code == 2
    assert err.strip().startswith("archiver: error: empty: no article files found")
    assert not (workdir / "warcs").exists()
    code, _, err = run_main(capsys, "nightly", "empty", "--log-format", "plain")
    assert code == 0
    assert "archiver: warning: empty: no article files found" in err
    assert (workdir / "warcs" / STORE_NAME).is_file()


def test_package_out_folder_writes_into_it(capsys, tmp_path):
    run = tmp_path / "run-1"
    warc = sink(run)
    warc.write_hop(make_hop(tmp_path, "page", b"<p>archived</p>"))
    warc.close()
    (tmp_path / "existing").mkdir()
    for out, spelled in (
        (tmp_path / "new", f"{tmp_path / 'new'}/"),
        (tmp_path / "existing", str(tmp_path / "existing")),
    ):
        code, printed, err = run_main(capsys, "package", str(run), "--out", spelled)
        assert code == 0, err
        assert printed.strip() == str(out.resolve() / "run-1.wacz")
        assert (out / "run-1.wacz").is_file()


def test_the_readme_crontab_line_works_on_a_fresh_install(
    fakeweb: FakeWeb, tmp_path: Path
):
    """``archiver nightly --log-file warcs/nightly.log`` with no warcs/ yet."""
    (tmp_path / "seeds").mkdir()
    write_article(tmp_path / "seeds" / "a.txt", fakeweb.url("/page/cron"), "<p/>")
    log = tmp_path / "warcs" / "nightly.log"
    done = run_cli(
        "nightly", str(tmp_path / "seeds"), "--out", str(tmp_path / "warcs"),
        "--log-file", str(log), "--allow-private", "--no-probe",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert log.read_text().strip()


def test_a_dead_proxy_is_named_as_the_proxy(fakeweb: FakeWeb, tmp_path: Path):
    proxy = f"http://127.0.0.1:{closed_port()}"
    write_article(tmp_path / "a.txt", fakeweb.url("/page/p"), "<p/>")
    done = run_cli(
        "preserve", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"),
        "--proxy", proxy, "--retries", "1", "--canary", fakeweb.url("/page/c"),
        "--allow-private",
    )  # fmt: skip
    assert done.returncode == 5
    assert f"through the proxy {proxy} (--proxy)" in done.stdout
    assert "looks offline" not in done.stdout
