"""Resolve host names once per run and refuse addresses that are not public.

An archiver fed URLs from articles must not become a way to probe the
archiving machine's own network, so by default a URL whose host is, or
resolves to, a loopback, private, link-local, multicast or reserved address is
refused, and so is a connection that ends up at one (see ``check_peer``).
"""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import httpcore
import trio

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SocketOption = tuple[Any, ...]  # as httpcore passes them to setsockopt

# getaddrinfo answers that mean "this name does not exist", as opposed to
# "the resolver could not be asked" (EAI_AGAIN, EAI_FAIL), which may pass.
_NAME_NOT_FOUND = {
    getattr(socket, name)
    for name in ("EAI_NONAME", "EAI_NODATA", "EAI_ADDRFAMILY")
    if hasattr(socket, name)
}


# IPv6 ranges that carry an IPv4 address in their last 32 bits. A connection
# to one may end at that IPv4 address (a NAT64 gateway, or a stack that still
# honours the deprecated IPv4-compatible form), so it is only as public as
# the IPv4 address it carries.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052, the well-known prefix
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 2.5.5.1, deprecated
# Translation prefixes for a site's own network (RFC 8215): never public.
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries by a standard embedding.

    IPv4-mapped (``::ffff:a.b.c.d``), IPv4-compatible (``::a.b.c.d``), NAT64
    (``64:ff9b::a.b.c.d``), 6to4 (``2002:AABB:CCDD::``) and Teredo (server and
    client address of ``2001::/32``).
    """
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _NAT64 or address in _COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return tuple(found)


def is_public(address: IPAddress) -> bool:
    """Whether an address is one the open internet routes to.

    An IPv6 address that embeds an IPv4 address is public only when every
    address it embeds is (``[::ffff:127.0.0.1]`` and ``[64:ff9b::7f00:1]`` are
    loopback in disguise).
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return False
        embedded = embedded_ipv4(address)
        if embedded:
            if not all(is_public(inner) for inner in embedded):
                return False
            if address.ipv4_mapped is not None:
                return True  # the mapped range is "private" as IPv6, by its name
    return address.is_global and not address.is_multicast


def parse_ip(host: str) -> IPAddress | None:
    """The address a host literal names (``[::1]`` included), or None for names."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolving one host gave: its addresses, or why there are none."""

    addresses: tuple[IPAddress, ...] = ()
    error: str | None = None
    not_found: bool = False  # the name does not exist (as far as DNS says)

    @property
    def private(self) -> tuple[IPAddress, ...]:
        return tuple(a for a in self.addresses if not is_public(a))


class Resolver:
    """Caches one resolution per host for the whole run.

    Caching keeps a run over thousands of links to one site from asking DNS
    thousands of times, and makes a machine with no network fail every host in
    milliseconds instead of waiting on each URL.
    """

    def __init__(
        self, lookup: Callable[[str], Awaitable[Resolution]] | None = None
    ) -> None:
        self._cache: dict[str, Resolution] = {}
        self._locks: dict[str, trio.Lock] = {}
        self._lookup = lookup or _getaddrinfo

    async def resolve(self, host: str) -> Resolution:
        literal = parse_ip(host)
        if literal is not None:
            return Resolution(addresses=(literal,))
        lock = self._locks.setdefault(host, trio.Lock())
        async with lock:
            if host not in self._cache:
                self._cache[host] = await self._lookup(host)
        return self._cache[host]


async def _getaddrinfo(host: str) -> Resolution:
    """Ask the system resolver, and say whether a failure means "no such name"."""
    try:
        infos = await trio.socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        code = exc.args[0] if exc.args else None
        return Resolution(
            error=f"{host} did not resolve: {exc.strerror or exc}",
            not_found=code in _NAME_NOT_FOUND,
        )
    except (UnicodeError, OSError) as exc:
        return Resolution(error=f"{host} did not resolve: {exc}")
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = parse_ip(str(sockaddr[0]).split("%", 1)[0])
        if address is not None:
            seen[address] = None
    if not seen:
        return Resolution(error=f"{host} resolved to no address", not_found=True)
    return Resolution(addresses=tuple(seen))


