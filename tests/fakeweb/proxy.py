"""A forwarding HTTP proxy on 127.0.0.1: absolute-form requests and CONNECT.

It keeps a list of what it was asked to do, so a test can check that every
request of a run went through it, and that https went through CONNECT.

When it cannot reach a destination it answers as real proxies do
(``errors``): "squid" (X-Squid-Error: ERR_DNS_FAIL 0, ERR_CONNECT_FAIL 111),
"rfc9209" (Proxy-Status with an error type), or "bare" (a 502 that says
nothing). With ``resolver_down`` it can resolve no name at all, not even
the canaries': the proxy's own outage.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        with contextlib.suppress(OSError):
            self._handle()

    def _handle(self) -> None:
        request_line = self.rfile.readline(65536).decode("latin-1").strip()
        if not request_line:
            return
        headers: list[str] = []
        while line := self.rfile.readline(65536).decode("latin-1").rstrip("\r\n"):
            headers.append(line)
        method, target, _version = request_line.split(" ", 2)
        self.server.record(method, target)
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = self._reach(host, int(port))
            if upstream is None:
                return
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            _pipe_both_ways(self.connection, upstream)
            return
        # absolute-form: http://host:port/path
        rest = target.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        upstream = self._reach(host, int(port or 80))
        if upstream is None:
            return
        kept = [
            h
            for h in headers
            if h.split(":", 1)[0].strip().lower()
            not in ("connection", "proxy-connection", "keep-alive")
        ]
        head = [f"{method} /{path} HTTP/1.1", *kept, "Connection: close", "", ""]
        upstream.sendall("\r\n".join(head).encode("latin-1"))
        with upstream:
            while data := upstream.recv(65536):
                self.wfile.write(data)
        self.wfile.flush()
        self.close_connection = True

    def _reach(self, host: str, port: int) -> socket.socket | None:
        """A connection to the destination, or None once the error is answered."""
        try:
            if self.server.resolver_down:
                raise socket.gaierror(socket.EAI_AGAIN, "resolver down")
            if host.endswith(".invalid"):  # RFC 6761: never resolves
                raise socket.gaierror(socket.EAI_NONAME, "no such name")
            return socket.create_connection((host, port), timeout=30)
        except OSError as exc:
            self.wfile.write(_error_answer(self.server.errors, exc))
            self.wfile.flush()
            return None


def _error_answer(style: str, exc: OSError) -> bytes:
    dns = isinstance(exc, socket.gaierror)
    refused = isinstance(exc, ConnectionRefusedError)
    fields = []
    if style == "squid":
        name = "ERR_DNS_FAIL 0" if dns else f"ERR_CONNECT_FAIL {exc.errno or 0}"
        fields.append(f"X-Squid-Error: {name}")
    elif style == "rfc9209":
        if dns:
            rcode = "NXDOMAIN" if exc.errno == socket.EAI_NONAME else "SERVFAIL"
            error = f'dns_error; rcode="{rcode}"'
        else:
            error = "connection_refused" if refused else "destination_unavailable"
        # an intermediary further from the origin passes the answer on
        fields.append(f"Proxy-Status: fakeproxy; error={error}, edge.example")
    body = b"the proxy could not reach the site"
    head = ["HTTP/1.1 502 Bad Gateway", *fields, f"Content-Length: {len(body)}"]
    return "\r\n".join([*head, "Connection: close", "", ""]).encode() + body


def _pipe_both_ways(client: socket.socket, upstream: socket.socket) -> None:
    def copy(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=copy, args=(upstream, client), daemon=True)
    other.start()
    copy(client, upstream)
    other.join(timeout=60)
    upstream.close()


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, errors: str, resolver_down: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self._lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []
        self.errors = errors
        self.resolver_down = resolver_down

    def record(self, method: str, target: str) -> None:
        with self._lock:
            self.seen.append((method, target))

    def handle_error(self, request: object, client_address: object) -> None:
        pass


class Proxy:
    """Start with ``start()``; ``url`` is what ``--proxy`` takes."""

    def __init__(self, errors: str = "bare", *, resolver_down: bool = False) -> None:
        self._server = _ProxyServer(errors, resolver_down)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def seen(self) -> list[tuple[str, str]]:
        with self._server._lock:
            return list(self._server.seen)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
