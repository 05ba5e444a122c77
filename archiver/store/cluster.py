"""One night shared by many workers: the frontier tables of a PostgreSQL store.

The process that starts a night plans it once (:func:`plan`, under the
store's nightly lock): every URL due tonight goes into ``frontier_urls``,
and each of their hosts into ``frontier_hosts``. Workers then take hosts,
not URLs: :meth:`Cluster.claim` leases unheld hosts with ``FOR UPDATE SKIP
LOCKED``, so two workers asking at once never get the same one and never
wait for each other, and since a host has one holder at a time, the
per-host limit of that holder is the limit for the whole cluster.

A lease ends at ``expires``, by the database's clock (so no two machines'
clocks have to agree); :meth:`Cluster.heartbeat` keeps a live worker's
leases from ending. A worker killed, or cut off from the database, stops
beating; once its leases have expired another worker claims those hosts
and fetches what was not committed. A check and the frontier row it
settles are written in one transaction (:meth:`Cluster.commit`), so a URL
is either done, or fetched again by the next holder of its host.

No queue library: procrastinate and pgqueuer lease jobs one at a time and
know nothing of hosts, and a host lease is three short statements.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import psycopg

from archiver.clock import now as clock_now
from archiver.errors import StoreError
from archiver.models import Capture, LinkStatus
from archiver.store.history import Check
from archiver.store.location import PostgresURL
from archiver.store.postgres import PostgresStore, connect
from archiver.store.rows import SELECT_CHECKS, row_check, to_text
from archiver.store.sql import one_line

# The database's time in milliseconds: leases never depend on a worker's clock.
_NOW_MS: Final = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)"

_NIGHT: Final = (
    "SELECT r.id FROM runs r WHERE r.status = 'running' AND EXISTS "
    "(SELECT 1 FROM frontier_hosts h WHERE h.run_id = r.id) "
    "ORDER BY r.started DESC, r.id DESC LIMIT 1"
)

_CLAIM: Final = f"""
    UPDATE frontier_hosts SET worker = %s, claims = claims + 1, drained = 0,
        expires = {_NOW_MS} + %s
    WHERE run_id = %s AND host IN (
        SELECT host FROM frontier_hosts
        WHERE run_id = %s AND finished IS NULL
          AND (expires IS NULL OR expires < {_NOW_MS})
        ORDER BY urls DESC, host
        LIMIT %s
        FOR UPDATE SKIP LOCKED)
    RETURNING host"""  # noqa: S608 - our constants

_PENDING: Final = (
    "SELECT url, digest, ref_uri, ref_date, ref_id FROM frontier_urls "
    "WHERE run_id = %s AND host = %s AND done IS NULL ORDER BY seq"
)

_BEAT: Final = (
    f"UPDATE frontier_hosts SET expires = {_NOW_MS} + %s "  # noqa: S608
    "WHERE run_id = %s AND worker = %s AND finished IS NULL RETURNING host"
)
_SEEN: Final = (
    f"UPDATE frontier_workers SET seen = {_NOW_MS} "  # noqa: S608
    "WHERE run_id = %s AND worker = %s"
)

# Someone else holds a host they have not yet fetched all of: it may come
# back (their lease may expire), so a worker with nothing to do waits.
_OTHERS_BUSY: Final = (
    "SELECT count(*) FROM frontier_hosts WHERE run_id = %s AND finished IS NULL "
    "AND drained = 0 AND worker IS DISTINCT FROM %s"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One URL of the night: its host, and the capture a revisit would refer to."""

    url: str
    host: str
    digest: str | None = None  # the payload digest of that capture
    capture: Capture | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Claimed:
    """A host leased to this worker, with its URLs not yet done."""

    host: str
    urls: tuple[Planned, ...]


