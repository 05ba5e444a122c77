"""Debian's headless Chromium, driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` makes Chromium read protocol commands from file
descriptor 3 and write answers and events to descriptor 4, one JSON message
per NUL byte. A pipe needs no port (nothing else on the machine can drive
the browser) and no websocket library. The browser is the one the system
provides, found on PATH; archiver never downloads a browser build.

Every failure of the browser is an exception of this module's tree, caught
by the page driver (:mod:`archiver.browser.page`) and turned into a value:

* BrowserError        base
  + BrowserUnavailable  no executable, or it would not start
  + BrowserCrashed      the process (or the page's renderer) died
  + ProtocolFailure     the browser answered a command with an error
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import trio

EXECUTABLES: Final = ("chromium", "chromium-browser")
START_TIMEOUT: Final = 30.0
# Flags for a headless browser that talks to nothing but our proxy: no
# sandbox (the tests and cron run it as root), no GPU, no QUIC (the proxy
# speaks HTTP/1.1 over TCP), none of Chromium's own background traffic.
FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-features=Translate,MediaRouter,OptimizationHints,HttpsUpgrades",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,800",
    "--remote-debugging-pipe",
)

Message = dict[str, Any]


# What a memory channel raises once its other end is closed.
_GONE = (trio.BrokenResourceError, trio.ClosedResourceError)


class BrowserError(Exception):
    """Base of the browser stage's failures."""


class BrowserUnavailable(BrowserError):
    """There is no Chromium to run, or it would not start."""


class BrowserCrashed(BrowserError):
    """The browser process, or the renderer of the page, went away."""


class ProtocolFailure(BrowserError):
    """The browser answered a DevTools command with an error."""


def find_executable(name: str | None = None) -> str | None:
    """The Chromium to run: ``name`` (a path or a command), else one on PATH."""
    for candidate in (name,) if name else EXECUTABLES:
        found = shutil.which(candidate)
        if found is not None:
            return found
    return None


