"""A real HTTP and HTTPS server on 127.0.0.1 that misbehaves on request.

Each path prefix is one behaviour of the web (see ``FakeWeb.ROUTES``); the
rest of the path is free, so every test can use its own token and read back
what the server saw (``ledger``) and exactly what it sent (``sent``).
Responses are written as raw bytes, so header case and order are the test's
to choose and the WARC can be compared with them byte for byte.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import gzip
import http
import json
import random
import socket
import socketserver
import ssl
import struct
import threading
import time
import urllib.parse
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from html import escape as html_escape
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import brotli
import trustme

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a3a1d0b30000000049454e44ae426082"
)


SITE_MODES = (
    "soft404",
    "echo404",
    "homeredirect",
    "parked",
    "moved",
    "spa",
    "rateonce",
    *(f"bomb-{coding}" for coding in ("gzip", "deflate", "br")),
)
BOMB_ZEROS = 600  # MiB of zeros in each decompression bomb
SOFT_404_PAGE = (
    b"<html><head><title>Page not found</title></head><body><nav>Home | News | "
    b"Sport | Opinion</nav><h1>Sorry, page not found</h1><p>The page you requested "
    b"could not be found. It may have been moved or deleted.</p><footer>Example "
    b"Daily, all rights reserved</footer></body></html>"
)
SPA_SHELL = (
    b"<!doctype html><html><head><title>Example App</title></head><body>"
    b"<div id='root'></div><noscript>You need to enable JavaScript to run this "
    b"app.</noscript><script src='/static/app.js'></script></body></html>"
)


@dataclass
class Reply:
    """One response: raw header lines (case and order kept) and body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunks: list[bytes] | None = None  # send with Transfer-Encoding: chunked
    delay: float = 0.0  # seconds before anything is sent
    content_length: bool = True
    raw: bytes | None = None  # send exactly these bytes instead (malformed replies)
    cut_at: int | None = None  # send data[:cut_at] of the message, then close
    reset: bool = False  # close with a TCP reset instead of a clean close
    trickle: float = 0.0  # seconds between body bytes (a slowloris server)


