"""The version of archiver, and of the libraries it names in its records.

Read from the installed distributions' metadata, so the number written into
WARC files, the User-Agent and the report is the one pip installed.
"""

from __future__ import annotations

import importlib.metadata


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name``, or ``unknown``."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


__version__ = distribution_version("archiver")
