"""``archiver.toml``: the options of a nightly run, written down once.

Every key is the long name of a command-line option (``per-host = 2``, or
``per_host = 2``), so the file and the flags cannot drift apart: the file's
values become the command's defaults and a flag given on the command line
still wins. Only documented options count: a hidden option, an argument
(the article paths) or an internal parameter name (``canaries`` for
``--canary``) is not a setting. A key that is not an
option, or a value of the wrong TOML type (``out = 5``, ``per-host = 2.5``,
``per-host = true``), is an error naming the file and key, not something
silently ignored or converted.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import click

from archiver.errors import UsageError

DEFAULT_CONFIG = Path("archiver.toml")


class Kind(StrEnum):
    """The TOML type a setting takes, worded for the error message."""

    BOOLEAN = "a boolean"
    INTEGER = "an integer"
    NUMBER = "a number"
    STRING = "a string"
    STRINGS = "a list of strings"


@dataclass(frozen=True, slots=True)
class Setting:
    """One key the file may hold: the option it sets and the TOML type it takes."""

    key: str  # the option's long name, as documented: "per-host"
    name: str  # the parameter the value is for: "per_host"
    kind: Kind

    def accepts(self, value: object) -> bool:
        if self.kind is Kind.BOOLEAN:
            return isinstance(value, bool)
        if isinstance(value, bool):
            return False  # TOML's true is no number; Python's bool is an int
        if self.kind is Kind.INTEGER:
            return isinstance(value, int)
        if self.kind is Kind.NUMBER:
            return isinstance(value, int | float)
        if self.kind is Kind.STRINGS:
            return isinstance(value, list) and all(isinstance(v, str) for v in value)
        return isinstance(value, str)


def settings_of(params: Iterable[click.Parameter]) -> dict[str, Setting]:
    """The keys a command's options allow, each by long name and its underscore twin."""
    keys: dict[str, Setting] = {}
    for param in params:
        if not isinstance(param, click.Option) or param.hidden or not param.name:
            continue
        if param.name == "config" or not param.opts[0].startswith("--"):
            continue
        long_name = param.opts[0].removeprefix("--")
        setting = Setting(key=long_name, name=param.name, kind=_kind(param))
        keys[long_name] = keys[long_name.replace("-", "_")] = setting
    return keys


def _kind(option: click.Option) -> Kind:
    if option.multiple:
        return Kind.STRINGS
    if option.is_flag or isinstance(option.type, click.types.BoolParamType):
        return Kind.BOOLEAN
    if isinstance(option.type, click.types.IntParamType):
        return Kind.INTEGER
    if isinstance(option.type, click.types.FloatParamType):
        return Kind.NUMBER
    return Kind.STRING


def load(
    path: Path, allowed: Mapping[str, Setting], *, required: bool
) -> dict[str, object]:
    """The settings in ``path``, keyed by parameter name (``per_host``).

    ``allowed`` comes from :func:`settings_of`. A missing file is an error
    only when ``required`` (named on the command line).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise UsageError(f"--config {path}: no such file") from None
        return {}
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read: {exc.strerror}") from exc
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text (byte {exc.start + 1} is {data[exc.start]:#04x})"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    section = document.get("nightly", document)
    if not isinstance(section, Mapping):
        raise UsageError(f"{path}: [nightly] must be a table")
    settings: dict[str, object] = {}
    for key, value in section.items():
        setting = allowed.get(key)
        if setting is None:
            known = ", ".join(sorted({s.key for s in allowed.values()}))
            raise UsageError(f"{path}: unknown setting {key!r} (known: {known})")
        if not setting.accepts(value):
            raise UsageError(
                f"{path}: {key} must be {setting.kind}, not {_toml(value)}"
            )
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            # No file name or header can hold one; os.stat would raise on it.
            raise UsageError(f"{path}: {key} contains a NUL character")
        settings[setting.name] = value
    return settings


def _toml(value: object) -> str:
    """A value as the file spells it, for the error message."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return repr(value) if isinstance(value, str) else str(value)
