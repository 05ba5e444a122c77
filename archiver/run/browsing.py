"""The browser stage of a run: which pages to render, and rendering them.

Plain capture comes first for every URL. A page that needs a browser (all
HTML pages with ``--browser always``; with ``auto`` the signals of
:mod:`archiver.crawl.scripted`) is queued here instead of going straight
to the recorder, and ``tabs`` tasks render the queue in one Chromium, each
page behind a recording proxy of its own whose every request is sent by the
run's fetcher (SSRF guard, politeness, raw spooling) and handed to the
recorder as a :class:`Proxied`. When the page is done, its plain capture
goes to the recorder with what the browser made of it (a
:class:`Rendered`): screenshot, DOM and a note of its traffic.

The queue never blocks a plain-capture worker, so hosts that need no
browser are fetched at full speed while pages render. A crashed or hung
browser is replaced and the page tried once more; a page that still fails
is marked ``browser-failed`` and the run goes on.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final

import trio

from archiver import bodies
from archiver.browser import page
from archiver.browser.chromium import BrowserUnavailable, Chromium, find_executable
from archiver.browser.proxy import Exchange, ProxyRequest, ProxyStats, RecordingProxy
from archiver.browser.settings import BrowserMode, BrowserSettings
from archiver.crawl.fetch import Fetcher
from archiver.crawl.scripted import is_html, needs_script
from archiver.errors import UsageError
from archiver.models import FetchFailure, FetchResult, Hop, LinkStatus

if TYPE_CHECKING:  # cryptography loads only when a page is rendered
    from archiver.browser.ca import RunCA

MISSING_BROWSER: Final = (
    "browser capture is off: no chromium on PATH (install Debian's chromium "
    "package); pages that need JavaScript are captured as plain HTTP only"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Proxied:
    """A request a page made in the browser, and its answer or refusal."""

    page: str
    exchange: Exchange


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """A page's plain capture, and what the browser made of it."""

    result: FetchResult
    why: str  # why the page was rendered
    capture: page.PageCapture | None
    failure: page.PageFailure | None
    stats: ProxyStats
    tries: int

    def fields(self) -> list[tuple[str, str]]:
        """The page's metadata record: how it was rendered and what it asked for."""
        out = [("rendered-because", self.why), ("browser-tries", str(self.tries))]
        if self.capture is not None:
            out += [
                ("browser", self.capture.browser),
                ("final-url", self.capture.final_url),
                ("title", self.capture.title),
                ("load-event", "yes" if self.capture.loaded else "no"),
                ("settled", "yes" if self.capture.complete else "no (time limit)"),
            ]
        if self.failure is not None:
            out.append(("browser-failed", self.failure.message))
        stats = self.stats
        out += [
            ("requests", str(stats.requests)),
            ("over-limit", str(stats.over_limit)),
        ]
        out += [("refused", f"{url} {why}") for url, why in stats.refused]
        out += [("failed", f"{url} {why}") for url, why in stats.failed]
        return out

    def resources(self) -> list[tuple[str, str, bytes]]:
        if self.capture is None:
            return []
        url = self.result.target.url
        return [
            (f"urn:screenshot:{url}", "image/png", self.capture.screenshot),
            (f"urn:dom:{url}", "text/html; charset=utf-8", self.capture.dom),
        ]


def judged(status: LinkStatus, rendered: Rendered) -> LinkStatus:
    """The link's status once the browser has had its say."""
    if rendered.failure is not None:
        from archiver.run.classify import REASONS

        reason = REASONS["browser-failed"]
        return replace(
            status,
            outcome=reason.outcome,
            reason="browser-failed",
            detail=reason.sentence.format(message=rendered.failure.message),
        )
    stats = rendered.stats
    note = f"; rendered in a browser ({rendered.why}): {stats.requests} requests"
    if stats.refused:
        note += f", {len(stats.refused)} refused"
    if rendered.capture is not None and not rendered.capture.complete:
        note += ", kept at the time limit"
    return replace(status, detail=status.detail + note)


