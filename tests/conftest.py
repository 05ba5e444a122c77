"""Fixtures shared by the whole suite: a clean environment and the fake web."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakeweb.server import FakeWeb

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


@pytest.fixture(scope="session")
def fakeweb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeWeb]:
    web = FakeWeb(tmp_path_factory.mktemp("fakeweb"))
    web.start()
    yield web
    web.stop()
