"""Fetch one target hop by hop, spooling raw response bodies to disk.

This is the only module that catches httpx's exceptions: every network
problem becomes a ``FetchFailure`` value, so one bad URL can never escape into
the nursery and end the run. Bodies are kept as they came off the wire
(content-encoding intact) because that is what a WARC response record holds.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ssl
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar, cast
from urllib.parse import SplitResult, urlsplit

import httpx
import trio

from archiver.bodies import MEMORY_LIMIT
from archiver.clock import Clock, now as clock_now
from archiver.crawl import netguard, proxysignals
from archiver.crawl.politeness import HOST_LEVEL_FAILURES, HostGate, HostHealth
from archiver.crawl.retry import Attempt, RetryPolicy, retry_after, run_with_retries
from archiver.errors import ArchiveWriteError
from archiver.models import (
    Body,
    FailureKind,
    FetchFailure,
    FetchResult,
    Hop,
    NormalizedURL,
    RawHeaders,
    Rejection,
    Target,
)
from archiver.urls import authority, hostname, normalise

E = TypeVar("E", bound=BaseException)

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SLOW_DOWN_STATUSES = frozenset({429, 503})
Resting = Callable[[], AbstractAsyncContextManager[object]]
_WRITE_BLOCK = 256 * 1024  # body bytes gathered before one write to the spool file


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchSettings:
    """Limits for each request; the CLI's fetch options land here."""

    timeout: float = 30.0  # connect, read and write timeout, per operation
    max_size: int = 100 * 1024 * 1024  # longer bodies are cut and marked truncated
    max_redirects: int = 10
    allow_private: bool = False
    # Non-public hosts ("host" or "host:port") fetched even without allow_private.
    private_allowed: tuple[str, ...] = ()
    proxied: bool = False  # a proxy resolves names and the peer is the proxy
    retry: RetryPolicy = RetryPolicy()
    # A server that trickles bytes never trips the per-read timeout, so each
    # attempt also has a wall-clock limit; None means max(60 s, 10 x timeout).
    max_time: float | None = None
    host_failures: int = 3  # URLs failing to connect in a row before a host is down

    @property
    def attempt_limit(self) -> float:
        if self.max_time is not None:
            return self.max_time
        return max(60.0, self.timeout * 10)


