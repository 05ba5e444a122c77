"""A store of many nights with every kind of link history, written through the store.

Thirty nights over sixty links cited by ten articles: deaths confirmed and
not, revivals, bot walls, flaky servers, drift and drift back, records with
no digest, citations removed and added back, an article withdrawn, a check
recorded after a later run's, two checks at the same time, news pages whose
bytes change every night and whose text changes once (one of them from a
store older than main-text digests). The same seed
always gives the same store.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from archiver.models import (
    Article,
    Citation,
    LinkKind,
    LinkStatus,
    NormalizedURL,
    Outcome,
    RecordRef,
    Target,
)
from archiver.store.base import Store

T0 = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
NIGHTS = 30
LINKS = 60
OPTIONS = {"dead_after_failures": 3, "dead_after_days": 3}
FATES = (
    "alive", "dies", "revives", "blocked", "flaky", "drifts", "back", "bare",
    "news", "oldnews",
)  # fmt: skip


def night(n: int) -> datetime:
    return T0 + timedelta(days=n)


def status(rng: random.Random, url: str, fate: str, n: int) -> LinkStatus:
    outcome, reason = Outcome.ALIVE, "ok"
    code: int | None = 200
    if (fate == "dies" and n >= 9) or (fate == "revives" and 4 <= n < 12):
        outcome, reason, code = Outcome.DEAD, "http-404", 404
    elif fate == "blocked" or (fate == "flaky" and rng.random() < 0.4):
        outcome, reason, code = Outcome.BLOCKED, "http-403", 403
    elif rng.random() < 0.05:
        outcome, reason, code = Outcome.ERROR, "timeout", None
    record = None
    media: str | None = None
    text: str | None = None
    if fate in ("news", "oldnews"):
        # A news page: new bytes every night (ads, timestamps), the article's
        # text edited once, on night 18. An old store's checks (before main
        # texts were kept) have no text digest: "oldnews" gets one from night 9.
        media = "text/html; charset=utf-8"
        if outcome is Outcome.ALIVE and (fate == "news" or n >= 9):
            text = f"sha256:{url}-text-{1 if n < 18 else 2}"
    if outcome is Outcome.ALIVE:
        version = 1
        if fate == "drifts":
            version = 1 + n // 10
        elif fate == "back":  # changes, then changes back
            version = 2 if 8 <= n < 16 else 1
        record = RecordRef(
            warc_file=f"w-{n}.warc.gz",
            offset=512 * n,
            payload_digest=None if fate == "bare" else f"sha1:{url}-{version}",
        )
        if media is not None:
            record = replace(record, payload_digest=f"sha1:{url}-night-{n}")
    return LinkStatus(
        url=url,
        kind=LinkKind.LINK,
        citations=(),
        outcome=outcome,
        reason=reason,
        detail="",
        http_status=code,
        attempts=1,
        content_type=media,
        text_digest=text,
        record=record,
        checked=night(n) + timedelta(minutes=rng.randint(1, 90)),
    )


def write_history(store: Store, seed: int = 17) -> None:
    """NIGHTS nights over LINKS links cited by ten articles, every fate mixed."""
    rng = random.Random(seed)
    paths = [f"posts/{n}.md" for n in range(10)]
    articles = [
        Article(
            path=Path(path),
            url=f"https://news.example/{n}",
            title=f"Article {n}",
            published=datetime(2015 + n, 3, 1, tzinfo=UTC) if n % 4 else None,
            body=path,
            text=path,
            sha256=f"{n:064d}",
        )
        for n, path in enumerate(paths)
    ]
    urls = [f"https://site{n % 7}.example/{n}" for n in range(LINKS)]
    fates = {url: FATES[n % len(FATES)] for n, url in enumerate(urls)}

    def targets(n: int) -> list[Target]:
        found = []
        for k, url in enumerate(urls):
            if k % 11 == 3 and 10 <= n < 20:
                continue  # an editor took it out, then put it back
            if k % 13 == 5 and n >= 15:
                continue  # taken out for good
            cites = [paths[k % 10]] + ([paths[(k + 3) % 10]] if k % 5 == 0 else [])
            found.append(
                Target(
                    url=NormalizedURL(url),
                    citations=tuple(
                        Citation(
                            article=p,
                            kind=LinkKind.IMAGE if k % 9 == 0 else LinkKind.LINK,
                            element="a",
                            attribute="href",
                            text=f"anchor {k}",
                        )
                        for p in cites
                    ),
                )
            )
        return found

    for n in range(NIGHTS):
        run_id = f"r{n:03d}"
        store.begin_run(run_id, night(n), OPTIONS)
        if n < 22:
            store.record_articles(articles, night(n))
            store.record_citations(targets(n), night(n), articles=paths)
        elif n == 22:  # its file is gone from the inputs
            store.withdraw([paths[7]], night(n))
        due = [u for k, u in enumerate(urls) if (n + k) % 3 == 0 or fates[u] != "alive"]
        statuses = [status(rng, url, fates[url], n) for url in due]
        if n == 6:  # two checks of one link at the very same time, runs apart
            statuses = [
                replace(s, checked=night(5) + timedelta(minutes=200))
                if s.url == urls[1]
                else s
                for s in statuses
            ]
        store.record_checks(run_id, statuses)
        store.finish_run(run_id, night(n) + timedelta(hours=2), {}, True)
    # A run that checked after the next one had started and finished.
    late = "r010b"
    store.begin_run(late, night(10) + timedelta(hours=1), OPTIONS)
    store.record_checks(
        late,
        [
            replace(
                status(rng, urls[2], "dies", 10), checked=night(11) + timedelta(hours=5)
            )
        ],
    )
    store.finish_run(late, night(11), {}, True)
