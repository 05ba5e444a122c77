"""Time, peak memory and page weight of ``archiver report`` on a big history.

Generates a store of N links checked over M nights straight into the real
schema (made by the store's own migrations, then filled with bulk inserts
and folded by the store's own ``replay``), as nightly's schedule would have
written it: alive links re-checked weekly, failing ones nightly until
confirmed dead, then weekly. The mix: most links alive (some of them with
content that changes), links that die during the year, links dead before
monitoring began, some that come back, bot walls, flaky servers; articles
citing several links, some links cited by several articles, citations
editors remove, articles withdrawn, articles added during the year.

Then runs the real CLI once per format in a child process, reading its
wall time and peak resident memory from ``wait4``, and opens the HTML in
headless Chromium over the DevTools protocol (``--remote-debugging-pipe``):
time from navigation to a page whose script has run and answers, and the
time one keystroke in the largest table's filter takes to filter and lay
out the rows.

    python bench/report_bench.py [--links 100000] [--nights 365] [--keep DIR]

The generated store is kept in DIR (when given) and reused when its size
matches. Results are written down in the README ("Report at scale").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archiver.store.sql import replay
from archiver.store.sqlite import SQLiteStore

FORMATS = ("html", "md", "csv", "json", "links-csv")
FIRST_NIGHT = datetime(2025, 1, 1, 3, 0, tzinfo=UTC)
LINKS_PER_ARTICLE = 6
HOSTS = 400  # cited domains


def stamp(when: datetime) -> str:
    return when.isoformat(timespec="microseconds")


@dataclass(frozen=True, slots=True)
class Fate:
    """What happens to one link over the year (night numbers)."""

    dies: int | None  # first night it answers 404 (0: dead before monitoring)
    revives: int | None  # night it answers again
    blocked: bool  # behind a bot wall from the start
    flaky: bool  # errors now and then
    drifts: tuple[int, ...]  # nights its content changes


def fate_of(rng: random.Random, nights: int) -> Fate:
    roll = rng.random()
    dies = revives = None
    blocked = flaky = False
    if roll < 0.07:
        dies = 0
    elif roll < 0.17:
        dies = rng.randrange(1, nights)
        if rng.random() < 0.15:
            revives = dies + rng.randrange(2, 40)
    elif roll < 0.21:
        blocked = True
    elif roll < 0.24:
        flaky = True
    drifts: tuple[int, ...] = ()
    if rng.random() < 0.2:
        drifts = tuple(sorted(rng.sample(range(1, nights), k=rng.randint(1, 3))))
    return Fate(dies=dies, revives=revives, blocked=blocked, flaky=flaky, drifts=drifts)


def outcome_on(
    fate: Fate, night: int, rng: random.Random
) -> tuple[str, str, int | None]:
    """(outcome, reason, http status) of a check on ``night``."""
    dead = fate.dies is not None and night >= fate.dies
    if dead and fate.revives is not None and night >= fate.revives:
        dead = False
    if dead:
        return "dead", "http-404", 404
    if fate.blocked:
        return "blocked", "http-403", 403
    if fate.flaky and rng.random() < 0.3:
        return "error", "timeout", None
    return "alive", "ok", 200


def checks_of(
    link: int,
    url: str,
    fate: Fate,
    first: int,
    starts: list[datetime],
    rng: random.Random,
) -> list[tuple[object, ...]]:
    """The rows of one link's checks, night by night as nightly schedules them."""
    rows: list[tuple[object, ...]] = []
    night = first
    failures, first_fail = 0, -1
    digest: str | None = None
    captured: str | None = None
    version = 0
    while night < len(starts):
        outcome, reason, status = outcome_on(fate, night, rng)
        when = starts[night] + timedelta(seconds=60 + (link * 7) % 7000)
        run_id = f"{starts[night]:%Y%m%dT%H%M%SZ}"
        payload = warc = revisit_uri = revisit_date = None
        offset = None
        if outcome == "alive":
            version += sum(1 for d in fate.drifts if d == night)
            payload = "sha1:" + hashlib.sha256(f"{url}#{version}".encode()).hexdigest()
            warc = f"archive-{night:04d}.warc.gz"
            offset = (link * 4096) % 900_000_000
            if payload == digest and captured is not None:
                revisit_uri, revisit_date = url, captured
            else:
                captured = f"{when:%Y-%m-%dT%H:%M:%SZ}"
            digest = payload
            failures = 0
        elif outcome == "dead":
            if failures == 0:
                first_fail = night
            failures += 1
        kind = "text/html" if outcome == "alive" else None
        rows.append(
            (url, run_id, stamp(when), outcome, reason, "", status, None, 1, kind,
             20_000, 0, payload, warc, offset, revisit_uri, revisit_date)
        )  # fmt: skip
        # nightly's schedule: failing and not yet confirmed -> tomorrow.
        confirmed = failures >= 3 and night - first_fail >= 3
        night += 1 if outcome == "dead" and not confirmed else 7
    return rows