class Ledger:
    """What the server received: hits and arrival times per path, in-flight peak."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[str, list[float]] = defaultdict(list)
        self._headers: dict[str, dict[str, str]] = {}
        self._ports: dict[str, int] = {}
        self._in_flight: dict[int, int] = defaultdict(int)
        self._peaks: dict[int, int] = defaultdict(int)

    def arrive(self, port: int, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self._times[path].append(time.monotonic())
            self._headers[path] = headers
            self._ports[path] = port
            self._in_flight[port] += 1
            self._peaks[port] = max(self._peaks[port], self._in_flight[port])

    def leave(self, port: int) -> None:
        with self._lock:
            self._in_flight[port] -= 1

    def paths(self) -> list[str]:
        """Every path requested so far, on any of the servers."""
        with self._lock:
            return list(self._times)

    def port_of(self, path: str) -> int:
        with self._lock:
            return self._ports[path]

    def peak(self, port: int) -> int:
        """The most requests the server on ``port`` was answering at once."""
        with self._lock:
            return self._peaks[port]

    def hits(self, path: str) -> int:
        with self._lock:
            return len(self._times.get(path, ()))

    def headers(self, path: str) -> dict[str, str]:
        """The request headers of the last request for ``path``."""
        with self._lock:
            return dict(self._headers.get(path, {}))

    def times(self, path: str) -> list[float]:
        with self._lock:
            return list(self._times.get(path, ()))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        web = self.server.web
        port = int(self.server.server_address[1])
        web.ledger.arrive(port, self.path, dict(self.headers.items()))
        try:
            reply = web.answer(self.path, self.server.mode)
            self._send(reply)
        finally:
            web.ledger.leave(port)

    def _send(self, reply: Reply) -> None:
        web = self.server.web
        try:
            phrase = http.HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Unknown"
        head = [f"HTTP/1.1 {reply.status} {phrase}"]
        head += [f"{name}: {value}" for name, value in reply.headers]
        if reply.chunks is not None:
            head.append("Transfer-Encoding: chunked")
            body = b"".join(reply.chunks)
            wire_body = b"".join(
                b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in reply.chunks
            )
            wire_body += b"0\r\n\r\n"
        else:
            body = wire_body = reply.body
            if reply.content_length:
                head.append(f"Content-Length: {len(body)}")
        head_bytes = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        data = reply.raw if reply.raw is not None else head_bytes + wire_body
        web.record_sent(self.path, data, body)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.trickle:
            self.wfile.write(head_bytes)
            for index in range(len(wire_body)):
                self.wfile.write(wire_body[index : index + 1])
                self.wfile.flush()
                time.sleep(reply.trickle)
            return
        if reply.cut_at is not None:
            self.wfile.write(data[: reply.cut_at])
            self.wfile.flush()
            self.close_connection = True
            if reply.reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            return
        self.wfile.write(data)
        self.wfile.flush()

    def handle(self) -> None:
        # The client going away is what several scenarios are about.
        with contextlib.suppress(OSError, ssl.SSLError):
            super().handle()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(
        self, web: FakeWeb, tls: ssl.SSLContext | None, mode: str = "main"
    ) -> None:
        self.web = web
        self.tls = tls
        self.mode = mode
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def handle_error(self, request: object, client_address: object) -> None:
        pass


def _tls(cert: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


class FakeWeb:
    """The HTTP and HTTPS servers, their certificate authority and ledger."""

    def __init__(self, folder: Path) -> None:
        self.ledger = Ledger()
        self._lock = threading.Lock()
        self._sent: dict[str, tuple[bytes, bytes]] = {}
        ca = trustme.CA()
        self.ca_pem = folder / "fakeweb-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_pem))
        self._http = _Server(self, None)
        self._https = _Server(self, _tls(ca.issue_cert("127.0.0.1", "localhost")))
        # HTTPS servers whose certificates the same trusted CA issued, but
        # which a client must still refuse: see ``bad_tls_url``.
        now = datetime.datetime.now(datetime.UTC)
        expired = ca.issue_cert(
            "127.0.0.1",
            "localhost",
            not_before=now - datetime.timedelta(days=30),
            not_after=now - datetime.timedelta(days=1),
        )
        self._bad_tls = {
            "expired": _Server(self, _tls(expired)),
            "wrong-host": _Server(self, _tls(ca.issue_cert("wrong-host.example"))),
        }
        self.port = int(self._http.server_address[1])
        self.https_port = int(self._https.server_address[1])
        # Other sites, each a server of its own (a host is host:port), whose
        # every path behaves one way: see ``site_url``.
        self._sites = {mode: _Server(self, None, mode) for mode in SITE_MODES}
        self._rate_once_served = False
        self._switches: dict[str, Reply] = {}
        self._files: dict[str, Reply] = {}
        self._news: dict[str, tuple[str, ...]] = {}
        self._served = 0  # news pages served: each one's ads and nonce differ
        self._threads = [
            threading.Thread(target=server.serve_forever, daemon=True)
            for server in self._servers()
        ]

    def _servers(self) -> tuple[_Server, ...]:
        return (
            self._http,
            self._https,
            *self._bad_tls.values(),
            *self._sites.values(),
        )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for server in self._servers():
            server.shutdown()
            server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def https_url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.https_port}{path}"

    def bad_tls_url(self, fault: str, path: str) -> str:
        """An https URL whose certificate is at fault: "expired" or "wrong-host".

        Both certificates come from the CA in ``ca_pem``, so a client trusting
        it refuses them for the fault alone; past the handshake every path
        would answer as on the main server.
        """
        return f"https://127.0.0.1:{self._bad_tls[fault].server_address[1]}{path}"

    def site_port(self, mode: str) -> int:
        return int(self._sites[mode].server_address[1])

    def site_url(self, mode: str, path: str, host: str = "127.0.0.1") -> str:
        """A URL on the site whose paths all behave as ``mode`` says.

        ``host`` may be ``localhost`` to make the site another site than
        127.0.0.1 by name, as redirect-to-another-site scenarios need.
        """
        return f"http://{host}:{self._sites[mode].server_address[1]}{path}"

    def record_sent(self, path: str, data: bytes, body: bytes) -> None:
        with self._lock:
            self._sent[path] = (data, body)

    def sent(self, path: str) -> bytes | None:
        """The last response sent for ``path``, byte for byte."""
        with self._lock:
            found = self._sent.get(path)
        return found[0] if found else None

    def sent_body(self, path: str) -> bytes | None:
        """The body of that response without chunk framing (still encoded)."""
        with self._lock:
            found = self._sent.get(path)
        return found[1] if found else None

    def switch(self, name: str, status: int, body: bytes = b"") -> None:
        """What ``/switch/<name>`` answers from now on (tests play nights)."""
        with self._lock:
            self._switches[name] = Reply(
                status, [("Content-Type", "text/html; charset=utf-8")], body
            )

    def put(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "text/html; charset=utf-8",
        *,
        status: int = 200,
        delay: float = 0.0,
    ) -> str:
        """Serve ``body`` at ``/files/<path>`` (query ignored); return that path.

        Tests build whole sites this way: pages, stylesheets, fonts, images.
        """
        data = body.encode() if isinstance(body, str) else body
        reply = Reply(status, [("Content-Type", content_type)], data, delay=delay)
        with self._lock:
            self._files[path.lstrip("/")] = reply
        return "/files/" + path.lstrip("/")

    def edit(self, slug: str, *paragraphs: str) -> str:
        """Make ``paragraphs`` the article of ``/news/<slug>``; return that path.

        Like a real news page, every answer is rebuilt: another ad, another
        "updated" time, another script nonce and request id, another "most
        read" box, so no two answers have the same bytes; only the article
        is the test's, and changes when the test edits it.
        """
        with self._lock:
            self._news[slug] = paragraphs
        return f"/news/{slug}"

    def _news_page(self, path: str, args: list[str]) -> Reply:
        slug = args[0] if args else ""
        with self._lock:
            paragraphs = self._news.get(slug)
            self._served += 1
            served = self._served
        if paragraphs is None:
            return self._not_found(path, args)
        pick = random.Random(served)
        stories = [
            "Storm hits coast",
            "Cup final tonight",
            "Prices rise again",
            "New park opens",
            "Election results",
        ]
        pick.shuffle(stories)
        nonce = f"{pick.getrandbits(64):016x}"
        article = "".join(f"<p>{html_escape(text)}</p>" for text in paragraphs)
        page = (
            "<!doctype html><html><head><title>Council budget - Example Daily"
            f'</title><script nonce="{nonce}">window.served = {served};</script>'
            '</head><body><header><nav><a href="/">Home</a> <a href="/news">'
            f'News</a></nav><div class="ad">Advert {pick.randint(1, 10**6)}: '
            f"{pick.choice(['cheap flights', 'new shoes', 'a better bank'])}"
            f'</div><p class="updated">Updated {served % 59 + 1} minutes ago</p>'
            f"</header><main><article><h1>Council budget</h1>{article}</article>"
            '<aside class="most-read"><h2>Most read</h2><ul>'
            + "".join(
                f'<li><a href="/s/{i}">{s}</a></li>' for i, s in enumerate(stories[:3])
            )
            + f"</ul></aside></main><footer>Request {nonce}</footer></body></html>"
        )
        return Reply(200, [("Content-Type", "text/html; charset=utf-8")], page.encode())

    def _file(self, path: str, args: list[str]) -> Reply:
        with self._lock:
            reply = self._files.get("/".join(args))
        return reply if reply is not None else self._not_found(path, args)

    def _switch(self, path: str, args: list[str]) -> Reply:
        with self._lock:
            reply = self._switches.get(args[0] if args else "")
        return reply if reply is not None else self._not_found(path, args)

    def answer(self, path: str, mode: str = "main") -> Reply:
        parts = path.split("?", 1)[0].strip("/").split("/")
        if mode != "main":
            return self._site(mode, path, parts)
        route = self.ROUTES.get(parts[0], FakeWeb._not_found)
        return route(self, path, parts[1:])

    def _site(self, mode: str, path: str, parts: list[str]) -> Reply:
        """Sites where every path behaves alike, but for real pages under /page/."""
        html = [("Content-Type", "text/html; charset=utf-8")]
        if parts[0] == "page" and mode in ("soft404", "echo404", "homeredirect"):
            return self._page(path, parts[1:])
        if mode == "soft404":
            return Reply(200, html, SOFT_404_PAGE)
        if mode == "echo404":
            # A "not found" page that repeats what was asked for, as many do.
            asked = html_escape(path)
            words = html_escape(" ".join(path.strip("/").replace("-", "/").split("/")))
            page = (
                f"<title>Not found: {asked}</title><nav>Home | News | Sport</nav>"
                f"<h1>We could not find {asked}</h1><p>Sorry, the page {asked} "
                f"does not exist.</p><p>Search for: {words}</p>"
                f"<footer>Example News</footer>"
            )
            return Reply(200, html, page.encode())
        if mode == "homeredirect":
            if path == "/":
                return Reply(200, html, b"<h1>Home</h1><p>Latest news ...</p>")
            return Reply(302, [("Location", "/")], b"")
        if mode == "parked":
            return Reply(302, [("Location", self.url("/page/domain-for-sale"))], b"")
        if mode == "moved":
            if parts[0] == "old":
                new = self.url("/page/new-home-" + "/".join(parts[1:]))
                return Reply(301, [("Location", new)], b"")
            return Reply(404, html, b"<h1>Not here</h1>")
        if mode == "spa":
            return Reply(200, html, SPA_SHELL)
        if mode.startswith("bomb-"):
            # Every path is a page of zeros that expands ~1000 times (gzip,
            # deflate) or far more (br); under /wall/ it comes as a 503,
            # which the bot-wall check reads.
            coding = mode.removeprefix("bomb-")
            headers = [("Content-Type", "text/html"), ("Content-Encoding", coding)]
            return Reply(503 if parts[0] == "wall" else 200, headers, bomb(coding))
        if mode == "rateonce":
            with self._lock:
                first, self._rate_once_served = not self._rate_once_served, True
            if first:
                return Reply(429, [("Retry-After", "1")], b"slow down")
            return replace(self._page(path, parts), delay=0.2)
        raise ValueError(mode)

    # --- one method per behaviour --------------------------------------

    def _page(self, path: str, args: list[str]) -> Reply:
        body = f"<!doctype html><title>{path}</title><p>Page {path}</p>".encode()
        return Reply(200, [("Content-Type", "text/html; charset=utf-8")], body)

    def _image(self, path: str, args: list[str]) -> Reply:
        return Reply(200, [("Content-Type", "image/png")], PNG)

    def _gzip(self, path: str, args: list[str]) -> Reply:
        text = f"<!doctype html><p>compressed {path}</p>".encode() * 20
        return Reply(
            200,
            [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            gzip.compress(text, mtime=0),
        )

    def _chunked(self, path: str, args: list[str]) -> Reply:
        chunks = [f"<p>part {i} of {path}</p>".encode() for i in range(5)]
        return Reply(200, [("Content-Type", "text/html")], chunks=chunks)

    def _redirect(self, path: str, args: list[str]) -> Reply:
        code, left, rest = int(args[0]), int(args[1]), "/".join(args[2:])
        if left <= 0:
            return self._page(path, args)
        location = f"/redirect/{code}/{left - 1}/{rest}"
        return Reply(code, [("Location", location)], b"moved")

    def _status(self, path: str, args: list[str]) -> Reply:
        code = int(args[0])
        return Reply(code, [("Content-Type", "text/plain")], f"status {code}".encode())

    def _flaky(self, path: str, args: list[str]) -> Reply:
        if self.ledger.hits(path) < int(args[0]):
            return Reply(503, [("Content-Type", "text/plain")], b"try again")
        return self._page(path, args)

    def _broken(self, path: str, args: list[str]) -> Reply:
        """A 500 for the first N requests of a path (no "slow down": a bug)."""
        if self.ledger.hits(path) <= int(args[0]):
            return Reply(500, [("Content-Type", "text/plain")], b"broken")
        return self._page(path, args)

    def _retry_after(self, path: str, args: list[str]) -> Reply:
        seconds, succeed_on = args[0], int(args[1])
        if self.ledger.hits(path) < succeed_on:
            return Reply(429, [("Retry-After", seconds)], b"slow down")
        return self._page(path, args)

    def _huge(self, path: str, args: list[str]) -> Reply:
        size = int(args[0])
        return Reply(200, [("Content-Type", "application/octet-stream")], b"x" * size)

    def _noise(self, path: str, args: list[str]) -> Reply:
        """N bytes that do not compress (the same N bytes every time)."""
        body = random.Random(int(args[0])).randbytes(int(args[0]))
        return Reply(200, [("Content-Type", "application/octet-stream")], body)

    def _headers_case(self, path: str, args: list[str]) -> Reply:
        headers = [
            ("X-Mixed-CASE", "Kept As Sent"),
            ("content-type", "text/plain; charset=utf-8"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("X-empty", ""),
        ]
        return Reply(200, headers, b"headers as sent")

    def _slow(self, path: str, args: list[str]) -> Reply:
        return Reply(
            200, [("Content-Type", "text/plain")], b"late", delay=float(args[0])
        )

    def _wall(self, path: str, args: list[str]) -> Reply:
        headers = [("Content-Type", "text/html"), ("cf-mitigated", "challenge")]
        return Reply(403, headers, b"<title>Just a moment...</title>")

    def _captcha(self, path: str, args: list[str]) -> Reply:
        body = b"<html><p>Please complete the CAPTCHA to continue</p></html>"
        return Reply(503, [("Content-Type", "text/html")], body)

    def _always_429(self, path: str, args: list[str]) -> Reply:
        return Reply(429, [("Content-Type", "text/plain")], b"too many")

    def _short(self, path: str, args: list[str]) -> Reply:
        body = b"x" * 1000
        return Reply(200, [("Content-Type", "text/plain")], body, cut_at=-900)

    def _reset(self, path: str, args: list[str]) -> Reply:
        body = b"y" * 1000
        return Reply(
            200, [("Content-Type", "text/plain")], body, cut_at=-900, reset=True
        )

    def _reset_early(self, path: str, args: list[str]) -> Reply:
        return Reply(200, [], b"", cut_at=0, reset=True)

    def _malformed(self, path: str, args: list[str]) -> Reply:
        raw = (
            b"HTTP/1.1 200 OK\r\nthis line is no header\r\nContent-Length: 2\r\n\r\nok"
        )
        return Reply(200, raw=raw)

    def _bad_encoding(self, path: str, args: list[str]) -> Reply:
        headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
        return Reply(200, headers, b"<p>not gzip at all \xff\xfe</p>")

    def _huge_headers(self, path: str, args: list[str]) -> Reply:
        headers = [(f"X-Filler-{n}", "f" * 1000) for n in range(200)]  # 200 kB
        return Reply(200, [("Content-Type", "text/plain"), *headers], b"ok")

    def _trickle(self, path: str, args: list[str]) -> Reply:
        return Reply(200, [("Content-Type", "text/plain")], b"z" * 200, trickle=0.2)

    def _away(self, path: str, args: list[str]) -> Reply:
        """A redirect to the URL in the query: ``/away/<token>?<url>``."""
        location = urllib.parse.unquote(path.partition("?")[2])
        return Reply(302, [("Location", location)], b"")

    def _loop(self, path: str, args: list[str]) -> Reply:
        return Reply(302, [("Location", path)], b"")

    # --- pages built by script (the browser tests) ------------------------

    def _spa(self, path: str, args: list[str]) -> Reply:
        """An empty shell; its script fetches JSON and writes the page from it.

        ``?also=URL`` makes the script fetch one more address (the refusal
        test); ``/spa/many/N/...`` makes it fetch N pages first; ``/spa/tick/``
        makes it fetch forever; ``/spa/hog/`` makes it eat memory forever;
        ``/spa/slow/`` sends the shell after 2 s.
        """
        name = "/".join(args)
        query = path.split("?", 1)[1] if "?" in path else ""
        also = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("also")
        setup = f"window.ALSO = {json.dumps(urllib.parse.unquote(also or ''))};"
        body = (
            "<!doctype html><html><head><title>Loading</title></head><body>"
            f"<div id='root'></div><script>{setup}</script>"
            f"<script src='/spa-js/{name}'></script></body></html>"
        ).encode()
        reply = Reply(200, [("Content-Type", "text/html; charset=utf-8")], body)
        return replace(reply, delay=2.0) if args[:1] == ["slow"] else reply

    def _spa_js(self, path: str, args: list[str]) -> Reply:
        name = "/".join(args)
        mode = args[0] if args else ""
        before = ""
        if mode == "many":
            count = int(args[1])
            before = (
                f"await Promise.all([...Array({count}).keys()].map(i => "
                f"fetch('/page/many-{name}-' + i).then(r => r.text(), e => '')));"
            )
        elif mode == "tick":
            before = "let i = 0; setInterval(() => fetch('/page/tick-' + (i++)), 50);"
        elif mode == "hog":
            before = (
                "const kept = []; setInterval(() => { for (let i = 0; i < 50; i++) "
                "kept.push(new Array(100000).fill(kept.length)); }, 0);"
            )
        script = (
            "(async () => {"
            f"{before}"
            "if (window.ALSO) { try { await fetch(window.ALSO, {mode: 'no-cors'}); }"
            " catch (e) {} }"
            f"const data = await (await fetch('/spa-data/{name}')).json();"
            "document.title = data.title;"
            "document.getElementById('root').innerHTML = '<h1>' + data.title + "
            '\'</h1><p id="text">\' + data.text + \'</p><img id="pic" src="\' + '
            'data.image + \'" alt="a picture">\';'
            # Says in the DOM whether the picture really loaded (live or replayed).
            "const pic = document.getElementById('pic');"
            "pic.onload = () => pic.setAttribute('data-loaded',"
            " pic.naturalWidth > 0 ? 'yes' : 'empty');"
            "pic.onerror = () => pic.setAttribute('data-loaded', 'error');"
            "})();"
        )
        return Reply(200, [("Content-Type", "text/javascript")], script.encode())

    def _spa_data(self, path: str, args: list[str]) -> Reply:
        name = "/".join(args)
        data = {
            "title": f"Built by script {name}",
            "text": f"This article text for {name} came as JSON.",
            "image": f"/image/spa-{name.replace('/', '-')}.png",
        }
        return Reply(
            200, [("Content-Type", "application/json")], json.dumps(data).encode()
        )

    def _not_found(self, path: str, args: list[str]) -> Reply:
        return Reply(404, [("Content-Type", "text/plain")], b"no such scenario")

    ROUTES: ClassVar[dict[str, Callable[[FakeWeb, str, list[str]], Reply]]] = {
        "page": _page,
        "image": _image,
        "gzip": _gzip,
        "chunked": _chunked,
        "redirect": _redirect,
        "status": _status,
        "flaky": _flaky,
        "broken": _broken,
        "retry-after": _retry_after,
        "huge": _huge,
        "noise": _noise,
        "headers-case": _headers_case,
        "slow": _slow,
        "loop": _loop,
        "away": _away,
        "wall": _wall,
        "switch": _switch,
        "files": _file,
        "news": _news_page,
        "captcha": _captcha,
        "always-429": _always_429,
        "short": _short,
        "reset": _reset,
        "reset-early": _reset_early,
        "malformed": _malformed,
        "bad-encoding": _bad_encoding,
        "trickle": _trickle,
        "huge-headers": _huge_headers,
        "spa": _spa,
        "spa-js": _spa_js,
        "spa-data": _spa_data,
    }


@functools.cache
def bomb(coding: str) -> bytes:
    """``BOMB_ZEROS`` MiB of zeros in a content coding: "gzip", "deflate" or "br"."""
    zeros = bytes(1 << 20)
    if coding == "br":
        packer = brotli.Compressor(quality=5)
        squeezed = b"".join(packer.process(zeros) for _ in range(BOMB_ZEROS))
        return squeezed + bytes(packer.finish())
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    squeezer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    body = b"".join(squeezer.compress(zeros) for _ in range(BOMB_ZEROS))
    return body + squeezer.flush()


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
