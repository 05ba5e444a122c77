"""Scaling out: one night on 1, 2 and 4 worker processes sharing a PostgreSQL store.

A local web of ``--hosts`` hosts (each its own loopback address, as in
``crawl_bench.py``, whose server this reuses; plain HTTP, every host well
behaved) answers every request after ``--latency`` seconds, from a process
of its own. Articles cite ``--urls-per-host`` pages of every host. For each
worker count, a fresh database on the PostgreSQL server ``--server`` gets
one ``archiver nightly --workers N`` (subprocess) over those articles, with
the given ``--concurrency`` and ``--per-host`` for each worker, so that
politeness and latency, not the CPU, limit one worker.

Printed per worker count: the night's wall time, URLs/s, the speed-up over
one worker, the CPU time of the night and its workers (user + system, per
URL), and the most requests any host had in flight at once (must never
exceed ``--per-host``, however many workers).

    python bench/workers_bench.py [--hosts H] [--urls-per-host U] [--latency S]
        [--concurrency C] [--per-host P] [--workers 1,2,4] [--server URL]

Results are written down in the README ("Scaling out").
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.crawl_bench import Host, _web, write_articles


def database(server: str, name: str) -> str:
    parts = urlsplit(server)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--urls-per-host", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument(
        "--server", default="postgresql://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    hosts = [
        Host(f"127.0.{1 + n // 250}.{1 + n % 250}", "ok", tls=False)
        for n in range(args.hosts)
    ]
    print(
        f"{len(hosts) * args.urls_per_host} URLs on {len(hosts)} hosts, "
        f"{args.latency * 1000:.0f} ms "
        f"latency; per worker --concurrency {args.concurrency} "
        f"--per-host {args.per_host}"
    )
    print("| workers | wall | URLs/s | speed-up | CPU per URL | host peak |")
    print("| --- | --- | --- | --- | --- | --- |")
    first_rate = None
    for workers in [int(n) for n in args.workers.split(",")]:
        parent, child = multiprocessing.Pipe()
        web = multiprocessing.get_context("fork").Process(
            target=_web,
            args=(hosts, args.latency, _unused_cert(), child),
            daemon=True,
        )
        web.start()
        ready = parent.recv() if parent.poll(60) else None
        if not (isinstance(ready, tuple) and ready[0] == "ready"):
            print("the local web did not start", file=sys.stderr)
            return 1
        port = ready[1]  # a free one: the web picks it
        urls = [
            f"{h.base(port)}/p/{n}" for h in hosts for n in range(args.urls_per_host)
        ]
        name = f"archiver_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f"CREATE DATABASE {name}")
        try:
            with tempfile.TemporaryDirectory() as folder:
                root = Path(folder)
                write_articles(root / "articles", urls, per_article=100)
                command = [
                    sys.executable, "-m", "archiver", "nightly",
                    str(root / "articles"), "--out", str(root / "out"),
                    "--store", database(args.server, name),
                    "--workers", str(workers), "--allow-private",
                    "--no-requisites", "--browser", "never",
                    "--concurrency", str(args.concurrency),
                    "--per-host", str(args.per_host), "--log-format", "json",
                ]  # fmt: skip
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.monotonic()
                done = subprocess.run(command, capture_output=True, text=True)
                wall = time.monotonic() - started
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
        finally:
            with psycopg.connect(args.server, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        parent.send("stop")
        counts = parent.recv()
        web.join()
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rate = len(urls) / wall
        first_rate = first_rate or rate
        print(
            f"| {workers} | {wall:.1f} s | {rate:.1f} | {rate / first_rate:.2f}x "
            f"| {cpu / len(urls) * 1000:.1f} ms | {counts['host_peak']} |",
            flush=True,
        )
    return 0


def _unused_cert() -> tuple[bytes, bytes]:
    """A certificate for the server's TLS context (no host here uses TLS)."""
    import trustme

    cert = trustme.CA().issue_cert("127.0.0.1")
    chain = b"".join(blob.bytes() for blob in cert.cert_chain_pems)
    return chain, cert.private_key_pem.bytes()


if __name__ == "__main__":
    sys.exit(main())