class Chromium:
    """One Chromium process and its DevTools pipe; ``async with`` owns both.

    Args:
        executable: the program to run.
        flags: extra command-line flags (certificate trust, memory limit).
        scratch: a folder for the throwaway profile, removed on exit.
    """

    def __init__(self, executable: str, flags: Sequence[str], scratch: Path) -> None:
        self._executable = executable
        self._flags = tuple(flags)
        self._scratch = scratch
        self._profile: Path | None = None
        self._process: _Child | None = None
        self._writer: trio.lowlevel.FdStream | None = None
        self._send_lock = trio.Lock()
        self._next_id = 0
        self._waiting: dict[int, trio.MemorySendChannel[Message]] = {}
        self._sessions: dict[str, trio.MemorySendChannel[Message]] = {}
        self._nursery: trio.Nursery | None = None
        self.dead = False
        self.version = ""

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self, nursery: trio.Nursery) -> None:
        """Launch the browser; its pipe is read by a task in ``nursery``.

        Raises BrowserUnavailable when it cannot be run or does not answer.
        """
        self._nursery = nursery
        try:
            await self._start()
        except BaseException:
            await self.aclose()
            raise

    async def _start(self) -> None:
        assert self._nursery is not None  # noqa: S101 - set by start()
        self._profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=self._scratch))
        commands_read, commands_write = os.pipe()
        answers_read, answers_write = os.pipe()
        args = [
            self._executable,
            *FLAGS,
            *self._flags,
            f"--user-data-dir={self._profile}",
            "about:blank",
        ]
        log = os.open(self._profile / "chromium.log", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            # Chromium wants the pipe on descriptors 3 and 4 exactly, which
            # posix_spawn arranges in the child (safe with threads running,
            # unlike a preexec_fn); everything else of ours stays closed.
            self._process = _Child(
                os.posix_spawn(  # noqa: ASYNC221 - returns once the child exists
                    self._executable,
                    args,
                    dict(os.environ),
                    file_actions=[
                        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                        (os.POSIX_SPAWN_DUP2, log, 1),
                        (os.POSIX_SPAWN_DUP2, log, 2),
                        (os.POSIX_SPAWN_DUP2, commands_read, 3),
                        (os.POSIX_SPAWN_DUP2, answers_write, 4),
                    ],
                    setsid=True,
                )
            )
        except OSError as exc:
            for fd in (commands_write, answers_read):
                os.close(fd)
            raise BrowserUnavailable(f"{self._executable}: cannot run: {exc}") from exc
        finally:
            for fd in (log, commands_read, answers_write):  # the child's now
                os.close(fd)
        self._writer = trio.lowlevel.FdStream(commands_write)
        reader = trio.lowlevel.FdStream(answers_read)
        self._nursery.start_soon(self._read, reader)
        try:
            with trio.fail_after(START_TIMEOUT):
                answer = await self.send("Browser.getVersion")
        except (trio.TooSlowError, BrowserError) as exc:
            raise BrowserUnavailable(
                f"{self._executable} did not start: {self.log_tail() or exc}"
            ) from exc
        self.version = str(answer.get("product", ""))

    def log_tail(self) -> str:
        """The last line Chromium wrote to its log, for a failure's message."""
        if self._profile is None:
            return ""
        try:
            text = (self._profile / "chromium.log").read_text(errors="replace")
        except OSError:
            return ""
        lines = [line for line in text.splitlines() if line.strip()]
        return lines[-1][-300:] if lines else ""

    async def _read(self, reader: trio.lowlevel.FdStream) -> None:
        buffer = bytearray()
        try:
            async with reader:
                while True:
                    try:
                        data = await reader.receive_some(1 << 20)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        data = b""
                    if not data:
                        return
                    buffer += data
                    while (end := buffer.find(b"\0")) >= 0:
                        raw = bytes(buffer[:end])
                        del buffer[: end + 1]
                        self._dispatch(json.loads(raw))
        finally:
            self._mark_dead()

    def _dispatch(self, message: Message) -> None:
        ident = message.get("id")
        if isinstance(ident, int):
            waiter = self._waiting.pop(ident, None)
            if waiter is not None:
                # The caller may have given up (its deadline passed) and
                # closed its end: an answer nobody waits for is dropped.
                with contextlib.suppress(*_GONE):
                    waiter.send_nowait(message)
            return
        session = message.get("sessionId")
        channel = self._sessions.get(session) if isinstance(session, str) else None
        if channel is not None:
            try:
                channel.send_nowait(message)
            except _GONE:
                # The page's reader is gone: its session's events go nowhere.
                self._sessions.pop(str(session), None)

    def _mark_dead(self) -> None:
        self.dead = True
        for waiter in self._waiting.values():
            waiter.close()
        self._waiting.clear()
        for channel in self._sessions.values():
            channel.close()
        self._sessions.clear()

    async def send(
        self, method: str, params: Message | None = None, session: str | None = None
    ) -> Message:
        """Send one command and return its result, or raise a BrowserError."""
        if self.dead or self._writer is None:
            raise BrowserCrashed("the browser is not running")
        self._next_id += 1
        ident = self._next_id
        message: Message = {"id": ident, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        send, receive = trio.open_memory_channel[Message](1)
        self._waiting[ident] = send
        try:
            async with self._send_lock:
                await self._writer.send_all(json.dumps(message).encode() + b"\0")
            answer = await receive.receive()
        except (trio.BrokenResourceError, trio.ClosedResourceError, trio.EndOfChannel):
            raise BrowserCrashed(f"the browser went away during {method}") from None
        finally:
            self._waiting.pop(ident, None)
        error = answer.get("error")
        if error is not None:
            raise ProtocolFailure(f"{method}: {error.get('message', error)}")
        result = answer.get("result", {})
        return result if isinstance(result, dict) else {}

    def events(self, session: str) -> trio.MemoryReceiveChannel[Message]:
        """Every event of ``session`` from now on (closed if the browser dies)."""
        send, receive = trio.open_memory_channel[Message](math.inf)
        if self.dead:
            send.close()
        else:
            self._sessions[session] = send
        return receive

    def forget(self, session: str) -> None:
        channel = self._sessions.pop(session, None)
        if channel is not None:
            channel.close()

    def kill(self) -> None:
        """End the process at once (a hung browser, or a test playing a crash)."""
        if self._process is not None and self._process.returncode is None:
            # The whole process group: renderers and helpers go with it.
            self._process.kill()

    async def aclose(self) -> None:
        """Close the browser (politely, then by force) and remove its profile."""
        with trio.CancelScope(shield=True):
            if self._writer is not None:
                if self._process is not None and self._process.returncode is None:
                    with trio.move_on_after(2):
                        with contextlib.suppress(BrowserError):
                            await self.send("Browser.close")
                await self._writer.aclose()
            if self._process is not None:
                with trio.move_on_after(5):
                    await self._process.wait()
                self.kill()
                with trio.move_on_after(10):
                    await self._process.wait()
            self._mark_dead()
            if self._profile is not None:
                shutil.rmtree(self._profile, ignore_errors=True)


class _Child:
    """A process we spawned: its pid, and waiting for it without a thread.

    (trio.Process cannot place descriptors at fixed numbers in the child.)
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def kill(self) -> None:
        """SIGKILL its whole process group: renderers and helpers go with it."""
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)

    def _reap(self) -> bool:
        try:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.returncode = -1
            return True
        if pid == 0:
            return False
        self.returncode = os.waitstatus_to_exitcode(status)
        return True

    async def wait(self) -> None:
        if self.returncode is not None or self._reap():
            return
        pidfd = os.pidfd_open(self.pid)
        try:
            while not self._reap():
                await trio.lowlevel.wait_readable(pidfd)
        finally:
            os.close(pidfd)
