"""Tell the person (or the cron mail) how the run goes, and sum it up at the end.

On a terminal a rich progress bar runs; otherwise each finished URL is one
plain log line on stderr, so a cron mail reads like a log. The summary is the
same in both cases and fits on one screen.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from archiver.clock import now as clock_now
from archiver.errors import ExitCode
from archiver.models import LinkStatus, Outcome, RequisiteOutcome

if TYPE_CHECKING:
    from archiver.run.preserve import RunSummary


class _LineReporter:
    """A reporter with nothing to start or stop (unlike the progress bar)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class PlainReporter(_LineReporter):
    """One line per event, for logs and cron mail."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream or sys.stderr

    def article_error(self, message: str) -> None:
        print(f"archiver: skipped article: {message}", file=self._stream, flush=True)

    def note(self, message: str) -> None:
        print(f"archiver: {message}", file=self._stream, flush=True)

    def planned(self, total: int) -> None:
        print(
            f"archiver: {total} distinct URLs to check", file=self._stream, flush=True
        )

    def done(self, status: LinkStatus) -> None:
        code = status.http_status if status.http_status is not None else "-"
        print(
            f"archiver: {status.outcome} {code} {status.url} ({status.reason})",
            file=self._stream,
            flush=True,
        )


class JsonReporter(_LineReporter):
    """One JSON object per line and event, for log collectors and cron mail.

    Every line has ``time`` (UTC, ISO 8601) and ``event``; the same lines go
    to each stream given (stderr, and a log file when asked).
    """

    def __init__(self, streams: Sequence[TextIO] | None = None) -> None:
        self._streams = list(streams) if streams is not None else [sys.stderr]

    def event(self, name: str, **fields: object) -> None:
        line = json.dumps(
            {"time": clock_now().isoformat(), "event": name, **fields},
            ensure_ascii=False,
        )
        for stream in self._streams:
            print(line, file=stream, flush=True)

    def article_error(self, message: str) -> None:
        self.event("article-skipped", message=message)

    def note(self, message: str) -> None:
        self.event("note", message=message)

    def planned(self, total: int) -> None:
        self.event("planned", urls=total)

    def done(self, status: LinkStatus) -> None:
        record = status.record
        self.event(
            "checked",
            url=status.url,
            outcome=str(status.outcome),
            reason=status.reason,
            http_status=status.http_status,
            attempts=status.attempts,
            warc_file=record.warc_file if record else None,
            warc_offset=record.offset if record else None,
        )


class RichReporter:
    """A live progress bar on a terminal; only problems are printed above it."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("[bold]archiving"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[dead]} dead"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task: TaskID | None = None
        self._dead = 0

    def __enter__(self) -> RichReporter:
        self._progress.start()
        self._task = self._progress.add_task("urls", total=None, dead=0)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def article_error(self, message: str) -> None:
        self._console.print(f"[yellow]skipped article:[/] {message}", markup=True)

    def note(self, message: str) -> None:
        self._console.print(message, markup=False, highlight=False)

    def planned(self, total: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, total=total)

    def done(self, status: LinkStatus) -> None:
        if status.outcome is Outcome.DEAD:
            self._dead += 1
            self._console.print(
                f"[red]dead[/] {status.url} ({status.reason})",
                markup=True,
                highlight=False,
            )
        if self._task is not None:
            self._progress.update(self._task, advance=1, dead=self._dead)


def summary_lines(summary: RunSummary, *, proxy: str | None = None) -> list[str]:
    """The end-of-run summary, one screen at most, plain text."""
    total = len(summary.statuses)
    rate = total / summary.elapsed if summary.elapsed > 0 else 0.0
    lines = [
        f"articles: {summary.articles} read, {len(summary.skipped_articles)} skipped",
        f"URLs: {total} distinct, {summary.count(Outcome.ALIVE)} alive, "
        f"{summary.count(Outcome.DEAD)} dead, "
        f"{summary.count(Outcome.BLOCKED)} blocked, "
        f"{summary.count(Outcome.ERROR)} error",
    ]
    for outcome in (Outcome.DEAD, Outcome.BLOCKED, Outcome.ERROR):
        reasons = summary.by_reason(outcome)
        if reasons:
            listed = ", ".join(f"{k} {v}" for k, v in reasons.items())
            lines.append(f"  {outcome}: {listed}")
    not_fetched = {
        o: summary.count(o)
        for o in (Outcome.SKIPPED, Outcome.INVALID, Outcome.REFUSED_PRIVATE)
    }
    lines.append(
        "not fetched: " + ", ".join(f"{v} {k}" for k, v in not_fetched.items())
    )
    lines.append(
        f"archived: {_size(summary.bytes)} of bodies in "
        f"{len(summary.warc_files)} WARC file(s)"
    )
    report = summary.requisites
    if report is not None:
        lines.append(
            f"pages: {len(report.pages)} searched for requisites, "
            f"{report.complete} captured complete, {report.partial} partial"
        )
        lines.append(
            f"requisites: {len(report.lines)} distinct, "
            f"{report.count(RequisiteOutcome.ARCHIVED)} archived, "
            f"{report.count(RequisiteOutcome.FAILED)} failed, "
            f"{report.count(RequisiteOutcome.REFUSED_PRIVATE)} refused-private, "
            f"{report.count(RequisiteOutcome.NOT_FETCHED)} not fetched"
        )
    lines.append(f"time: {summary.elapsed:.1f}s, {rate:.1f} URLs/s")
    lines.append(f"manifest: {summary.manifest}")
    lines.append(f"dead links: {summary.dead_links}")
    if summary.requisites_file is not None:
        lines.append(f"requisites: {summary.requisites_file}")
    if summary.offline and proxy is not None:
        # Through a proxy, every failure is the proxy's first: name it.
        lines.append(
            f"NETWORK UNAVAILABLE: no host could be reached through the proxy "
            f"{proxy} (--proxy). Is it running and reachable? No link was "
            "marked dead."
        )
    elif summary.offline:
        lines.append(
            "NETWORK UNAVAILABLE: no host could be reached (every name failed to "
            "resolve or every connection failed). This machine looks offline; "
            "no link was marked dead. Check the network and run again."
        )
    return lines


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def choose_reporter(
    log_format: str, streams: list[TextIO] | None = None
) -> PlainReporter | RichReporter | JsonReporter:
    """The progress bar on a terminal, JSON lines to files and cron, else plain."""
    console = Console(stderr=True)
    to_file = streams is not None and len(streams) > 1
    if log_format == "json" or (
        log_format == "auto" and streams and (to_file or not console.is_terminal)
    ):
        return JsonReporter(streams)
    if log_format == "auto" and console.is_terminal:
        return RichReporter(console)
    return PlainReporter()


def exit_code(summary: RunSummary, fail_on_dead: bool) -> ExitCode:
    """The exit code a finished run ends with."""
    if summary.offline:
        return ExitCode.NETWORK_UNAVAILABLE
    if fail_on_dead and summary.count(Outcome.DEAD):
        return ExitCode.DEAD_LINKS
    return ExitCode.OK
