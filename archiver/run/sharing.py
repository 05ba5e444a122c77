"""What a night shared by workers needs without the database driver.

The nightly command imports this whether or not it shares its night, so
nothing here loads psycopg: the check that a store can be shared, the
lease's default, and how a worker's folder is cut back to what the store
committed (also done for a crashed night's workers by the next night).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from archiver.errors import UsageError
from archiver.store.location import PostgresURL, StoreLocation
from archiver.warc.repair import cut_after_unit, record_count, repair_folder

DEFAULT_LEASE: Final = 60.0  # seconds a host stays claimed without a heartbeat


def require_shared(store: StoreLocation, option: str) -> PostgresURL:
    """The store, when workers can share it; else a UsageError naming ``option``."""
    if not isinstance(store, PostgresURL):
        raise UsageError(
            f"{option} needs a PostgreSQL store (--store postgresql://...); "
            f"{store} is a SQLite file, which only one process may write"
        )
    return store


def repair_worker_folder(folder: Path, committed: Mapping[str, int]) -> tuple[int, int]:
    """Cut a worker folder's WARCs back to the records the store committed.

    ``committed`` maps ``<worker>/<file>`` to the offset of the file's last
    committed record. Returns (files looked at, bytes cut). A file left with
    only its warcinfo is removed.
    """
    repair_folder(folder)
    files = cut = 0
    for path in sorted(folder.glob("*.warc.gz")):
        files += 1
        cut += cut_after_unit(path, committed.get(f"{folder.name}/{path.name}"))
        if record_count(path) <= 1:
            path.unlink()
    return files, cut