def generate(path: Path, links: int, nights: int, seed: int = 17) -> None:
    """Write a store of ``links`` links over ``nights`` nightly runs to ``path``."""
    rng = random.Random(seed)
    SQLiteStore.open(path).close()  # the real schema, by the store's migrations
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")
    starts = [FIRST_NIGHT + timedelta(days=n) for n in range(nights)]
    run_ids = [f"{s:%Y%m%dT%H%M%SZ}" for s in starts]
    options = json.dumps({"dead_after_days": 3, "dead_after_failures": 3})
    db.executemany(
        "INSERT INTO runs (id, started, finished, options, counts, conclusive, status)"
        " VALUES (?, ?, ?, ?, '{}', 1, 'completed')",
        [
            (rid, stamp(s), stamp(s + timedelta(hours=2)), options)
            for rid, s in zip(run_ids, starts, strict=True)
        ],
    )
    n_articles = max(links // 5, 1)
    # Articles: most there from the first night, some added during the year.
    article_night = [
        0 if rng.random() < 0.8 else rng.randrange(nights) for _ in range(n_articles)
    ]
    articles = []
    for a in range(n_articles):
        year = 2008 + a % 18
        path_ = f"posts/{year}/{a:06d}-article.md"
        published = datetime(year, 1 + a % 12, 1 + a % 28, 12, tzinfo=UTC)
        seen = stamp(starts[article_night[a]])
        withdrawn = None
        if rng.random() < 0.01:
            withdrawn = stamp(starts[rng.randrange(article_night[a], nights)])
        sha = hashlib.sha256(path_.encode()).hexdigest()
        articles.append(
            (path_, f"https://news.example/{year}/{a}", f"Article number {a}",
             stamp(published), sha, sha, seen, stamp(starts[-1]), withdrawn)
        )  # fmt: skip
    db.executemany(
        "INSERT INTO articles (path, url, title, published, sha256, linked_sha256, "
        "first_seen, last_seen, withdrawn) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        articles,
    )
    # As Store.withdraw keeps it: the report counts an article's citations
    # by its absences, so without these rows a withdrawn article's links
    # would count in the trend's nights after it went.
    db.execute(
        "INSERT INTO withdrawals (article, withdrawn, returned) "
        "SELECT path, withdrawn, NULL FROM articles WHERE withdrawn IS NOT NULL"
    )
    # Links: each article's own page, then outbound links spread over hosts.
    urls: list[str] = []
    cites: list[tuple[int, int, str]] = []  # (article, link, kind)
    for a, row in enumerate(articles):
        if len(urls) >= links:
            break
        urls.append(row[1])
        cites.append((a, len(urls) - 1, "article"))
    while len(urls) < links:
        n = len(urls)
        host = f"site{n % HOSTS}.example"
        urls.append(f"https://www.{host}/page/{n}/{'x' * (n % 20)}")
    for link in range(len(articles), links):
        kind = rng.choices(("link", "image", "embed"), (85, 12, 3))[0]
        cites.append((rng.randrange(n_articles), link, kind))
        if rng.random() < 0.2:  # a popular link: cited by another article too
            cites.append((rng.randrange(n_articles), link, kind))
    first_night = [nights] * links
    citation_rows = []
    for seq, (a, link, kind) in enumerate(cites):
        added = article_night[a]
        first_night[link] = min(first_night[link], added)
        removed = None
        if kind != "article" and rng.random() < 0.03:
            removed = stamp(starts[rng.randrange(added, nights)])
        element = {"article": "a", "link": "a", "image": "img", "embed": "iframe"}[kind]
        citation_rows.append(
            (articles[a][0], urls[link], seq, kind, element, "href",
             f"anchor text {link}", "", None, stamp(starts[added]), removed)
        )  # fmt: skip
    db.executemany(
        "INSERT INTO urls (url, first_seen, fetchable) VALUES (?, ?, 1)",
        [
            (u, stamp(starts[min(first_night[i], nights - 1)]))
            for i, u in enumerate(urls)
        ],
    )
    db.executemany(
        "INSERT INTO citations (article, url, seq, kind, element, attribute, "
        "anchor_text, title, wrapped_by, added, removed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        citation_rows,
    )
    insert = (
        "INSERT INTO checks (url, run_id, checked, outcome, reason, detail, "
        "http_status, final_url, attempts, content_type, length, truncated, "
        "payload_digest, warc_file, warc_offset, revisit_uri, revisit_date) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    total = 0
    batch: list[tuple[object, ...]] = []
    for link, url in enumerate(urls):
        fate = fate_of(rng, nights)
        batch += checks_of(link, url, fate, first_night[link], starts, rng)
        if len(batch) > 200_000:
            db.executemany(insert, batch)
            total += len(batch)
            batch.clear()
    db.executemany(insert, batch)
    total += len(batch)
    db.commit()
    with SQLiteStore.open(path) as store, store._transaction(write=True) as conn:
        replay(conn)  # the store folds url_states itself
    db.execute("ANALYZE")
    db.close()
    print(f"generated {links} links, {len(citation_rows)} citations, {total} checks")


def run_report(store: Path, form: str, out: Path) -> tuple[float, float, int]:
    """Wall and CPU seconds and peak RSS (MB) of the real CLI writing one format.

    CPU time (user and system) is what a loaded machine moves least.
    """
    start = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "archiver", "report", "--store", str(store),
         "--format", form, "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"report --format {form} failed: {stderr[-500:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


class DevTools:
    """Chromium driven over ``--remote-debugging-pipe`` (fds 3 and 4)."""

    def __init__(self, profile: Path) -> None:
        chromium = shutil.which("chromium")
        if chromium is None:
            raise SystemExit("chromium not found")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        os.set_inheritable(to_child_r, True)
        os.set_inheritable(from_child_w, True)

        def fds() -> None:
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.process = subprocess.Popen(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-background-networking",
             "--remote-debugging-pipe", f"--user-data-dir={profile}",
             "--window-size=1280,900"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, object]] = []

    def send(self, method: str, params: dict[str, object] | None = None,
             session: str | None = None) -> dict[str, object]:  # fmt: skip
        self._id += 1
        message: dict[str, object] = {
            "id": self._id,
            "method": method,
            "params": params or {},
        }
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise SystemExit(f"{method}: {answer['error']}")
                result = answer.get("result")
                return result if isinstance(result, dict) else {}
            self.events.append(answer)

    def wait_event(self, name: str) -> None:
        while True:
            for n, event in enumerate(self.events):
                if event.get("method") == name:
                    del self.events[: n + 1]
                    return
            self.events.append(self._read())

    def _read(self) -> dict[str, object]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise SystemExit("chromium closed the pipe")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\0", 1)
        found = json.loads(line)
        return found if isinstance(found, dict) else {}

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


KEYSTROKE = """
(() => {
  const inputs = Array.from(document.querySelectorAll("input[data-filter]"));
  const biggest = inputs.map((i) => [i, document.getElementById(i.dataset.filter)])
    .sort((a, b) => b[1].rows.length - a[1].rows.length)[0];
  if (!biggest) return JSON.stringify({rows: 0, times: []});
  const [input, table] = biggest;
  input.scrollIntoView();  // a reader types with the table in view
  document.body.getBoundingClientRect();
  const times = [];
  for (const value of ["p", "pa", "pag", "page", "page/", "page/1", "page/", ""]) {
    const start = performance.now();
    input.value = value;
    input.dispatchEvent(new Event("input"));
    document.body.getBoundingClientRect();  // the layout the reader waits for
    void document.body.offsetHeight;
    times.push(performance.now() - start);
  }
  return JSON.stringify({rows: table.rows.length, table: table.id, times: times});
})()
"""


def browser(page: Path, profile: Path) -> tuple[float, float, int]:
    """(seconds to interactive, worst ms per keystroke, rows of the filtered table)."""
    tools = DevTools(profile)
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"})
        attached = tools.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        session = str(attached["sessionId"])
        tools.send("Page.enable", session=session)
        start = time.perf_counter()
        tools.send("Page.navigate", {"url": page.as_uri()}, session)
        tools.wait_event("Page.loadEventFired")
        # Interactive: the load is done and the main thread answers a script.
        tools.send("Runtime.evaluate", {"expression": "1"}, session)
        ready = time.perf_counter() - start
        answer = tools.send(
            "Runtime.evaluate",
            {"expression": KEYSTROKE, "returnByValue": True},
            session,
        )
        found = json.loads(str(answer["result"]["value"]))  # type: ignore[index]
        return ready, max(found["times"], default=0.0), int(found["rows"])
    finally:
        tools.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=100_000)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--keep", type=Path, help="folder to keep the store in")
    parser.add_argument("--formats", nargs="*", default=list(FORMATS))
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="report-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / f"store-{args.links}x{args.nights}.sqlite3"
    if not store.exists():
        start = time.perf_counter()
        # In a process of its own: a report's child forked from a parent that
        # had generated the store would start with the parent's gigabytes in
        # its peak resident memory (``ru_maxrss`` is kept across exec).
        maker = multiprocessing.get_context("spawn").Process(
            target=generate, args=(store, args.links, args.nights)
        )
        maker.start()
        maker.join()
        if maker.exitcode != 0:
            raise SystemExit(f"generating the store failed (exit {maker.exitcode})")
        print(f"generation took {time.perf_counter() - start:.0f} s")
    checks = sqlite3.connect(store).execute("SELECT COUNT(*) FROM checks").fetchone()[0]
    print(f"store: {args.links} links x {args.nights} nights, {checks} checks")
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("| format | seconds | CPU seconds | peak MB | output MB |")
    print("| --- | --- | --- | --- | --- |")
    for form in args.formats:
        out = folder / f"report.{form}"
        seconds, cpu, peak = run_report(store, form, out)
        size = out.stat().st_size / 1e6
        row = f"| {form} | {seconds:.1f} | {cpu:.1f} | {peak} | {size:.1f} |"
        print(row, flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}")
    page = folder / "report.html"
    if page.exists():
        ready, keystroke, rows = browser(page, folder / "profile")
        print(f"chromium: interactive in {ready:.2f} s; worst keystroke "
              f"{keystroke:.0f} ms over a table of {rows} rows")  # fmt: skip
    if args.keep is None:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()
