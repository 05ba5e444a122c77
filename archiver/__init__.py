"""archiver: preserve every link and image cited in a body of articles.

The command line (``archiver preserve``, ``nightly``, ``extract``,
``package``, ``report``) is the main way in; these names are the library surface for
those who script it: read and extract articles, normalise URLs, run a
preserve pass, and the value and error types they return.
"""

from __future__ import annotations

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
