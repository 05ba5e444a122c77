"""The README stays true: its commands, its exit-code table and its option list."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from archiver.cli.main import cli
from archiver.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", text, flags=re.S)


def test_readme_opens_with_the_two_commands():
    first, second = fenced_blocks(README)[:2]
    assert README.index(first) < README.index("## ")
    assert "archiver preserve" in first
    assert "pip install" in first
    assert "pytest" in second
    assert "pip install" in second


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line
        for line in ci.splitlines()
        if line and not line.startswith(("#", "set ", "cd "))
    ]
    assert commands[-1:] == [fenced_blocks(README)[1]]
    # Before it, only set-up steps the README shows word for word (installing
    # the optional chromium for the browser test).
    setup = {line for block in fenced_blocks(README)[2:] for line in block.split("\n")}
    assert set(commands[:-1]) <= setup


def test_exit_code_table_matches_the_enum():
    table = re.search(r"### Exit codes\n\n(.*?)\n\n", README, flags=re.S)
    assert table is not None
    documented = {
        int(m.group(1)) for m in re.finditer(r"^\| (\d+) \|", table.group(1), re.M)
    }
    assert documented == {int(code) for code in ExitCode}


@pytest.mark.parametrize("name", ["preserve", "nightly", "report", "fix"])
def test_every_option_is_documented(name):
    command = cli.commands[name]
    options = [
        opt
        for param in command.params
        if isinstance(param, click.Option)
        for opt in param.opts
        if opt.startswith("--") and opt != "--help" and not param.hidden
    ]
    missing = [opt for opt in options if f"`{opt}" not in README]
    assert not missing


def test_every_command_has_help_and_is_in_the_readme():
    for name, command in cli.commands.items():
        assert command.help, name
        assert f"archiver {name}" in README, name


def test_every_outcome_reason_is_in_the_readme():
    from archiver.run.classify import REASONS

    missing = [code for code in REASONS if f"`{code}`" not in README]
    assert not missing
