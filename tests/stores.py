"""Both kinds of history store for tests: SQLite files and a real PostgreSQL.

The PostgreSQL server is ``postgresql://postgres@127.0.0.1:5432/postgres``
unless ``ARCHIVER_TEST_POSTGRES`` names another (a postgresql:// URL of a
role that may create databases). A test session creates its own database,
``archiver_test_<random>``, and drops it at the end; each store a test asks
for is a schema of its own in it (the URL's ``search_path``), so tests never
see each other's rows and no test touches a database it did not make.

The database is made with ICU's English collation where the server has it,
unlike the C collation SQLite compares with: a query that forgot to compare
text as bytes then sorts URLs differently on the two, and a test sees it.

Unreachable server: under ``CI=true`` (which guarantees one) the tests that
need it fail, saying why; elsewhere they are skipped, saying why.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from archiver.store.location import PostgresURL, StoreLocation
from archiver.store.postgres import PostgresConnection
from archiver.store.sql import Connection
from archiver.store.sqlite import SQLiteConnection

ENV = "ARCHIVER_TEST_POSTGRES"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, database: str, query: str = "") -> str:
    """``url`` naming another database (and with ``query`` added to its own)."""
    parts = urlsplit(url)
    joined = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit(parts._replace(path=f"/{database}", query=joined))


@dataclass(frozen=True, slots=True)
class SessionDatabase:
    """The session's own database on the test server."""

    server: str  # the URL we connect to for CREATE and DROP DATABASE
    name: str

    @property
    def url(self) -> str:
        return with_database(self.server, self.name)

    def new_store(self) -> PostgresURL:
        """A URL whose store is a new, empty schema of this database."""
        schema = f"store_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return PostgresURL(
            with_database(self.server, self.name, f"options=-csearch_path%3D{schema}")
        )


def server_url() -> str:
    return os.environ.get(ENV) or DEFAULT_SERVER


def unreachable(why: str) -> None:
    """Fail under CI (it promises a server), else skip; either way say why."""
    message = (
        f"PostgreSQL at {PostgresURL(server_url())} is unreachable ({why}); "
        f"start it (pg_ctlcluster ... start) or set {ENV}"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@contextmanager
def session_database() -> Iterator[SessionDatabase]:
    """Create the session's database; drop it, and every store in it, at the end."""
    server = server_url()
    name = f"archiver_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        unreachable(" ".join(str(exc).split()))
        raise  # pragma: no cover - unreachable() never returns
    with admin:
        try:
            admin.execute(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        except psycopg.Error:  # a server without ICU: its default collation
            admin.execute(f"CREATE DATABASE {name}")
        try:
            yield SessionDatabase(server=server, name=name)
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def raw(location: StoreLocation) -> Iterator[Connection]:
    """A connection of the test's own to a store, in autocommit, ``?`` placeholders."""
    if isinstance(location, PostgresURL):
        with psycopg.connect(location.url, autocommit=True) as server:
            yield PostgresConnection(server)
        return
    location.parent.mkdir(parents=True, exist_ok=True)
    file = sqlite3.connect(location, isolation_level=None)
    try:
        yield SQLiteConnection(file)
    finally:
        file.close()


def table_names(location: StoreLocation) -> set[str]:
    with raw(location) as conn:
        if isinstance(location, Path):
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        return {str(row[0]) for row in conn.execute(sql).fetchall()}
