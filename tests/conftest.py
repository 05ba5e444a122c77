"""Fixtures shared by the whole suite: a clean environment and the fake web."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from archiver.store.location import StoreLocation
from tests import stores
from tests.fakeweb.server import FakeWeb

# CI runs the same examples every time, so a red run always names a change;
# a developer's runs draw new ones, which is how property tests find bugs.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def _no_ambient_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to 127.0.0.1 directly, whatever the machine's settings."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True, scope="session")
def _crash_logs_stay_in_the_test_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """A bug met by a test writes its crash log here, not into the home folder."""
    before = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if before is None:
        del os.environ["XDG_STATE_HOME"]
    else:
        os.environ["XDG_STATE_HOME"] = before


@pytest.fixture(scope="session")
def fakeweb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeWeb]:
    web = FakeWeb(tmp_path_factory.mktemp("fakeweb"))
    web.start()
    yield web
    web.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[stores.SessionDatabase]:
    """The session's own PostgreSQL database (tests/stores.py), dropped at the end."""
    with stores.session_database() as database:
        yield database


@pytest.fixture(params=["sqlite", "postgresql"])
def new_location(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], StoreLocation]:
    """Makes locations of new, empty stores: SQLite files, or PostgreSQL schemas.

    A test that takes it runs once per kind of store: the contract both keep.
    """
    if request.param == "postgresql":
        database: stores.SessionDatabase = request.getfixturevalue("postgres")
        return database.new_store
    numbers = itertools.count()
    return lambda: tmp_path / f"store-{next(numbers)}" / "archiver.sqlite3"
