"""Network namespaces for tests of workers on separate "machines".

Each namespace has its own loopback and one veth link to a bridge in the
test's namespace, which holds the one address every namespace can reach
(``Namespaces.host``): the fake web listens there, and so does a small TCP
forwarder to the PostgreSQL server on 127.0.0.1 (which need not be told to
listen anywhere else). Names carry a random tag, so tests running at once
never share a namespace, and everything made is removed at the end.

Needs root and ``ip``; without them the tests that ask are skipped, saying why.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest


@dataclass(frozen=True, slots=True)
class Namespaces:
    names: tuple[str, ...]
    host: str  # the bridge's address, reachable from every namespace

    def command(self, index: int, *argv: str) -> list[str]:
        """``argv`` run inside namespace ``index``."""
        return ["ip", "netns", "exec", self.names[index], *argv]


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextmanager
def namespaces(count: int) -> Iterator[Namespaces]:
    """``count`` namespaces bridged to this one; removed when the block ends."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and the ip command")
    tag = f"{random.getrandbits(20):05x}"
    subnet = f"10.{200 + random.randrange(50)}.{random.randrange(250)}"
    bridge = f"awb{tag}"
    names = tuple(f"archiver-{tag}-{n}" for n in range(count))
    made: list[str] = []
    try:
        try:
            _ip("link", "add", bridge, "type", "bridge")
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"cannot make a bridge: {exc.stderr.decode().strip()}")
        _ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for n, name in enumerate(names):
            _ip("netns", "add", name)
            made.append(name)
            outside, inside = f"aw{tag}h{n}", f"aw{tag}n{n}"
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", outside, "master", bridge)
            _ip("link", "set", outside, "up")
            _ip("link", "set", inside, "netns", name)
            _ip("-n", name, "addr", "add", f"{subnet}.{10 + n}/24", "dev", inside)
            _ip("-n", name, "link", "set", inside, "up")
            _ip("-n", name, "link", "set", "lo", "up")
        yield Namespaces(names=names, host=f"{subnet}.1")
    finally:
        for name in made:
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", name)  # its veth ends go with it
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", bridge)


@contextmanager
def forwarded(address: str, target: tuple[str, int]) -> Iterator[int]:
    """Listen on ``address`` (a free port, returned) and relay to ``target``."""
    listener = socket.create_server((address, 0))
    port = int(listener.getsockname()[1])
    stop = threading.Event()

    def pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def relay(client: socket.socket) -> None:
        with client, socket.create_connection(target) as server:
            back = threading.Thread(target=pump, args=(server, client), daemon=True)
            back.start()
            pump(client, server)
            back.join()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=relay, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield port
    finally:
        stop.set()
        listener.close()
