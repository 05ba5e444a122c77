"""The private-address guard: which addresses are public, and resolution caching."""

from __future__ import annotations

import contextlib
import ipaddress
import uuid
from typing import cast

import httpx
import pytest
import trio

from archiver.crawl.client import (
    ClientSettings,
    GuardedTransport,
    build_client,
    ssl_context,
)
from archiver.crawl.netguard import (
    ChunkFollower,
    GuardedBackend,
    PrivateAddressRefused,
    Received,
    Resolution,
    Resolver,
    embedded_ipv4,
    is_public,
    parse_ip,
)
from archiver.models import NormalizedURL
from archiver.urls import hostname, normalise


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        # IPv6 forms that carry an IPv4 address are as public as that address
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::a00:1", False),  # IPv4-compatible 10.0.0.1
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::808:808", True),  # NAT64 of 8.8.8.8
        ("64:ff9b:1::808:808", False),  # a local NAT64 prefix is never public
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::1", False),  # 6to4 of 192.168.1.1
        ("2002:808:808::1", True),  # 6to4 of 8.8.8.8
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:0:808:808:0:f227:80ff:fffe", False),  # Teredo, client 127.0.0.1
    ],
)
def test_is_public(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:10.0.0.1", ["10.0.0.1"]),
        ("::7f00:1", ["127.0.0.1"]),
        ("64:ff9b::7f00:1", ["127.0.0.1"]),
        ("2002:7f00:1::", ["127.0.0.1"]),
        ("2001:0:808:808:0:f227:80ff:fffe", ["8.8.8.8", "127.0.0.1"]),
        ("2606:4700:4700::1111", []),
    ],
)
def test_embedded_ipv4(address, embedded):
    found = embedded_ipv4(ipaddress.IPv6Address(address))
    assert [str(a) for a in found] == embedded


def test_parse_ip_takes_bracketed_ipv6_and_rejects_names():
    assert parse_ip("[::1]") == ipaddress.ip_address("::1")
    assert parse_ip("127.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert parse_ip("example.org") is None


async def test_resolver_answers_literals_and_localhost():
    resolver = Resolver()
    literal = await resolver.resolve("127.0.0.1")
    assert literal.private == (ipaddress.ip_address("127.0.0.1"),)
    local = await resolver.resolve("localhost")
    assert local.error is None
    assert local.private  # every localhost address is loopback


async def test_resolver_reports_names_that_do_not_exist():
    resolver = Resolver()
    first = await resolver.resolve("no-such-name.invalid")
    assert first.error is not None
    assert "no-such-name.invalid" in first.error
    assert first.not_found
    assert await resolver.resolve("no-such-name.invalid") is first  # cached


def fixed(table: dict[str, str]) -> Resolver:
    """A resolver that answers from ``table``: a name we control, resolving anywhere."""

    async def lookup(host: str) -> Resolution:
        if host not in table:
            return Resolution(error=f"{host} did not resolve", not_found=True)
        return Resolution(addresses=(ipaddress.ip_address(table[host]),))

    return Resolver(lookup)


async def test_guarded_backend_refuses_before_connecting(fakeweb):
    backend = GuardedBackend(
        fixed({"rebind.example": "127.0.0.1"}), allow_private=False
    )
    before = fakeweb.ledger.paths()
    with pytest.raises(
        PrivateAddressRefused, match=r"resolves to non-public 127\.0\.0\.1"
    ):
        await backend.connect_tcp("rebind.example", fakeweb.port)
    assert fakeweb.ledger.paths() == before


async def test_the_client_connects_to_the_address_that_was_checked(fakeweb, tmp_path):
    # "rebind.example" exists only in our resolver: if the connection library
    # resolved it again, nothing would answer.
    table = {"rebind.example": "127.0.0.1"}
    url = f"http://rebind.example:{fakeweb.port}/page/guarded-{uuid.uuid4().hex}"
    allowed = GuardedBackend(fixed(table), allow_private=True)
    async with build_client(
        ClientSettings(user_agent="t"), timeout=5, concurrency=2, guard=allowed
    ) as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert fakeweb.ledger.headers("/" + url.split("/", 3)[3])["Host"].startswith(
        "rebind.example"
    )
    refused = GuardedBackend(fixed(table), allow_private=False)
    async with build_client(
        ClientSettings(user_agent="t"), timeout=5, concurrency=2, guard=refused
    ) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get(url)
    assert isinstance(caught.value.__cause__, PrivateAddressRefused)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/slow/3", httpx.ReadTimeout),  # no status line within the timeout
        ("/reset", httpx.RemoteProtocolError),  # the body broken off mid-way
        ("/malformed", httpx.RemoteProtocolError),  # no header line
        ("/reset-early", httpx.RemoteProtocolError),  # nothing at all
    ],
)
async def test_the_guarded_transport_raises_httpx_errors_with_their_cause(
    fakeweb, path, error
):
    """The fetcher classifies httpx's exception classes, whatever httpcore raised."""
    guard = GuardedBackend(Resolver(), allow_private=True)
    async with build_client(
        ClientSettings(user_agent="t"), timeout=0.5, concurrency=2, guard=guard
    ) as client:
        with pytest.raises(error) as caught:
            async with client.stream("GET", fakeweb.url(path)) as response:
                await response.aread()
    assert caught.value.__cause__ is not None
    assert type(caught.value.__cause__).__module__.startswith("httpcore")
    assert caught.value.request.url == fakeweb.url(path)


