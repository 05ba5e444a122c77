"""Resolve host names once per run and refuse addresses that are not public.

An archiver fed URLs from articles must not become a way to probe the
archiving machine's own network, so by default a URL whose host is, or
resolves to, a loopback, private, link-local, multicast or reserved address is
refused, and so is a connection that ends up at one (see ``check_peer``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

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


def is_public(address: IPAddress) -> bool:
    """Whether an address is one the open internet routes to."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
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
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
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
