"""Render one page: load it, let it settle, scroll, then keep what it showed.

The steps are Browsertrix's and Perma.cc's: navigate; wait until the load
event and then until the network has been quiet for a moment (both bounded,
because some pages never stop fetching); scroll to the bottom so lazy
images load, and wait for quiet again; then take a full-page PNG screenshot
and the DOM as the page's script left it. Every page gets a browser context
of its own (no cookies or cache shared between pages) whose proxy is the
page's own recording proxy, so each request is known to belong to it.

The time limit bounds waiting, not keeping: when it passes, the page is
kept as it is then (``PageCapture.complete`` is False). Only a page that
cannot be captured at all (its renderer crashed or hung, the browser died)
is a :class:`PageFailure`.
"""

from __future__ import annotations

import base64
import contextlib
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import trio

from archiver.browser.chromium import (
    BrowserCrashed,
    BrowserError,
    Chromium,
    Message,
    ProtocolFailure,
)
from archiver.clock import now as clock_now

QUIET: Final = 0.5  # seconds without a request in flight that count as settled
SCROLL_STEPS: Final = 10
MAX_SCREENSHOT_HEIGHT: Final = 16_384  # taller pages are cut (a PNG limit in practice)
CAPTURE_TIME: Final = 15.0  # for the screenshot and the DOM, after the waiting
SETUP_TIME: Final = 15.0  # for opening and closing the page's browser context


@dataclass(frozen=True, slots=True, kw_only=True)
class PageCapture:
    """What a page looked like in the browser."""

    url: str  # as asked for
    final_url: str  # where the browser ended (after redirects and script)
    title: str
    screenshot: bytes  # PNG, the whole page (up to MAX_SCREENSHOT_HEIGHT)
    dom: bytes  # the rendered DOM serialised, UTF-8
    started: datetime
    loaded: bool  # the load event fired
    complete: bool  # the network went quiet before the time limit
    browser: str  # the browser's product string, e.g. Chrome/156.0...


@dataclass(frozen=True, slots=True, kw_only=True)
class PageFailure:
    """Why a page could not be captured in the browser; the manifest says so."""

    message: str
    crashed: bool  # the browser or the renderer died: worth a fresh browser


_DOM_SCRIPT: Final = (
    "(() => { const d = document.doctype; const t = d ? '<!DOCTYPE ' + d.name + '>' "
    ": ''; return t + document.documentElement.outerHTML; })()"
)
_SCROLL_SCRIPT: Final = (
    "(async () => { for (let i = 0; i < "
    + str(SCROLL_STEPS)
    + "; i++) { window.scrollBy(0, window.innerHeight); "
    "await new Promise(r => setTimeout(r, 100)); "
    "if (window.innerHeight + window.scrollY >= document.body.scrollHeight) break; }"
    " window.scrollTo(0, 0); })()"
)


async def render(
    browser: Chromium, url: str, proxy_port: int, *, time_limit: float
) -> PageCapture | PageFailure:
    """Capture ``url`` in ``browser`` through the proxy on ``proxy_port``.

    Never raises a browser failure and never takes much longer than
    ``time_limit`` plus the capture time: a browser that stops answering
    altogether is given up on (and reported as crashed, to be replaced).
    """
    with trio.move_on_after(time_limit + CAPTURE_TIME + SETUP_TIME):
        try:
            return await _render(browser, url, proxy_port, time_limit)
        except BrowserCrashed as exc:
            return PageFailure(message=str(exc), crashed=True)
        except ProtocolFailure as exc:
            return PageFailure(message=f"the browser refused: {exc}", crashed=False)
        except trio.TooSlowError:
            return PageFailure(
                message=f"the page did not answer the browser within {time_limit:g} s "
                f"plus {CAPTURE_TIME:g} s (its renderer hung)",
                crashed=True,
            )
    return PageFailure(message="the browser stopped answering (it hung)", crashed=True)


async def _render(
    browser: Chromium, url: str, proxy_port: int, time_limit: float
) -> PageCapture | PageFailure:
    started = clock_now()
    context = await browser.send(
        "Target.createBrowserContext",
        {
            "proxyServer": f"http://127.0.0.1:{proxy_port}",
            # Chromium sends loopback addresses around a proxy unless told not to.
            "proxyBypassList": "<-loopback>",
        },
    )
    context_id = context["browserContextId"]
    try:
        target = await browser.send(
            "Target.createTarget",
            {"url": "about:blank", "browserContextId": context_id},
        )
        attached = await browser.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        session = str(attached["sessionId"])
        events = browser.events(session)
        try:
            return await _load_and_keep(
                browser, session, events, url, started, time_limit
            )
        finally:
            browser.forget(session)
    finally:
        # (a dead browser has no contexts left to dispose of)
        with (
            trio.CancelScope(shield=True),
            trio.move_on_after(5),
            contextlib.suppress(BrowserError),
        ):
            await browser.send(
                "Target.disposeBrowserContext", {"browserContextId": context_id}
            )