class PrivateAddressRefused(httpcore.ConnectError):
    """Raised by :class:`GuardedBackend` instead of connecting to a private address."""


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolve, check, then connect to the address that was checked.

    Checking a name and letting the connection library resolve it again opens
    a gap (DNS rebinding: public when asked, private when connected). Here the
    one resolution is both checked and used: the socket is opened to that
    address, while TLS still verifies the certificate against the host name.
    """

    def __init__(
        self,
        resolver: Resolver,
        *,
        allow_private: bool,
        allowed: Iterable[str] = (),
    ) -> None:
        self._resolver = resolver
        self._allow_private = allow_private
        self._allowed = frozenset(allowed)
        self._inner = httpcore.TrioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkBackend
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        resolution = await self._resolver.resolve(host)
        if resolution.error is not None:
            raise httpcore.ConnectError(resolution.error)
        if (
            not self._allow_private
            and resolution.private
            and not is_allowed(self._allowed, host, port)
        ):
            raise PrivateAddressRefused(describe_private(host, resolution.private[0]))
        failure: httpcore.ConnectError | None = None
        for address in resolution.addresses:
            try:
                return HeadRecorder(
                    await self._inner.connect_tcp(
                        str(address), port, timeout, local_address, socket_options
                    )
                )
            except httpcore.ConnectError as exc:
                failure = exc  # try the host's next address, as browsers do
        raise failure or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore.AsyncNetworkBackend
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def is_allowed(allowed: Iterable[str], host: str, port: int) -> bool:
    """Whether ``--allow-private-host`` names this host, or this host and port."""
    name = host.strip("[]").lower()
    return any(
        entry in (name, f"{name}:{port}", f"[{name}]:{port}") for entry in allowed
    )


def describe_private(host: str, address: IPAddress) -> str:
    """The one-line explanation the manifest gives for a refused address."""
    if host.strip("[]") == str(address):
        return f"{host} is a non-public address; --allow-private permits it"
    return f"{host} resolves to non-public {address}; --allow-private permits it"


# A response head longer than this is not kept raw (the fetcher's header
# limit refuses far smaller ones); the record then falls back to the parsed
# headers.
MAX_RAW_HEAD: Final = 1 << 20


class Received:
    """What one response brought that the HTTP parser does not keep.

    Filled in while the response is read: :attr:`head` once its blank line
    has arrived, :attr:`trailers` once a chunked body's last chunk and its
    trailer fields have (each field line as sent, line end included; empty
    when there were none). One per response, so a connection that goes
    back to the pool and carries the next request never changes what an
    earlier response received.
    """

    __slots__ = ("head", "trailers")

    def __init__(self) -> None:
        self.head: bytes | None = None
        self.trailers: bytes | None = None


class ChunkFollower:
    """Follows a chunked body's framing, byte by byte, to find its trailer."""

    def __init__(self, into: Received) -> None:
        self._into = into
        self._state = "size"  # size, data, data-end, trailer, done
        self._left = 0
        self._line = bytearray()
        self._trailer = bytearray()

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes | bytearray) -> None:
        """Follow ``data``, the next bytes of the body, without copying its chunks.

        Called on every read of the body, so a body of many tiny chunks
        costs one pass over it: lines are found from a moving position,
        and chunk data is skipped by count.
        """
        pos, end = 0, len(data)
        while pos < end and self._state != "done":
            if self._state == "data":
                step = min(self._left, end - pos)
                self._left -= step
                pos += step
                if not self._left:
                    self._state = "data-end"
                continue
            newline = data.find(b"\n", pos)
            if newline < 0:
                self._keep(data[pos:])
                return
            self._keep(data[pos : newline + 1])
            pos = newline + 1
            self._line_ends()

    def _keep(self, part: bytes | bytearray) -> None:
        self._line += part
        if len(self._line) + len(self._trailer) > MAX_RAW_HEAD:
            self._state = "done"  # not framing we can follow: keep nothing

    def _line_ends(self) -> None:
        line, self._line = bytes(self._line), bytearray()
        if self._state == "data-end":
            self._state = "size"
        elif self._state == "size":
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self._state = "done"
                return
            self._state = "data" if size else "trailer"
            self._left = size
        elif self._state == "trailer":
            if line.strip():
                self._trailer += line
            else:
                self._into.trailers = bytes(self._trailer)
                self._state = "done"


_CHUNKED: Final = re.compile(rb"(?im)^transfer-encoding[ \t]*:[^\n]*\bchunked\b")


class HeadRecorder(httpcore.AsyncNetworkStream):
    """A connection that keeps the bytes of each response head as they arrived.

    The HTTP parser tidies what it reads (a space after ``X-NoSpace:``, tabs
    trimmed, folded lines joined, LF made CRLF) and drops a chunked body's
    trailer fields; evidence must hold the status line, header block and
    trailer exactly as the server sent them. Every request written starts a
    new :class:`Received`; bytes read after it are kept up to the blank line
    that ends the head, and a chunked body's framing is followed to its
    trailer. The fetcher finds this stream in the response's
    ``network_stream`` extension and takes :attr:`received` at once.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._buffer = bytearray()
        self._open = False  # reading a head now
        self._chunks: ChunkFollower | None = None
        self.received = Received()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        # A request's bytes may go in several writes; none is read between.
        self._buffer.clear()
        self._open = True
        self._chunks = None
        self.received = Received()
        await self._inner.write(buffer, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        data = await self._inner.read(max_bytes, timeout)
        if self._open:
            self._buffer += data
            where = head_end(self._buffer)
            if where is not None:
                head = bytes(self._buffer[where[0] : where[1]])
                self.received.head = head
                self._open = False
                if _CHUNKED.search(head):
                    self._chunks = ChunkFollower(self.received)
                    self._chunks.feed(self._buffer[where[1] :])
                self._buffer.clear()
            elif len(self._buffer) > MAX_RAW_HEAD or not data:
                self._open = False
                self._buffer.clear()
        elif self._chunks is not None and not self._chunks.done:
            self._chunks.feed(data)
        return data

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        return HeadRecorder(
            await self._inner.start_tls(ssl_context, server_hostname, timeout)
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def head_end(data: bytes | bytearray) -> tuple[int, int] | None:
    """Where the response head lies (to its blank line), or None if not yet whole.

    A blank line is CRLF CRLF, or LF LF as lenient parsers (ours) accept.
    An interim 1xx head (``103 Early Hints``) is not the response's: the
    head that follows it is.
    """
    start = 0
    while True:
        ends = [
            i + len(mark)
            for mark in (b"\r\n\r\n", b"\n\n", b"\n\r\n")
            if (i := data.find(mark, start)) >= 0
        ]
        if not ends:
            return None
        end = min(ends)
        if not _INTERIM.match(bytes(data[start : start + 16])):
            return start, end
        start = end


_INTERIM: Final = re.compile(rb"HTTP/1\.[01] 1\d\d\b")
