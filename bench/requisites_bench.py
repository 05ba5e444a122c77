"""Page requisites at scale: many pages, many hosts, shared stylesheets and fonts.

Starts one small HTTP server per host on 127.0.0.1 (a host is host:port),
writes one article citing every page, runs the real CLI in a subprocess and
prints the time, the peak resident memory of that process, and whether the
servers were asked for each distinct requisite exactly once (dedupe works).

Each page needs ``--requisites`` things: per host, a stylesheet that
``@import``s another, which names two fonts and two background images, four
images and a script are shared by all the host's pages; the rest are images
of the page's own.

    python bench/requisites_bench.py [--pages N] [--hosts H] [--requisites R]

Results are written down in the README.
"""

from __future__ import annotations

import argparse
import http.server
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

SHARED = 11  # site.css, base.css, 2 fonts, 2 backgrounds, 4 images, 1 script
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d4944415478da63f8cfc0f01f0005000201a3a1d0b30000000049454e44ae426082"
)
SITE_CSS = b'@import "base.css"; body { margin: 0 } .logo { width: 10px }'
BASE_CSS = (
    b'@font-face { font-family: A; src: url("a.woff2") format("woff2"); }'
    b'@font-face { font-family: B; src: url("b.woff2") format("woff2"); }'
    b"header { background: url(head.png) } footer { background: url(foot.png) }"
)


class Asked:
    """Every path each server was asked for, counted."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: Counter[str] = Counter()

    def add(self, key: str) -> None:
        with self.lock:
            self.paths[key] += 1


def handler(asked: Asked, port_of: dict[int, int], unique: int) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            port = int(self.connection.getsockname()[1])
            asked.add(f"{port}{self.path}")
            body, kind = self._answer(port_of[port])
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, host: int) -> tuple[bytes, str]:
            path = self.path
            if path.startswith("/page/"):
                n = path.removeprefix("/page/").removesuffix(".html")
                own = "".join(f'<img src="/img/{n}-{i}.png">' for i in range(unique))
                shared = "".join(f'<img src="/shared/{i}.png">' for i in range(4))
                html = (
                    '<!doctype html><link rel="stylesheet" href="/css/site.css">'
                    f"<title>page {n} of host {host}</title><header></header>"
                    f"{shared}{own}<script src='/js/app.js'></script><footer></footer>"
                )
                return html.encode(), "text/html; charset=utf-8"
            if path == "/css/site.css":
                return SITE_CSS, "text/css"
            if path == "/css/base.css":
                return BASE_CSS, "text/css"
            if path.endswith(".woff2"):
                return b"wOF2" + b"\0" * 1000, "font/woff2"
            if path.endswith(".js"):
                return b"console.log('bench');", "text/javascript"
            return PNG, "image/png"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    return Handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--requisites", type=int, default=60)
    args = parser.parse_args()
    unique = args.requisites - SHARED
    asked = Asked()
    port_of: dict[int, int] = {}
    servers = []
    for host in range(args.hosts):
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), handler(asked, port_of, unique)
        )
        server.daemon_threads = True
        port_of[int(server.server_address[1])] = host
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports = list(port_of)
    pages = [
        f"http://127.0.0.1:{ports[n % args.hosts]}/page/{n}.html"
        for n in range(args.pages)
    ]
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            links = "".join(f'<a href="{url}">{n}</a>' for n, url in enumerate(pages))
            article = root / "a.txt"
            article.write_text(f"<!--0-->\n[bench]({pages[0]})\n------\n\n{links}\n")
            command = [sys.executable, "-m", "archiver", "preserve", str(article)]
            command += ["--out", str(root / "out"), "--allow-private", "--no-probe"]
            started = time.monotonic()
            result = subprocess.run(
                command, capture_output=True, text=True, check=False
            )
            elapsed = time.monotonic() - started
            summary = result.stdout
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        return 1
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    distinct = args.hosts * SHARED + args.pages * unique
    requests = sum(asked.paths.values())
    twice = sum(1 for count in asked.paths.values() if count > 1)
    print(
        f"{args.pages} pages x {args.requisites} requisites over {args.hosts} hosts: "
        f"{distinct} distinct requisites"
    )
    print(
        f"requests: {requests} ({requests - args.pages} for requisites; "
        f"{twice} paths asked more than once)"
    )
    print(f"wall time: {elapsed:.1f} s, {requests / elapsed:.0f} requests/s")
    print(f"peak memory of the archiver process: {peak_kb / 1024:.0f} MB")
    print("\n".join(line for line in summary.splitlines() if "requisites" in line))
    return 0 if requests - args.pages == distinct and twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