class Fetcher:
    """Turns a ``Target`` into a ``FetchResult``; one per run, shared by tasks."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        gate: HostGate,
        settings: FetchSettings,
        spool_dir: Path,
        *,
        resolver: netguard.Resolver | None = None,
        health: HostHealth | None = None,
        clock: Clock = clock_now,
    ) -> None:
        self._client = client
        self._gate = gate
        self._health = health or HostHealth(settings.host_failures)
        self._settings = settings
        self._spool_dir = spool_dir
        self._resolver = resolver or netguard.Resolver()
        self._clock = clock

    async def fetch(
        self,
        target: Target,
        *,
        policy: RetryPolicy | None = None,
        rest: Resting | None = None,
    ) -> FetchResult:
        """Follow the target's redirects, archiving-ready, and never raise.

        ``policy`` overrides the run's retry policy (a probe gets one attempt).
        ``rest`` is entered for each wait between attempts: the caller's
        scheduler may meanwhile give the host's turn to another URL (the
        wait holds no slot of the gate, so nothing else stands still).
        """
        hops: list[Hop] = []
        retried: list[Hop] = []
        waits = _Waits(retried, rest)
        attempts = 0
        visits: dict[str, int] = {}
        url: str = target.url
        failure: FetchFailure | None = None
        while True:
            visits[url] = visits.get(url, 0) + 1
            if visits[url] > 2:
                failure = _fail(FailureKind.REDIRECT_LOOP, f"redirect loop at {url}")
                break
            host, netloc = hostname(url), authority(url)
            failure = await self._guard(host, _port(urlsplit(url)))
            if failure is not None:
                break
            down = self._health.down(netloc)
            if down is not None:
                failure = _fail(
                    FailureKind.HOST_GIVEN_UP,
                    f"not tried: {netloc} failed to connect for {down.failures} "
                    f"URLs in a row in this run (last: {down.last.message})",
                    cause=down.last.kind,
                )
                break
            result, used = await run_with_retries(
                policy or self._settings.retry,
                functools.partial(self._attempt, url, host, netloc),
                waits.after,
                waits.sleep,
            )
            attempts += used
            self._health.record(
                netloc, result if isinstance(result, FetchFailure) else None
            )
            if isinstance(result, FetchFailure):
                failure = result
                break
            hops.append(result)
            if result.status not in REDIRECT_STATUSES:
                break
            next_url = _next_url(result)
            if isinstance(next_url, FetchFailure):
                failure = next_url
                break
            if len(hops) > self._settings.max_redirects:
                failure = _fail(
                    FailureKind.TOO_MANY_REDIRECTS,
                    f"more than {self._settings.max_redirects} redirects",
                )
                break
            url = next_url
        return FetchResult(
            target=target,
            hops=tuple(hops),
            attempts=attempts,
            failure=failure,
            finished=self._clock(),
            retried=tuple(retried),
        )

    async def forward(
        self, method: str, url: str, headers: RawHeaders, body: bytes
    ) -> Hop | FetchFailure:
        """Send one request as a browser made it, once, and never raise.

        The browser's recording proxy calls this for every request of a page:
        the same guard against non-public addresses, the same per-host
        politeness and the same raw spooling as :meth:`fetch`, but the
        browser's method, headers and body, and no redirects followed (the
        browser follows them) and no retries (the browser decides).
        """
        parts = urlsplit(url)
        host, netloc = parts.hostname or "", parts.netloc
        failure = await self._guard(host, _port(parts))
        if failure is not None:
            return failure
        try:
            request = self._client.build_request(
                method, url, headers=list(headers), content=body or None
            )
        except (httpx.HTTPError, ValueError, TypeError) as exc:
            return _fail(FailureKind.OTHER, f"cannot send {url}: {exc}")
        async with self._gate.slot(netloc):
            limit = self._settings.attempt_limit
            result: Attempt = _fail(
                FailureKind.TIMEOUT, f"no complete response in {limit:g}s"
            )
            with trio.move_on_after(limit):
                result = await self._exchange(url, request)
        return result

    async def _guard(self, host: str, port: int) -> FetchFailure | None:
        """Refuse hosts that are not public, before any byte is sent to them."""
        if not host:
            return _fail(FailureKind.OTHER, "URL has no host")
        literal = netguard.parse_ip(host)
        if self._settings.proxied and literal is None:
            return None  # the proxy resolves the name; we cannot see the address
        resolution = await self._resolver.resolve(host)
        if resolution.error is not None:
            # A resolver that could not be asked may answer next time; a name
            # that does not exist will not, so only the first is retried.
            kind = FailureKind.DNS if resolution.not_found else FailureKind.CONNECT
            return _fail(kind, resolution.error)
        if (
            not self._settings.allow_private
            and resolution.private
            and not netguard.is_allowed(self._settings.private_allowed, host, port)
        ):
            return _fail(
                FailureKind.PRIVATE_ADDRESS,
                netguard.describe_private(host, resolution.private[0]),
            )
        return None

    async def _attempt(self, url: str, host: str, netloc: str) -> Attempt:
        async with self._gate.slot(netloc):
            limit = self._settings.attempt_limit
            result: Attempt = _fail(
                FailureKind.TIMEOUT, f"no complete response in {limit:g}s"
            )
            with trio.move_on_after(limit):
                result = await self._exchange(url)
        if isinstance(result, Hop) and result.status in SLOW_DOWN_STATUSES:
            # The host asked to be left alone: every URL of it waits, not
            # only the one that was told.
            policy = self._settings.retry
            wait = retry_after(result) or policy.base
            self._gate.slow_down(netloc, min(wait, policy.retry_after_cap))
        return result

    async def _exchange(
        self, url: str, request: httpx.Request | None = None
    ) -> Attempt:
        if request is None:
            request = self._client.build_request("GET", url)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            return _translate(exc)
        if self._settings.proxied:
            # A plain-http URL through a proxy: the answer may be the proxy's
            # own, saying the site could not be reached (proxysignals).
            signal = proxysignals.read(response.headers.raw)
            if signal is not None:
                with contextlib.suppress(httpx.HTTPError, trio.BrokenResourceError):
                    await response.aclose()
                return _fail(
                    signal.kind, f"the proxy could not reach it: {signal.said}"
                )
        try:
            started = self._clock()
            # Now, while the connection is this response's: once the body is
            # read it goes back to the pool, and the next request's head
            # replaces this one.
            received = _received(response)
            peer = _peer_ip(response)
            if (
                not self._settings.allow_private
                and not self._settings.proxied
                and peer is not None
            ):
                address = netguard.parse_ip(peer)
                parts = urlsplit(url)
                if (
                    address is not None
                    and not netguard.is_public(address)
                    and not netguard.is_allowed(
                        self._settings.private_allowed,
                        parts.hostname or "",
                        _port(parts),
                    )
                ):
                    # The name resolved to a public address when we checked,
                    # and to this one when httpx connected (DNS rebinding).
                    host = hostname(url)
                    return _fail(
                        FailureKind.PRIVATE_ADDRESS,
                        netguard.describe_private(host, address),
                    )
            body = await self._spool(response)
        finally:
            with contextlib.suppress(httpx.HTTPError, trio.BrokenResourceError):
                await response.aclose()
        return Hop(
            url=url,
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            request_headers=tuple(request.headers.raw),
            http_version=response.http_version,
            status=response.status_code,
            reason=response.extensions.get("reason_phrase", b"").decode("latin-1"),
            response_headers=tuple(response.headers.raw),
            body=body,
            peer_ip=peer,
            started=started,
            raw_head=received.head if received else None,
            trailers=received.trailers if received else None,
        )

    async def _spool(self, response: httpx.Response) -> Body:
        """The raw body, up to ``max_size``: in memory while it is short.

        A body longer than :data:`archiver.bodies.MEMORY_LIMIT` streams on
        into a spool file, so no large body is ever held whole.
        """
        reading = _Reading(self._settings.max_size)
        # Closed here, not left to the garbage collector, when the body is
        # cut at max_size and the rest is never read.
        # (httpx annotates it as an iterator; it is an async generator.)
        raw = cast("AsyncGenerator[bytes, None]", response.aiter_raw())
        async with contextlib.aclosing(raw) as chunks:
            await reading.take(chunks, until=MEMORY_LIMIT)
            if reading.done:
                return reading.body(data=bytes(reading.buffer))
            return await self._spool_on(reading, chunks)

    async def _spool_on(self, reading: _Reading, chunks: AsyncIterator[bytes]) -> Body:
        """Write what is held to a new spool file, then the rest of the body."""
        path: Path | None = None
        try:
            fd, name = tempfile.mkstemp(dir=self._spool_dir, suffix=".body")
            path = Path(name)
            async with await trio.open_file(fd, "wb") as out:
                await reading.take(chunks, until=None, out=out)
        except OSError as exc:  # the spool's disk is full, or gone
            if path is not None:
                _remove(path)
            raise ArchiveWriteError(
                f"{self._spool_dir}: cannot spool a response body: "
                f"{exc.strerror or exc}"
            ) from exc
        except BaseException:
            if path is not None:
                _remove(path)
            raise
        return reading.body(path=path)


class _Reading:
    """One body being read: what came so far, and whether it is over."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.length = 0
        self.truncated = False
        self.complete = True
        self.done = False

    async def take(
        self,
        chunks: AsyncIterator[bytes],
        *,
        until: int | None,
        out: _Out | None = None,
    ) -> None:
        """Read on until the end, or until more than ``until`` bytes are held.

        With ``out`` (an open spool file) what is held is written on in
        blocks, and all of it by the end.
        """
        try:
            async for chunk in chunks:
                room = self.limit - self.length
                if len(chunk) > room:
                    chunk, self.truncated = chunk[:room], True
                self.buffer += chunk
                self.length += len(chunk)
                if out is not None and len(self.buffer) >= _WRITE_BLOCK:
                    await _write(out, self.buffer)
                if self.truncated:
                    break
                if until is not None and len(self.buffer) > until:
                    return
        except httpx.HTTPError:
            # The connection ended before the body did: keep what came,
            # the record says so, and the retry policy may try again.
            self.complete = False
        self.done = True
        if out is not None:
            await _write(out, self.buffer)

    def body(self, *, data: bytes = b"", path: Path | None = None) -> Body:
        return Body(
            length=self.length,
            truncated=self.truncated,
            complete=self.complete,
            path=path,
            data=data,
        )


