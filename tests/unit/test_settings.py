"""The one settings tree: commands receive typed option groups, and each part
of the tree checks itself wherever it is built (command line or library)."""

from __future__ import annotations

import inspect
from pathlib import Path

import click
import pytest

from archiver.cli.main import cli
from archiver.cli.options import FetchChoices, RunChoices
from archiver.crawl.client import ClientSettings
from archiver.errors import UsageError


def commands(group: click.Group) -> list[click.Command]:
    found: list[click.Command] = []
    for command in group.commands.values():
        if isinstance(command, click.Group):
            found += commands(command)
        else:
            found.append(command)
    return found


@pytest.mark.parametrize("command", commands(cli), ids=lambda c: c.name)
def test_no_command_reads_options_out_of_an_untyped_mapping(command):
    assert command.callback is not None
    parameters = inspect.signature(command.callback).parameters.values()
    assert all(p.kind is not p.VAR_KEYWORD for p in parameters), command.name


@pytest.mark.parametrize("name", ["preserve", "nightly"])
def test_archiving_commands_receive_their_options_as_typed_groups(name):
    callback = cli.commands[name].callback
    assert callback is not None
    hints = inspect.signature(callback).parameters
    assert {"fetching", "running", "browsing"} <= set(hints)
    # every option of a group is an option of the command, nothing more
    options = {p.name for p in cli.commands[name].params}
    for group in (FetchChoices, RunChoices):
        assert set(group.__dataclass_fields__) <= options


@pytest.mark.parametrize(
    "proxy", ["ftp://proxy.example:21", "proxy.example:3128", "http://", "http://[::1"]
)
def test_a_library_caller_gets_the_same_proxy_check_as_the_command_line(proxy):
    with pytest.raises(UsageError, match="--proxy"):
        ClientSettings(proxy=proxy)


def test_a_ca_bundle_that_is_no_certificate_is_refused_where_it_is_set(
    tmp_path: Path,
):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    with pytest.raises(UsageError, match=str(bundle)):
        ClientSettings(ca_bundle=bundle)
    assert ClientSettings(proxy="http://127.0.0.1:3128").proxy is not None
