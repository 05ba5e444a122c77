"""The run's statuses, kept on disk while the run goes on.

A run of a hundred thousand URLs made a hundred thousand ``LinkStatus``
values (each with its record reference, digest, dates and sentence: about
a kilobyte), and held them all until the manifest was written at the end:
the largest part of the memory that grew with the number of URLs. Here
each status is pickled into an unlinked temporary file beside the archive
as it is passed on; memory keeps only its offset, its URL (the target's
own string, already held by the plan) and a count per outcome and reason,
which is all the summary screen asks for. The manifest is written from
the file in URL order, and :class:`StatusFile` is the summary's sequence
of statuses, read back on demand.
"""

from __future__ import annotations

import pickle
import tempfile
import weakref
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import BinaryIO, overload

from archiver.errors import ArchiveWriteError
from archiver.models import LinkStatus, Outcome, RequisiteCounts


class StatusFile(Sequence[LinkStatus]):
    """Statuses in the order they were added, on disk; counts in memory.

    ``amend`` attaches each page's requisite counts once the run's report
    is known: they are applied as statuses are read back, so the file is
    never rewritten.
    """

    def __init__(self, folder: Path) -> None:
        try:
            # Open for the summary's life, closed by close(): no ``with``.
            self._file: BinaryIO = tempfile.TemporaryFile(  # noqa: SIM115
                dir=folder, prefix=".statuses-"
            )
        except OSError as exc:
            raise ArchiveWriteError(
                f"{folder}: cannot keep the run's statuses: {exc.strerror or exc}"
            ) from exc
        # Whoever holds the summary holds the file: closed when it is let go.
        self._closing = weakref.finalize(self, self._file.close)
        self._offsets = array("q", [0])  # where each pickle starts; then the end
        self._urls: list[str] = []
        self._counts: Counter[tuple[Outcome, str]] = Counter()
        self._requisites: Mapping[str, RequisiteCounts] = {}

    def append(self, status: LinkStatus) -> None:
        """Keep ``status``, after those already kept."""
        data = pickle.dumps(status, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._file.seek(self._offsets[-1])
            self._file.write(data)
        except OSError as exc:  # the disk is full, or gone
            raise ArchiveWriteError(
                f"cannot keep the run's statuses: {exc.strerror or exc}"
            ) from exc
        self._offsets.append(self._offsets[-1] + len(data))
        self._urls.append(status.url)
        self._counts[status.outcome, status.reason] += 1

    def extend(self, statuses: Iterable[LinkStatus]) -> None:
        for status in statuses:
            self.append(status)

    def amend(self, requisites: Mapping[str, RequisiteCounts]) -> None:
        """From now on, the status of a page in ``requisites`` carries its counts."""
        self._requisites = requisites

    @property
    def urls(self) -> Sequence[str]:
        """Each status's URL, in the order kept; nothing is read from disk."""
        return self._urls

    def count(self, outcome: Outcome) -> int:
        return sum(n for (kept, _), n in self._counts.items() if kept is outcome)

    def by_reason(self, outcome: Outcome) -> dict[str, int]:
        """How many statuses of ``outcome`` had each reason, most first."""
        found = {r: n for (kept, r), n in self._counts.items() if kept is outcome}
        return dict(sorted(found.items(), key=lambda kv: (-kv[1], kv[0])))

    def pick(self, urls: Iterable[str]) -> dict[str, LinkStatus]:
        """The statuses of ``urls`` that were kept (the last one of each)."""
        wanted = set(urls)
        return {
            self._urls[i]: self[i] for i in range(len(self)) if self._urls[i] in wanted
        }

    def by_url(self) -> Iterator[LinkStatus]:
        """Every status, in URL order (ties in the order kept)."""
        for index in sorted(range(len(self)), key=self._urls.__getitem__):
            yield self[index]

    def __len__(self) -> int:
        return len(self._urls)

    @overload
    def __getitem__(self, index: int) -> LinkStatus: ...
    @overload
    def __getitem__(self, index: slice) -> list[LinkStatus]: ...
    def __getitem__(self, index: int | slice) -> LinkStatus | list[LinkStatus]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        start, end = self._offsets[index], self._offsets[index + 1]
        self._file.seek(start)
        # Our own file, written by append above and unlinked: trusted bytes.
        status: LinkStatus = pickle.loads(self._file.read(end - start))  # noqa: S301
        counts = self._requisites.get(status.url)
        return status if counts is None else replace(status, requisites=counts)

    def __iter__(self) -> Iterator[LinkStatus]:
        return (self[i] for i in range(len(self)))

    def close(self) -> None:
        """Remove the file (it is unlinked already: this frees its space now)."""
        self._closing()