class _Out(Protocol):
    """An open spool file (trio's wrapper of one)."""

    async def write(self, data: bytes, /) -> object: ...


async def _write(out: _Out, buffer: bytearray) -> None:
    await out.write(bytes(buffer))
    buffer.clear()


def _port(parts: SplitResult) -> int:
    try:
        port = parts.port
    except ValueError:
        port = None
    return port or (443 if parts.scheme == "https" else 80)


def _keep(retried: list[Hop], attempt: Attempt) -> None:
    """A retried attempt's response is evidence too: keep it for the archive."""
    if isinstance(attempt, Hop):
        retried.append(attempt)


def _remove(path: Path) -> None:
    # Unlinking a spool file is a metadata operation on a local disk: cheap
    # enough to do inline, even when cancellation is unwinding the task.
    path.unlink(missing_ok=True)


def _fail(
    kind: FailureKind, message: str, *, cause: FailureKind | None = None
) -> FetchFailure:
    return FetchFailure(kind=kind, message=message, cause=cause)


def _received(response: httpx.Response) -> netguard.Received | None:
    """The response's head and trailer bytes as sent, where we kept them."""
    stream = response.extensions.get("network_stream")
    return stream.received if isinstance(stream, netguard.HeadRecorder) else None


def _peer_ip(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    try:
        address = stream.get_extra_info("server_addr")
    except (OSError, AssertionError, AttributeError):
        return None
    if isinstance(address, tuple) and address:
        return str(address[0]).split("%", 1)[0]
    return None


def _next_url(hop: Hop) -> str | FetchFailure:
    locations = [v for k, v in hop.response_headers if k.lower() == b"location"]
    if not locations:
        return _fail(FailureKind.BAD_REDIRECT, f"{hop.status} without a Location")
    location = locations[0].decode("latin-1").strip()
    # Resolved against the hop's URL as a browser resolves it (WHATWG).
    resolved = normalise(location, hop.url)
    if isinstance(resolved, Rejection):
        kind = (
            FailureKind.UNSUPPORTED
            if resolved.reason.startswith("scheme-")
            else FailureKind.BAD_REDIRECT
        )
        return _fail(kind, f"redirect to {location!r}: {resolved.detail}")
    return NormalizedURL(resolved)


def _translate(exc: httpx.HTTPError) -> FetchFailure:
    """Map an httpx error to the failure kind the classifier understands.

    The kind comes from exception types only. httpx raises its own error
    ``from`` httpcore's, which is raised ``from`` trio's, which is raised
    ``from`` the OS or ssl error that says what happened: so the chain of
    causes is searched for the type, never the text for a phrase.
    """
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return _fail(FailureKind.CONNECT_TIMEOUT, f"connect timed out: {text}")
    if isinstance(exc, httpx.TimeoutException):
        return _fail(FailureKind.TIMEOUT, f"timed out: {text}")
    if _find(exc, netguard.PrivateAddressRefused) is not None:
        return _fail(FailureKind.PRIVATE_ADDRESS, text)
    refused = _find(exc, ssl.SSLCertVerificationError)
    if refused is not None:
        return _fail(FailureKind.CERTIFICATE, _describe_tls(refused))
    tls = _find(exc, ssl.SSLError)
    if tls is not None:
        return _fail(FailureKind.TLS, _describe_tls(tls))
    answered = _find(exc, proxysignals.ProxyAnswered)
    if answered is not None and answered.signal is not None:
        signal = answered.signal
        return _fail(signal.kind, f"the proxy could not reach it: {signal.said}")
    if isinstance(exc, httpx.ConnectError | httpx.ProxyError):
        if _refused(exc):
            return _fail(FailureKind.REFUSED, f"connection refused: {text}")
        return _fail(FailureKind.CONNECT, f"could not connect: {text}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return _fail(FailureKind.UNSUPPORTED, text)
    if isinstance(exc, httpx.TransportError):
        return _fail(FailureKind.RESET, f"connection failed: {text}")
    return _fail(FailureKind.OTHER, text)


def _underneath(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception under it: causes, contexts, group members.

    trio reports a failed connect as one OSError caused by a group of the
    per-address errors, so groups are opened too. Each is visited once.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e)


def _find(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of type ``kind`` under ``exc``, if any."""
    return next((e for e in _underneath(exc) if isinstance(e, kind)), None)


def _refused(exc: BaseException) -> bool:
    """Whether the connection was refused (on at least one of the addresses)."""
    return any(
        isinstance(e, ConnectionRefusedError)
        or (isinstance(e, OSError) and e.errno == errno.ECONNREFUSED)
        for e in _underneath(exc)
    )


def _describe_tls(error: ssl.SSLError) -> str:
    """What went wrong in the handshake, in ssl's words (httpx's are empty)."""
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate not trusted: {error.verify_message}"
    return error.reason or str(error) or type(error).__name__


class _Waits:
    """The waits between one URL's attempts, and what each one follows.

    A wait after a failure of the URL (a 500, a reset, a body cut short) is
    spent inside ``rest``, so the host's turn goes to another of its URLs.
    A wait after the host itself failed (refused, unreachable) or asked to be
    left alone (429, 503) keeps the turn: its other URLs would meet the same,
    and the host is given up on, or slowed down, the sooner.
    """

    def __init__(self, retried: list[Hop], rest: Resting | None) -> None:
        self._retried = retried
        self._rest = rest
        self._last: Attempt | None = None

    def after(self, attempt: Attempt) -> None:
        """The attempt the next wait follows (its response kept for the archive)."""
        self._last = attempt
        _keep(self._retried, attempt)

    async def sleep(self, seconds: float) -> None:
        if self._rest is None or not _url_level(self._last):
            await trio.sleep(seconds)
            return
        async with self._rest():
            await trio.sleep(seconds)


def _url_level(attempt: Attempt | None) -> bool:
    if isinstance(attempt, Hop):
        return attempt.status not in SLOW_DOWN_STATUSES
    return attempt is not None and attempt.kind not in HOST_LEVEL_FAILURES
