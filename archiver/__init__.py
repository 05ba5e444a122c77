"""archiver: preserve every link and image cited in a body of articles.

The command line (``archiver preserve``, ``nightly``, ``extract``,
``package``, ``report``) is the main way in; these names are the library surface for
those who script it: read and extract articles, normalise URLs, run a
preserve pass, and the value and error types they return.

Names are imported when first used (PEP 562), so ``import archiver`` (and the
command line's ``--help``) does not pay for trio, httpx and warcio, and the
command line's quiet start (``archiver.cli.entry``) comes first.
"""

from __future__ import annotations

import importlib

# typing's own TYPE_CHECKING, without importing typing: this module is the
# first the command line loads, before a Ctrl-C can be told as one line.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from archiver.articles.extract import links as links
    from archiver.articles.seeds import read as read_article
    from archiver.errors import (
        ArchiverError as ArchiverError,
        ArchiveWriteError as ArchiveWriteError,
        ExitCode as ExitCode,
        InputError as InputError,
        NetworkUnavailable as NetworkUnavailable,
        RunLocked as RunLocked,
        StoreError as StoreError,
        UsageError as UsageError,
    )
    from archiver.models import (
        Article as Article,
        Citation as Citation,
        FoundLink as FoundLink,
        LinkKind as LinkKind,
        LinkStatus as LinkStatus,
        Outcome as Outcome,
        RecordRef as RecordRef,
        Rejection as Rejection,
        Target as Target,
    )
    from archiver.run.preserve import (
        PreserveSettings as PreserveSettings,
        RunSummary as RunSummary,
        gather as gather,
        preserve as preserve,
    )
    from archiver.store.base import open_store as open_store
    from archiver.urls import normalise as normalise
    from archiver.version import __version__ as __version__

# Public name -> (module, name in that module).
_WHERE: dict[str, tuple[str, str]] = {
    **{
        name: ("archiver.errors", name)
        for name in (
            "ArchiverError",
            "ArchiveWriteError",
            "ExitCode",
            "InputError",
            "NetworkUnavailable",
            "RunLocked",
            "StoreError",
            "UsageError",
        )
    },
    **{
        name: ("archiver.models", name)
        for name in (
            "Article",
            "Citation",
            "FoundLink",
            "LinkKind",
            "LinkStatus",
            "Outcome",
            "RecordRef",
            "Rejection",
            "Target",
        )
    },
    **{
        name: ("archiver.run.preserve", name)
        for name in ("PreserveSettings", "RunSummary", "gather", "preserve")
    },
    "links": ("archiver.articles.extract", "links"),
    "read_article": ("archiver.articles.seeds", "read"),
    "open_store": ("archiver.store.base", "open_store"),
    "normalise": ("archiver.urls", "normalise"),
    # Even the version (importlib.metadata) waits: the command line's first
    # module must load before a Ctrl-C can be told as one line.
    "__version__": ("archiver.version", "__version__"),
}

__all__ = [
    "ArchiveWriteError",
    "ArchiverError",
    "Article",
    "Citation",
    "ExitCode",
    "FoundLink",
    "InputError",
    "LinkKind",
    "LinkStatus",
    "NetworkUnavailable",
    "Outcome",
    "PreserveSettings",
    "RecordRef",
    "Rejection",
    "RunLocked",
    "RunSummary",
    "StoreError",
    "Target",
    "UsageError",
    "__version__",
    "gather",
    "links",
    "normalise",
    "open_store",
    "preserve",
    "read_article",
]


def __getattr__(name: str) -> object:
    """Import a public name on first use and keep it (PEP 562)."""
    try:
        module, attribute = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'archiver' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})
