"""A run reporter for library and in-process tests: it keeps what it is told."""

from __future__ import annotations

from archiver.models import LinkStatus


class Notes:
    """Keeps every note, skipped article and status a run reports."""

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.statuses: list[LinkStatus] = []

    def article_error(self, message: str) -> None:
        self.notes.append(f"skipped: {message}")

    def note(self, message: str) -> None:
        self.notes.append(message)

    def planned(self, total: int) -> None:
        pass

    def done(self, status: LinkStatus) -> None:
        self.statuses.append(status)