def plan(store: PostgresStore, run_id: str, urls: Sequence[Planned]) -> int:
    """Write the night's frontier in one transaction; return how many hosts.

    Call it once per night, holding the store's nightly lock, after
    ``begin_run``: a night is planned by whoever starts it, and joined by
    the rest.
    """
    hosts: dict[str, int] = {}
    for item in urls:
        hosts[item.host] = hosts.get(item.host, 0) + 1
    with store.writing() as conn:
        conn.executemany(
            "INSERT INTO frontier_hosts (run_id, host, urls, claims, drained) "
            "VALUES (?, ?, ?, 0, 0)",
            [(run_id, host, count) for host, count in hosts.items()],
        )
        conn.executemany(
            "INSERT INTO frontier_urls (run_id, url, host, seq, digest, ref_uri, "
            "ref_date, ref_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    item.url,
                    item.host,
                    seq,
                    item.digest if item.capture else None,
                    item.capture.uri if item.capture else None,
                    item.capture.date if item.capture else None,
                    item.capture.record_id if item.capture else None,
                )
                for seq, item in enumerate(urls)
            ],
        )
    return len(hosts)


def known_captures(store: PostgresStore, urls: Iterable[str]) -> dict[str, Capture]:
    """What ``captures`` holds for these URLs' last payloads, by URL.

    Written by the workers that archived them (on any machine), so a
    planner needs no access to their files.
    """
    wanted = list(urls)
    found: dict[str, Capture] = {}
    with store.reading() as conn:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = conn.execute(
                "SELECT c.url, c.uri, c.date, c.record_id FROM captures c "  # noqa: S608
                "JOIN url_states s ON s.url = c.url AND s.digest = c.digest "
                f"WHERE c.url IN ({marks})",
                chunk,
            ).fetchall()
            for url, uri, date, record_id in rows:
                found[str(url)] = Capture(
                    uri=str(uri),
                    date=str(date),
                    record_id=str(record_id) if record_id else None,
                )
    return found


