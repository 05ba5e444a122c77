"""Crawl throughput: many hosts, Zipf popularity, latency, misbehaving hosts.

A local web of ``--hosts`` hosts (each its own loopback address, 127.0.1.1
and up, so each is a host of its own to politeness and to the connection
pool with no resolver hook; a share of them over HTTPS with a trustme CA)
answers every request after ``--latency`` seconds. URLs are spread over the
hosts by Zipf popularity (rank r gets weight 1/r), so a few hosts hold many
URLs, as a newsroom's links do. Of the hosts, by share:

- slow: 1-2 s before every answer;
- failing: 500 to every request (retried, then given up);
- redirecting: every page first answers 301 to its final address;
- rate-limiting: one request in 20 is told 429 with Retry-After: 1;
- gone: no server on the address at all (connection refused).

The web runs in its own process (asyncio), so the archiver's CPU time is its
own. Articles citing every URL go through the real ``archiver preserve`` in a
subprocess, default options but ``--concurrency`` and ``--per-host``.
Printed: URLs/s; the bound for this corpus, the makespan no scheduler can
beat (the most loaded host's URLs through its per-host slots at its latency,
or all the URLs' latency through the global limit, whichever is longer);
achieved / bound; mean (time-weighted) and peak requests in flight at the
servers, and the most in flight at one host; CPU per URL; peak memory; and
the run's own account of where the time went (its JSON summary's ``time``).

    python bench/crawl_bench.py [--urls N] [--hosts H] [--latency S]
        [--concurrency C] [--per-host P] [--plain] [--profile FILE]
        [--py-spy FILE] [--manifest FILE] [--serve SECONDS]

``--plain`` makes every host well behaved, so every URL is one plain 200 with
a 5 KB body (issue 18's CPU figure is for exactly that); the same hosts are
HTTPS. ``--profile FILE`` runs the archiver under cProfile, ``--py-spy FILE``
under py-spy (installed apart; collapsed stacks, one line per stack);
``--serve SECONDS`` only serves the web (its CA and URL list written to the
current folder), to try a command on it by hand. Also printed: how many
connections the web accepted, and how many of them were TLS (a handshake
each).

Results are written down in the README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import trustme

PORT_TRIES = 20  # free ports tried before the web gives up
BODY = b"x" * 5000  # a 5 KB page


@dataclass(frozen=True, slots=True)
class Host:
    address: str
    kind: str  # ok, slow, failing, redirecting, limiting, gone
    tls: bool

    def base(self, port: int) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.address}:{port}"


def plan_hosts(count: int, rng: random.Random, plain: bool = False) -> list[Host]:
    """Hosts by popularity rank; misbehaviour is spread over the ranks.

    With ``plain`` every host is well behaved (the same draws are made, so
    the same hosts are HTTPS): every URL is one plain 200 with a 5 KB body.
    """
    shares = [("slow", 0.05), ("failing", 0.05), ("redirecting", 0.05)]
    shares += [("limiting", 0.03), ("gone", 0.02)]
    hosts = []
    for rank in range(count):
        draw, kind = rng.random(), "ok"
        for name, share in shares:
            if draw < share:
                kind = name
                break
            draw -= share
        if plain:
            kind = "ok"
        address = f"127.0.{1 + rank // 250}.{1 + rank % 250}"
        hosts.append(Host(address, kind, tls=rng.random() < 0.5))
    return hosts


def plan_urls(
    hosts: list[Host], count: int, rng: random.Random, port: int
) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(hosts))]
    chosen = rng.choices(hosts, weights=weights, k=count)
    return [f"{host.base(port)}/p/{n}" for n, host in enumerate(chosen)]


SLOW = (1.0, 2.0)  # a slow host's latency, uniform over this range
LIMIT_EVERY = 20  # a rate-limiting host says 429 to one request in this many
FAIL_ATTEMPTS = 3  # archiver's default --retries


def bound(
    urls: list[str], hosts: list[Host], latency: float, concurrency: int, per_host: int
) -> float:
    """The shortest makespan any scheduler could reach, politeness kept.

    Per host: its requests through its per-host slots at its latency (a
    redirect is two requests, a failing URL is asked ``FAIL_ATTEMPTS`` times,
    a slow host answers in 1.5 s on average), and a rate-limiting host also
    stays idle for 1 s after each 429 it sends. Across hosts: all the time
    requests spend at the servers through the global limit. The longer of
    the busiest host and the global figure is the bound; backoff between a
    failing URL's attempts is left out (it need hold no slot), so the bound
    is a floor.
    """
    kinds = {host.address: host.kind for host in hosts}
    urls_of: Counter[str] = Counter(
        url.split("://", 1)[1].split(":", 1)[0] for url in urls
    )
    busiest = 0.0
    total = 0.0  # request-seconds spent at the servers
    for address, n in urls_of.items():
        kind = kinds[address]
        requests = {"redirecting": 2 * n, "failing": FAIL_ATTEMPTS * n, "gone": 0}
        count = requests.get(kind, n)
        each = sum(SLOW) / 2 if kind == "slow" else latency
        host = -(-count // per_host) * each
        if kind == "limiting":
            host += n / LIMIT_EVERY  # one second idle per 429
        busiest = max(busiest, host)
        total += count * each
    return max(busiest, total / concurrency)


# --- the web, in its own process ------------------------------------------------


@dataclass(slots=True)
class Counts:
    in_flight: int = 0
    peak: int = 0
    area: float = 0.0  # integral of in_flight over time
    since: float = field(default_factory=time.monotonic)
    first: float | None = None
    last: float = 0.0
    requests: int = 0
    connections: int = 0
    tls_connections: int = 0
    by_host: Counter[str] = field(default_factory=Counter)
    host_peak: Counter[str] = field(default_factory=Counter)

    def change(self, delta: int, host: str) -> None:
        now = time.monotonic()
        self.area += self.in_flight * (now - self.since)
        self.since = now
        self.in_flight += delta
        self.peak = max(self.peak, self.in_flight)
        self.by_host[host] += delta
        self.host_peak[host] = max(self.host_peak[host], self.by_host[host])
        if delta > 0:
            self.requests += 1
            self.first = now if self.first is None else self.first
        self.last = now


def _server_context(cert: tuple[bytes, bytes]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as folder:
        chain, key = Path(folder, "c.pem"), Path(folder, "k.pem")
        chain.write_bytes(cert[0])
        key.write_bytes(cert[1])
        context.load_cert_chain(chain, key)
    return context


Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _serve(
    hosts: list[Host], latency: float, context: ssl.SSLContext, control: Connection
) -> None:
    counts = Counts()
    seen: Counter[str] = Counter()

    def handler(host: Host) -> Answer:
        async def answer(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            counts.connections += 1
            counts.tls_connections += host.tls
            try:
                while True:
                    head = await reader.readuntil(b"\r\n\r\n")
                    path = head.split(b" ", 2)[1].decode()
                    counts.change(+1, host.address)
                    try:
                        wait = latency
                        if host.kind == "slow":
                            wait = random.uniform(*SLOW)
                        await asyncio.sleep(wait)
                        writer.write(_response(host, path, seen))
                        await writer.drain()
                    finally:
                        counts.change(-1, host.address)
            except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
                pass
            finally:
                writer.close()

        return answer

    servers, port = await _listen(hosts, handler, context)
    control.send(("ready", port))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, control.recv)  # "stop"
    counts.change(0, "")
    for server in servers:
        server.close()
    span = (counts.last - counts.first) if counts.first is not None else 0.0
    control.send(
        {
            "requests": counts.requests,
            "connections": counts.connections,
            "tls_connections": counts.tls_connections,
            "peak": counts.peak,
            "mean": counts.area / span if span else 0.0,
            "host_peak": max(counts.host_peak.values(), default=0),
        }
    )


async def _listen(
    hosts: list[Host], handler: Callable[[Host], Answer], context: ssl.SSLContext
) -> tuple[list[asyncio.Server], int]:
    """Every host's server on one port that is free on all their addresses.

    The first host takes a port the system picks; the others must find it
    free on their own addresses too, else all close and another is tried.
    So two benchmarks (or another program) on the machine never collide.
    """
    live = [host for host in hosts if host.kind != "gone"]
    for _ in range(PORT_TRIES):
        servers: list[asyncio.Server] = []
        port = 0
        try:
            for host in live:
                server = await asyncio.start_server(
                    handler(host),
                    host.address,
                    port,
                    ssl=context if host.tls else None,
                    backlog=512,
                )
                servers.append(server)
                port = port or server.sockets[0].getsockname()[1]
        except OSError:
            for server in servers:
                server.close()
            continue
        return servers, port
    raise OSError(f"no port free on all {len(live)} addresses")


def _response(host: Host, path: str, seen: Counter[str]) -> bytes:
    seen[host.address] += 1
    if host.kind == "failing":
        return _message(500, b"failing", [])
    if host.kind == "limiting" and seen[host.address] % LIMIT_EVERY == 0:
        return _message(429, b"slow down", [(b"Retry-After", b"1")])
    if host.kind == "redirecting" and path.startswith("/p/"):
        return _message(301, b"", [(b"Location", b"/final" + path.encode())])
    if not path.startswith(("/p/", "/final/p/")):  # the probe's made-up path
        return _message(404, b"<title>Not found</title>no such page", [])
    page = b"<!doctype html><title>%s</title><p>" % path.encode() + BODY
    return _message(200, page, [(b"Content-Type", b"text/html; charset=utf-8")])


def _message(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    reason = {200: b"OK", 301: b"Moved", 404: b"Not Found", 429: b"Too Many"}.get(
        status, b"Error"
    )
    lines = [b"HTTP/1.1 %d %s" % (status, reason)]
    lines += [name + b": " + value for name, value in headers]
    lines.append(b"Content-Length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _web(
    hosts: list[Host], latency: float, cert: tuple[bytes, bytes], control: Connection
) -> None:
    asyncio.run(_serve(hosts, latency, _server_context(cert), control))


# --- the run ---------------------------------------------------------------------


def write_articles(folder: Path, urls: list[str], per_article: int) -> None:
    folder.mkdir()
    for n in range(0, len(urls), per_article):
        links = "".join(
            f'<p><a href="{url}">link {m}</a></p>\n'
            for m, url in enumerate(urls[n : n + per_article])
        )
        own = urls[n]  # the article's own page: one of the web's pages too
        text = f"<!--1729735621000-->\n[article {n}]({own})\n------\n\n{links}"
        (folder / f"a{n:05d}.txt").write_text(text, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=300)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument(
        "--plain",
        action="store_true",
        help="Every host well behaved: only plain 200s with a 5 KB body.",
    )
    parser.add_argument(
        "--profile", type=Path, help="Run archiver under cProfile, stats to FILE."
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        help="Keep the run's manifest.jsonl here, to compare two runs' verdicts.",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="Run archiver under py-spy (installed apart), its stacks to FILE.",
    )
    parser.add_argument(
        "--serve",
        type=float,
        metavar="SECONDS",
        help="Only serve the web for this long (to try a command on it by hand).",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    hosts = plan_hosts(args.hosts, rng, plain=args.plain)
    ca = trustme.CA()
    cert = ca.issue_cert(*(h.address for h in hosts if h.tls))
    chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
    parent, child = multiprocessing.Pipe()
    web = multiprocessing.get_context("fork").Process(
        target=_web,
        args=(hosts, args.latency, (chain, cert.private_key_pem.bytes()), child),
        daemon=True,
    )
    web.start()
    ready = parent.recv() if parent.poll(60) else None
    if not (isinstance(ready, tuple) and ready[0] == "ready"):
        print("the local web did not start", file=sys.stderr)
        return 1
    urls = plan_urls(hosts, args.urls, rng, port=ready[1])
    if args.serve is not None:
        Path("crawl-bench-ca.pem").write_bytes(ca.cert_pem.bytes())
        Path("crawl-bench-urls.txt").write_text("\n".join(urls) + "\n")
        print("serving; CA in crawl-bench-ca.pem, URLs in crawl-bench-urls.txt")
        time.sleep(args.serve)
        parent.send("stop")
        print(parent.recv())
        return 0
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        ca_pem = root / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_pem))
        write_articles(root / "articles", urls, per_article=100)
        python = [sys.executable]
        if args.py_spy is not None:
            python = ["py-spy", "record", "--subprocesses"]
            python += ["--format", "raw", "-o", str(args.py_spy.resolve())]
            python += ["--", sys.executable]
        if args.profile is not None:
            python += ["-m", "cProfile", "-o", str(args.profile.resolve())]
            python += ["-m", "archiver"]
        else:
            python += ["-m", "archiver"]
        command = [
            *python, "preserve", str(root / "articles"), "--out", str(root / "out"),
            "--allow-private", "--ca-bundle", str(ca_pem),
            "--concurrency", str(args.concurrency), "--per-host", str(args.per_host),
        ]  # fmt: skip
        env = {**os.environ, "ARCHIVER_TIMINGS": "1"}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        elapsed = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        parent.send("stop")
        seen = parent.recv()
        web.join(10)
        manifest = root / "out" / "manifest.jsonl"
        lines = manifest.read_text().splitlines() if manifest.exists() else []
        if args.manifest is not None and manifest.exists():
            args.manifest.write_bytes(manifest.read_bytes())
    if done.returncode not in (0, 1):
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    checked = len(lines)
    outcomes = Counter(json.loads(line)["outcome"] for line in lines)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    floor = bound(urls, hosts, args.latency, args.concurrency, args.per_host)
    kinds = Counter(h.kind for h in hosts)
    print(
        f"{args.urls} URLs over {args.hosts} hosts ({dict(kinds)}), "
        f"{args.latency * 1000:.0f} ms latency, concurrency {args.concurrency}, "
        f"per host {args.per_host}"
    )
    print(f"checked {checked} URLs: {dict(outcomes)}; {seen['requests']} requests")
    print(
        f"connections accepted: {seen['connections']}, "
        f"{seen['tls_connections']} of them TLS"
    )
    print(f"wall {elapsed:.1f} s: {checked / elapsed:.1f} URLs/s")
    print(f"bound {floor:.1f} s: achieved / bound = {floor / elapsed:.2f}")
    print(
        f"in flight at the servers: mean {seen['mean']:.1f}, peak {seen['peak']}, "
        f"most at one host {seen['host_peak']}"
    )
    print(f"CPU {cpu:.1f} s: {cpu / max(checked, 1) * 1000:.2f} ms per URL")
    print(f"peak memory of the archiver process: {after.ru_maxrss / 1024:.0f} MB")
    for line in done.stderr.splitlines():
        if '"timings"' in line or line.startswith("timings:"):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