async def _load_and_keep(
    browser: Chromium,
    session: str,
    events: trio.MemoryReceiveChannel[Message],
    url: str,
    started: datetime,
    time_limit: float,
) -> PageCapture | PageFailure:
    watch = _Watch()
    outcome: PageCapture | PageFailure | BrowserError | trio.TooSlowError
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch.follow, events)
        # Failures are taken out of the nursery as values: raised in it, they
        # would come out wrapped in an exception group.
        outcome = BrowserCrashed("the page's renderer crashed")
        # A crash cancels the steps at once: a dead page answers no command.
        with trio.CancelScope() as watch.steps:
            try:
                outcome = await _steps(
                    browser, session, watch, url, started, time_limit
                )
            except (BrowserError, trio.TooSlowError) as exc:
                outcome = exc
        nursery.cancel_scope.cancel()
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def _steps(
    browser: Chromium,
    session: str,
    watch: _Watch,
    url: str,
    started: datetime,
    time_limit: float,
) -> PageCapture | PageFailure:
    for domain in ("Inspector", "Page", "Network", "Runtime"):
        await browser.send(f"{domain}.enable", session=session)
    complete = False
    with trio.move_on_after(time_limit):
        navigation = await browser.send("Page.navigate", {"url": url}, session)
        error = navigation.get("errorText")
        if error:
            return PageFailure(
                message=f"the browser could not load the page: {error}",
                crashed=False,
            )
        await watch.loaded.wait()
        await watch.settled()
        await _evaluate(browser, session, _SCROLL_SCRIPT)
        await watch.settled()
        complete = True
    with trio.fail_after(CAPTURE_TIME):
        if watch.crashed:
            raise BrowserCrashed("the page's renderer crashed")
        metrics = await browser.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
        width = max(1, math.ceil(size.get("width", 1280)))
        height = max(1, min(math.ceil(size.get("height", 800)), MAX_SCREENSHOT_HEIGHT))
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = await browser.send(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
            session,
        )
        dom = await _evaluate(browser, session, _DOM_SCRIPT)
        title = await _evaluate(browser, session, "document.title")
        final_url = await _evaluate(browser, session, "location.href")
    if watch.crashed:
        raise BrowserCrashed("the page's renderer crashed")
    return PageCapture(
        url=url,
        final_url=str(final_url or url),
        title=str(title or ""),
        screenshot=base64.b64decode(shot.get("data", "")),
        dom=str(dom or "").encode("utf-8", errors="replace"),
        started=started,
        loaded=watch.loaded.is_set(),
        complete=complete,
        browser=browser.version,
    )


async def _evaluate(browser: Chromium, session: str, expression: str) -> object:
    answer = await browser.send(
        "Runtime.evaluate",
        {"expression": expression, "returnByValue": True, "awaitPromise": True},
        session,
    )
    if "exceptionDetails" in answer:
        return None
    return answer.get("result", {}).get("value")


class _Watch:
    """Follows a page's events: load, requests in flight, a renderer crash."""

    def __init__(self) -> None:
        self.loaded = trio.Event()
        self.crashed = False
        self.steps: trio.CancelScope | None = None
        self._in_flight: set[str] = set()
        self._changed = trio.Event()

    async def follow(self, events: trio.MemoryReceiveChannel[Message]) -> None:
        async with events:
            async for event in events:
                method = event.get("method")
                params = event.get("params", {})
                if method == "Page.loadEventFired":
                    self.loaded.set()
                elif method == "Network.requestWillBeSent":
                    self._in_flight.add(str(params.get("requestId")))
                elif method in ("Network.loadingFinished", "Network.loadingFailed"):
                    self._in_flight.discard(str(params.get("requestId")))
                elif method in ("Inspector.targetCrashed", "Inspector.detached"):
                    self._crash()
                else:
                    continue
                self._changed.set()
                self._changed = trio.Event()
        # The browser is gone: nothing will load any more.
        self._crash()
        self._changed.set()

    def _crash(self) -> None:
        self.crashed = True
        self.loaded.set()
        if self.steps is not None:
            self.steps.cancel()

    async def settled(self) -> None:
        """Return once no request has been in flight for QUIET seconds."""
        while not self.crashed:
            if self._in_flight:
                await self._changed.wait()
                continue
            with trio.move_on_after(QUIET) as quiet:
                await self._changed.wait()
            if quiet.cancelled_caught and not self._in_flight:
                return