class Cluster:
    """One worker's part in a shared night: claims, heartbeats and commits.

    Leases go through a connection of their own, so a heartbeat never waits
    behind a batch of checks being written on the store's connection.
    """

    def __init__(
        self, store: PostgresStore, location: PostgresURL, worker: str, lease: float
    ) -> None:
        self._store = store
        self._name = str(location)
        self.worker = worker
        self._lease_ms = max(1, int(lease * 1000))
        self._conn = connect(location, purpose=f"worker {worker}")
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _run(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        """One statement in its own transaction; errors as one StoreError line."""
        with self._lock:
            try:
                with self._conn.transaction():
                    cursor = self._conn.execute(sql, tuple(params))
                    return cursor.fetchall() if cursor.description else []
            except psycopg.Error as exc:
                raise StoreError(f"{self._name}: {one_line(exc)}") from exc

    def hold_name(self, wait: float) -> bool:
        """Hold this worker's name for as long as this session lives; False if taken.

        Two live workers under one name would each take the other's hosts
        back as a dead namesake's (:meth:`take_back`) and fetch them at
        once. A session advisory lock on the name (within the store's
        schema) goes with its session, so a killed worker's name is free as
        soon as the server sees its connection close: a worker started
        again in its place waits up to ``wait`` seconds for that.
        """
        deadline = time.monotonic() + wait
        while True:
            rows = self._run(
                "SELECT pg_try_advisory_lock(hashtext(coalesce(current_schema(), "
                "'') || ' archiver worker ' || %s))",
                (self.worker,),
            )
            if rows and rows[0][0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)

    def night(self) -> str | None:
        """The night in progress that has a frontier, if there is one."""
        rows = self._run(_NIGHT, ())
        return str(rows[0][0]) if rows else None

    def join(self, run_id: str, folder: str) -> None:
        """Say that this worker works on ``run_id``, writing into ``folder``."""
        self._run(
            "INSERT INTO frontier_workers "  # noqa: S608 - our constants
            "(run_id, worker, folder, started, seen, lease) "
            f"VALUES (%s, %s, %s, %s, {_NOW_MS}, %s) ON CONFLICT (run_id, worker) "
            "DO UPDATE SET folder = EXCLUDED.folder, started = EXCLUDED.started, "
            "seen = EXCLUDED.seen, lease = EXCLUDED.lease, finished = NULL",
            (run_id, self.worker, folder, to_text(clock_now()), self._lease_ms),
        )

    def take_back(self, run_id: str) -> None:
        """End the leases a dead worker of this name held: this one is its heir.

        Only a worker that holds its folder's lock calls this, so no live
        process of the same name is working in it; names must be unique
        across the machines sharing the store (the machine's name is).
        """
        self._run(
            "UPDATE frontier_hosts SET expires = NULL, drained = 0 "
            "WHERE run_id = %s AND worker = %s AND finished IS NULL",
            (run_id, self.worker),
        )

    def claim(self, run_id: str, limit: int) -> list[Claimed]:
        """Lease up to ``limit`` hosts nobody holds; each with its URLs not done."""
        if limit < 1:
            return []
        with self._lock:
            try:
                with self._conn.transaction():
                    hosts = [
                        str(row[0])
                        for row in self._conn.execute(
                            _CLAIM,
                            (self.worker, self._lease_ms, run_id, run_id, limit),
                        ).fetchall()
                    ]
                    claimed = []
                    for host in sorted(hosts):
                        rows = self._conn.execute(_PENDING, (run_id, host))
                        urls = tuple(_planned(host, row) for row in rows.fetchall())
                        claimed.append(Claimed(host=host, urls=urls))
            except psycopg.Error as exc:
                raise StoreError(f"{self._name}: {one_line(exc)}") from exc
        return claimed

    def share(self, run_id: str) -> int:
        """The night's hosts per worker on it, rounded up: the most to hold at once.

        A worker holds up to ``--concurrency`` / ``--per-host`` hosts (16 by
        default); on a night of few hosts the first worker would take them
        all and the others find nothing. The workers counted are those the
        night was started with (``nightly --workers``, in the run's options)
        or those that joined it, whichever are more.
        """
        rows = self._run(
            "SELECT (SELECT count(*) FROM frontier_hosts WHERE run_id = %s), "
            "(SELECT count(*) FROM frontier_workers WHERE run_id = %s), "
            "(SELECT options FROM runs WHERE id = %s)",
            (run_id, run_id, run_id),
        )
        hosts, joined, options = rows[0] if rows else (0, 0, None)
        try:
            started = json.loads(str(options)).get("workers", 0)
        except (ValueError, AttributeError):
            started = 0
        workers = max(1, int(joined), started if isinstance(started, int) else 0)
        return max(1, math.ceil(int(hosts) / workers))

    def heartbeat(self, run_id: str) -> set[str]:
        """Extend every lease this worker holds by a whole lease; return its hosts.

        A host missing from the answer was taken by another worker while
        this one's beats had stopped (its lease lapsed): it is no longer ours.
        """
        rows = self._run(_BEAT, (self._lease_ms, run_id, self.worker))
        self._run(_SEEN, (run_id, self.worker))
        return {str(row[0]) for row in rows}

    def drained(self, run_id: str, host: str) -> None:
        """Nothing of ``host`` is left to fetch here; the lease stays till we leave."""
        self._run(
            "UPDATE frontier_hosts SET drained = 1 "
            "WHERE run_id = %s AND host = %s AND worker = %s",
            (run_id, host, self.worker),
        )

    def others_busy(self, run_id: str) -> int:
        """Hosts another worker holds, or held, and has not fetched all of."""
        rows = self._run(_OTHERS_BUSY, (run_id, self.worker))
        return int(rows[0][0]) if rows else 0

    def leave(self, run_id: str) -> None:
        """Everything this worker fetched is committed: its hosts are finished."""
        stamp = to_text(clock_now())
        self._run(
            "UPDATE frontier_hosts SET finished = %s, expires = NULL "
            "WHERE run_id = %s AND worker = %s AND finished IS NULL AND drained = 1",
            (stamp, run_id, self.worker),
        )
        self._run(
            "UPDATE frontier_workers SET finished = %s "
            "WHERE run_id = %s AND worker = %s",
            (stamp, run_id, self.worker),
        )

    def commit(self, run_id: str, statuses: Sequence[LinkStatus]) -> int:
        """Record checks and settle their frontier rows, in one transaction.

        Each record's file is named relative to the run folder
        (``<worker>/<file>``), where this worker's folder is, so the
        store's copies and the run's index name the same file.
        """
        named = [_in_folder(status, self.worker) for status in statuses]
        stamp = to_text(clock_now())
        with self._store.writing() as conn:
            added = self._store.add_checks(conn, run_id, named)
            conn.executemany(
                "UPDATE frontier_urls SET done = ?, worker = ? "
                "WHERE run_id = ? AND url = ? AND done IS NULL",
                [(stamp, self.worker, run_id, s.url) for s in named],
            )
            conn.executemany(
                "INSERT INTO captures (url, digest, uri, date, record_id, run_id, "
                "warc_file) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (url, digest) DO NOTHING",
                [
                    (
                        s.url,
                        s.record.payload_digest,
                        s.final_url or s.url,
                        s.record.date,
                        None,
                        run_id,
                        s.record.warc_file,
                    )
                    for s in named
                    if s.record is not None
                    and s.record.revisit_of is None
                    and s.record.payload_digest is not None
                    and s.record.date is not None
                ],
            )
        return added


def _in_folder(status: LinkStatus, worker: str) -> LinkStatus:
    if status.record is None:
        return status
    record = replace(status.record, warc_file=f"{worker}/{status.record.warc_file}")
    return replace(status, record=record)


def _planned(host: str, row: tuple[Any, ...]) -> Planned:
    url, digest, uri, date, record_id = row
    capture = (
        Capture(uri=str(uri), date=str(date), record_id=record_id)
        if uri is not None and date is not None
        else None
    )
    return Planned(
        url=str(url),
        host=host,
        digest=str(digest) if digest else None,
        capture=capture,
    )


def run_checks(store: PostgresStore, run_id: str) -> tuple[Check, ...]:
    """Every check one night committed, whichever worker wrote it, by URL."""
    with store.reading() as conn:
        rows = conn.execute(
            SELECT_CHECKS + "WHERE run_id = ? ORDER BY url", (run_id,)
        ).fetchall()
    return tuple(row_check(row) for row in rows)


def committed_offsets(store: PostgresStore, run_id: str) -> dict[str, int]:
    """Per WARC file of the night (``<worker>/<file>``), its last committed record."""
    with store.reading() as conn:
        rows = conn.execute(
            "SELECT warc_file, MAX(warc_offset) FROM checks "
            "WHERE run_id = ? AND warc_file IS NOT NULL GROUP BY warc_file",
            (run_id,),
        ).fetchall()
    return {str(name): int(str(offset)) for name, offset in rows}


def settling(store: PostgresStore, run_id: str) -> int:
    """Hosts a live worker has fetched all of and is still committing."""
    with store.reading() as conn:
        row = conn.execute(
            "SELECT count(*) FROM frontier_hosts WHERE run_id = ? "  # noqa: S608
            f"AND finished IS NULL AND drained = 1 AND expires > {_NOW_MS}",
            (run_id,),
        ).fetchone()
    return int(str(row[0])) if row else 0


def unfinished_hosts(store: PostgresStore, run_id: str) -> int:
    """Hosts of the night no worker has finished: someone must still come."""
    with store.reading() as conn:
        row = conn.execute(
            "SELECT count(*) FROM frontier_hosts h WHERE h.run_id = ? "
            "AND h.finished IS NULL AND EXISTS (SELECT 1 FROM frontier_urls u "
            "WHERE u.run_id = h.run_id AND u.host = h.host AND u.done IS NULL)",
            (run_id,),
        ).fetchone()
    return int(str(row[0])) if row else 0


@dataclass(frozen=True, slots=True, kw_only=True)
class HostProgress:
    host: str
    urls: int
    done: int
    worker: str | None
    state: str  # waiting, claimed, drained, finished, expired


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkerProgress:
    worker: str
    folder: str
    hosts: int  # held now (claimed, not finished)
    done: int  # URLs it committed
    seen: float  # seconds since its last heartbeat
    lease: float | None  # seconds of silence after which it is gone (None: unknown)
    finished: bool

    @property
    def gone(self) -> bool:
        """Not left, and silent for longer than its lease: killed or cut off."""
        return not self.finished and self.lease is not None and self.seen > self.lease


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """A shared night as ``archiver status`` prints it."""

    run_id: str
    status: str
    planned: int
    claimed: int  # URLs on hosts someone holds or held
    done: int
    workers: tuple[WorkerProgress, ...]
    hosts: tuple[HostProgress, ...]


_HOSTS: Final = f"""
    SELECT h.host, h.urls, h.worker, h.claims, h.expires, h.drained, h.finished,
        (SELECT count(*) FROM frontier_urls u
         WHERE u.run_id = h.run_id AND u.host = h.host AND u.done IS NOT NULL),
        {_NOW_MS}
    FROM frontier_hosts h WHERE h.run_id = ? ORDER BY h.host"""  # noqa: S608

_WORKERS: Final = f"""
    SELECT w.worker, w.folder, w.finished, {_NOW_MS} - w.seen, w.lease,
        (SELECT count(*) FROM frontier_urls u
         WHERE u.run_id = w.run_id AND u.worker = w.worker),
        (SELECT count(*) FROM frontier_hosts h WHERE h.run_id = w.run_id
         AND h.worker = w.worker AND h.finished IS NULL)
    FROM frontier_workers w WHERE w.run_id = ? ORDER BY w.worker"""  # noqa: S608


def progress(store: PostgresStore, run_id: str | None = None) -> Progress | None:
    """The night's frontier (default the latest shared one), None if none."""
    with store.reading() as conn:
        if run_id is None:
            row = conn.execute(
                "SELECT run_id FROM frontier_hosts h JOIN runs r ON r.id = h.run_id "
                "ORDER BY r.started DESC, r.id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            run_id = str(row[0])
        run = conn.execute("SELECT status FROM runs WHERE id = ?", (run_id,)).fetchone()
        if run is None:
            return None
        hosts = []
        for (
            host,
            urls,
            worker,
            claims,
            expires,
            drained,
            finished,
            done,
            now,
        ) in conn.execute(_HOSTS, (run_id,)).fetchall():
            if finished is not None:
                state = "finished"
            elif not claims:
                state = "waiting"
            elif expires is None or int(str(expires)) < int(str(now)):
                state = "expired"
            else:
                state = "drained" if drained else "claimed"
            hosts.append(
                HostProgress(
                    host=str(host),
                    urls=int(str(urls)),
                    done=int(str(done)),
                    worker=str(worker) if worker is not None else None,
                    state=state,
                )
            )
        workers = [
            WorkerProgress(
                worker=str(name),
                folder=str(folder),
                finished=finished is not None,
                seen=int(str(age)) / 1000,
                lease=int(str(lease)) / 1000 if lease is not None else None,
                done=int(str(done)),
                hosts=int(str(held)),
            )
            for name, folder, finished, age, lease, done, held in conn.execute(
                _WORKERS, (run_id,)
            ).fetchall()
        ]
    return Progress(
        run_id=run_id,
        status=str(run[0]),
        planned=sum(h.urls for h in hosts),
        claimed=sum(h.urls for h in hosts if h.state != "waiting"),
        done=sum(h.done for h in hosts),
        workers=tuple(workers),
        hosts=tuple(hosts),
    )
