"""``archiver.toml``: the options of a nightly run, written down once.

Every key is the long name of a command-line option (``per-host = 2`` or
``per_host = 2``), so the file and the flags cannot drift apart: the file's
values become the command's defaults and a flag given on the command line
still wins. A key that is not an option is an error naming the file and key,
not something silently ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path

from archiver.errors import UsageError

DEFAULT_CONFIG = Path("archiver.toml")


def load(path: Path, options: Collection[str], *, required: bool) -> dict[str, object]:
    """The settings in ``path``, keyed by parameter name (``per_host``).

    ``options`` are the command's parameter names. A missing file is an error
    only when ``required`` (named on the command line).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise UsageError(f"--config {path}: no such file") from None
        return {}
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML: {exc}") from exc
    section = data.get("nightly", data)
    if not isinstance(section, Mapping):
        raise UsageError(f"{path}: [nightly] must be a table")
    settings: dict[str, object] = {}
    for key, value in section.items():
        name = key.replace("-", "_")
        if name not in options:
            known = ", ".join(sorted(o.replace("_", "-") for o in options))
            raise UsageError(f"{path}: unknown setting {key!r} (known: {known})")
        settings[name] = value
    return settings
