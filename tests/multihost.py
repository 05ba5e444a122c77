"""A fake web of many hosts (one port each) that counts requests in flight.

For the shared-night tests: each "host" is a server on its own port of
127.0.0.1 (the crawler's host key is the authority, port included), every
answer waits ``latency`` seconds, and the ledger keeps, per port, the most
requests that were ever in flight at once and how often each path was
asked for. ``/page/<n>`` is a small HTML page; any other path is a 404
(the probe for soft 404s asks for a made-up one).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HostLedger:
    """What every host saw; read it only once the run is over (or under lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    peaks: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    hits: Counter[tuple[int, str]] = field(default_factory=Counter)

    def arrive(self, port: int, path: str) -> None:
        with self.lock:
            self.in_flight[port] += 1
            self.peaks[port] = max(self.peaks[port], self.in_flight[port])
            self.hits[(port, path)] += 1

    def leave(self, port: int) -> None:
        with self.lock:
            self.in_flight[port] -= 1

    def page_hits(self) -> int:
        with self.lock:
            return sum(n for (_, path), n in self.hits.items() if "/page/" in path)


@dataclass
class Web:
    ports: list[int]
    ledger: HostLedger
    address: str = "127.0.0.1"

    def urls(self, per_host: int) -> list[str]:
        return [
            f"http://{self.address}:{port}/page/{n}"
            for port in self.ports
            for n in range(per_host)
        ]


STYLE_LINK = '<link rel="stylesheet" href="/style.css">'


@contextmanager
def many_hosts(
    hosts: int, latency: float, address: str = "127.0.0.1", *, styled: bool = False
) -> Iterator[Web]:
    """Start ``hosts`` servers on ``address``; stop them when the block ends.

    ``styled`` pages link their host's ``/style.css``: one requisite per host.
    """
    ledger = HostLedger()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            port = self.server.server_port  # type: ignore[attr-defined]
            ledger.arrive(port, self.path)
            try:
                time.sleep(latency)
                if self.path.startswith("/page/"):
                    style = STYLE_LINK if styled else ""
                    body = (
                        f"<html><head><title>{port}{self.path}</title>{style}</head>"
                        f"<body><p>page {self.path} of {port}</p></body></html>"
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                elif styled and self.path == "/style.css":
                    body = f"p {{ color: #{port % 4096:03x}; }}".encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/css")
                else:
                    body = b"not here"
                    self.send_response(404)
                    self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # a worker killed while it waited for this answer
            finally:
                ledger.leave(port)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    servers = [ThreadingHTTPServer((address, 0), Handler) for _ in range(hosts)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ports = [int(s.server_address[1]) for s in servers]
        yield Web(ports=ports, ledger=ledger, address=address)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