@pytest.mark.parametrize(
    "raw",
    [
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0177.1/",
        "http://[::ffff:7f00:1]/",
    ],
)
async def test_numeric_spellings_of_loopback_are_refused(raw):
    # A browser reads all of these as 127.0.0.1; so does normalise, so the
    # guard sees a literal address, never a "name" to look up.
    host = hostname(cast("NormalizedURL", normalise(raw)))
    assert parse_ip(host) is not None
    resolution = await Resolver().resolve(host)
    assert resolution.private
    backend = GuardedBackend(Resolver(), allow_private=False)
    with pytest.raises(PrivateAddressRefused):
        await backend.connect_tcp(host.strip("[]"), 80)


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_a_chunked_body_is_followed_to_its_trailer_however_it_is_read(step):
    body = (
        b"5;name=value\r\nhello\r\n3\r\n, w\r\n4\r\norld\r\n0\r\n"
        b"X-Checksum: 0123\r\nX-Signed:yes\r\n\r\n"
    )
    received = Received()
    chunks = ChunkFollower(received)
    for start in range(0, len(body), step):
        assert received.trailers is None
        chunks.feed(body[start : start + step])
    assert chunks.done
    assert received.trailers == b"X-Checksum: 0123\r\nX-Signed:yes\r\n"


def test_a_chunked_body_without_trailer_fields_has_an_empty_trailer():
    received = Received()
    ChunkFollower(received).feed(b"2\r\nhi\r\n0\r\n\r\n")
    assert received.trailers == b""


def test_framing_that_is_not_chunked_keeps_no_trailer():
    received = Received()
    chunks = ChunkFollower(received)
    chunks.feed(b"zz\r\nnot a chunk size\r\n0\r\n\r\n")
    assert chunks.done
    assert received.trailers is None


async def test_each_origin_gets_its_own_pool_and_idle_ones_are_closed(fakeweb):
    # httpcore scans its whole pool on every request: one pool per origin
    # keeps that scan short, and only idle origins' pools are ever closed.
    names = [f"site{n}.example" for n in range(5)]
    token = uuid.uuid4().hex[:8]
    resolver = fixed(dict.fromkeys(names, "127.0.0.1"))
    transport = GuardedTransport(
        context=ssl_context(None),
        limits=httpx.Limits(),
        backend=GuardedBackend(resolver, allow_private=True),
        per_origin=2,
        keep_origins=2,
    )
    async with httpx.AsyncClient(transport=transport) as client:
        first = f"http://{names[0]}:{fakeweb.port}/page/pool-{token}"
        async with client.stream("GET", first) as held:  # its body not read yet
            for name in names[1:]:
                answer = await client.get(f"http://{name}:{fakeweb.port}/page/{token}")
                assert answer.status_code == 200
                assert transport.origins <= 2
            body = await held.aread()
        assert held.status_code == 200
        assert token.encode() in body
        again = await client.get(first)
        assert again.status_code == 200
    assert transport.origins == 0


async def test_idle_origins_closed_by_two_requests_at_once_are_closed_once(fakeweb):
    # Pools past keep_origins stay open while busy; once idle, the next new
    # origins close them. Closing waits on sockets, so a second new origin
    # looks for idle pools meanwhile: it must not close one the first is
    # closing (that was a KeyError that ended the run).
    names = [f"busy{n}.example" for n in range(8)]
    token = uuid.uuid4().hex[:8]
    transport = GuardedTransport(
        context=ssl_context(None),
        limits=httpx.Limits(),
        backend=GuardedBackend(
            fixed(dict.fromkeys(names, "127.0.0.1")), allow_private=True
        ),
        per_origin=1,
        keep_origins=2,
    )

    def url(name: str) -> str:
        return f"http://{name}:{fakeweb.port}/page/{token}"

    async with httpx.AsyncClient(transport=transport) as client:
        async with contextlib.AsyncExitStack() as held:  # all busy at once
            answers = [
                await held.enter_async_context(client.stream("GET", url(name)))
                for name in names[:6]
            ]
            assert transport.origins == 6
            for answer in answers:  # read: each connection goes back idle
                await answer.aread()
        statuses: list[int] = []

        async def get(name: str) -> None:
            statuses.append((await client.get(url(name))).status_code)

        async with trio.open_nursery() as nursery:
            for name in names[6:]:
                nursery.start_soon(get, name)
        assert statuses == [200, 200]
        assert transport.origins <= 3
    assert transport.origins == 0