class BrowserStage:
    """The queue of pages to render and the tasks that render them."""

    def __init__(
        self,
        settings: BrowserSettings,
        executable: str,
        fetcher: Fetcher,
        send: trio.MemorySendChannel[Proxied | Rendered],
        scratch: Path,
    ) -> None:
        self.settings = settings
        self._executable = executable
        self._fetcher = fetcher
        self._send = send
        self._scratch = scratch
        self._made_ca: RunCA | None = None  # made for the first page rendered
        self._queue_send, self._queue_receive = trio.open_memory_channel[
            tuple[FetchResult, str]
        ](math.inf)
        self._browser: Chromium | None = None
        self._launch_lock = trio.Lock()
        self._unavailable: str | None = None
        self._nursery: trio.Nursery | None = None

    def wants(self, result: FetchResult) -> str | None:
        """Why ``result``'s page should be rendered, or None."""
        if self.settings.mode is BrowserMode.ALWAYS:
            return "--browser always" if is_html(result) else None
        return needs_script(result, self.settings.hosts)

    def queue(self, result: FetchResult, why: str) -> None:
        """Render ``result``'s page later; never blocks (the queue is unbounded)."""
        self._queue_send.send_nowait((result, why))

    def close_queue(self) -> None:
        """No more pages will come: the tabs finish what is queued, then end."""
        self._queue_send.close()

    @property
    def _ca(self) -> RunCA:
        """The run's CA, made when first needed: most runs render no page.

        Made on first use, so a run that renders nothing never loads
        cryptography (some 8 MB of a crawl's memory).
        """
        if self._made_ca is None:
            from archiver.browser.ca import RunCA

            self._made_ca = RunCA(self._scratch)
        return self._made_ca

    def close_ca(self) -> None:
        if self._made_ca is not None:
            self._made_ca.close()

    async def run(self, nursery: trio.Nursery) -> None:
        """Render the queue until it is closed and empty; then close the browser.

        ``nursery`` (this task's own) also runs the browser's pipe reader,
        which ends when the browser is closed.
        """
        self._nursery = nursery
        try:
            async with self._queue_receive, trio.open_nursery() as tabs:
                for _ in range(self.settings.tabs):
                    tabs.start_soon(self._tab, self._queue_receive.clone())
        finally:
            if self._browser is not None:
                await self._browser.aclose()

    async def _tab(
        self, queue: trio.MemoryReceiveChannel[tuple[FetchResult, str]]
    ) -> None:
        async with queue:
            async for result, why in queue:
                await self._send.send(await self._render(result, why))

    async def _render(self, result: FetchResult, why: str) -> Rendered:
        url = result.target.url
        outcome: page.PageCapture | page.PageFailure = page.PageFailure(
            message="not rendered", crashed=False
        )
        stats = ProxyStats()
        tries = 0
        for tries in (1, 2):  # noqa: B007 - the count is reported
            try:
                browser = await self._live_browser()
            except BrowserUnavailable as exc:
                outcome = page.PageFailure(message=str(exc), crashed=False)
                break
            proxy = RecordingProxy(
                self._forward,
                self._recorder_for(url),
                self._ca,
                max_requests=self.settings.max_requests,
            )
            async with trio.open_nursery() as nursery:
                port = await nursery.start(proxy.serve)
                outcome = await page.render(
                    browser, url, port, time_limit=self.settings.page_time
                )
                nursery.cancel_scope.cancel()
            stats = proxy.stats
            if isinstance(outcome, page.PageCapture) or not outcome.crashed:
                break
            await self._retire(browser)
        return Rendered(
            result=result,
            why=why,
            capture=outcome if isinstance(outcome, page.PageCapture) else None,
            failure=outcome if isinstance(outcome, page.PageFailure) else None,
            stats=stats,
            tries=tries,
        )

    async def _forward(self, request: ProxyRequest) -> Hop | FetchFailure:
        return await self._fetcher.forward(
            request.method, request.url, request.headers, request.body
        )

    def _recorder_for(self, url: str) -> Callable[[Exchange], Awaitable[None]]:
        async def record(exchange: Exchange) -> None:
            try:
                await self._send.send(Proxied(page=url, exchange=exchange))
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                if exchange.response is not None:
                    bodies.discard(exchange.response.body)

        return record

    async def _live_browser(self) -> Chromium:
        async with self._launch_lock:
            if self._unavailable is not None:
                raise BrowserUnavailable(self._unavailable)
            if self._browser is not None and not self._browser.dead:
                return self._browser
            if self._browser is not None:
                await self._browser.aclose()
            assert self._nursery is not None  # noqa: S101 - set by run()
            browser = Chromium(self._executable, self._flags(), self._scratch)
            try:
                await browser.start(self._nursery)
            except BrowserUnavailable as exc:
                self._unavailable = str(exc)
                raise
            self._browser = browser
            return browser

    async def _retire(self, browser: Chromium) -> None:
        """A browser that crashed or hung is ended, so the next page gets a new one."""
        async with self._launch_lock:
            if self._browser is browser:
                self._browser = None
        await browser.aclose()

    def _flags(self) -> list[str]:
        return [
            # Trust the proxy's certificates, and only those: the hash of the
            # one key every certificate of this run's CA carries.
            f"--ignore-certificate-errors-spki-list={self._ca.spki_hash}",
            # Traffic outside a page's context has nowhere to go.
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            f"--js-flags=--max-old-space-size={self.settings.memory_mb}",
        ]


@contextlib.asynccontextmanager
async def stage(
    settings: BrowserSettings,
    fetcher: Fetcher,
    send: trio.MemorySendChannel[Proxied | Rendered],
    scratch: Path,
    note: Callable[[str], None],
) -> AsyncIterator[BrowserStage | None]:
    """The run's browser stage while the body runs, and until its queue is done.

    Yields None when no page is to be rendered: ``--browser never``, or no
    Chromium on the machine with ``auto`` (said once through ``note``).
    With ``always`` and no Chromium it raises :class:`UsageError`. The
    browser is started only when the first page needs it.
    """
    async with send:
        if settings.mode is BrowserMode.NEVER:
            yield None
            return
        executable = find_executable(settings.executable)
        if executable is None:
            if settings.mode is BrowserMode.ALWAYS:
                raise UsageError(missing_browser(settings))
            note(MISSING_BROWSER)
            yield None
            return
        browsers = BrowserStage(settings, executable, fetcher, send, scratch)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(browsers.run, nursery)
                try:
                    yield browsers
                finally:
                    browsers.close_queue()
        finally:
            browsers.close_ca()


def missing_browser(settings: BrowserSettings) -> str:
    """The one line for ``--browser always`` without a Chromium to run."""
    name = settings.executable or "chromium"
    return (
        f"--browser always: no {name} to run (install Debian's chromium package, "
        "or use --browser auto to capture without it)"
    )
