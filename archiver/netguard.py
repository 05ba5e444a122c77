"""Resolve host names once per run and refuse addresses that are not public.

An archiver fed URLs from articles must not become a way to probe the
archiving machine's own network, so by default a URL whose host is, or
resolves to, a loopback, private, link-local, multicast or reserved address is
refused, and so is a connection that ends up at one (see ``check_peer``).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass

import trio

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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

    def __init__(self) -> None:
        self._cache: dict[str, Resolution] = {}
        self._locks: dict[str, trio.Lock] = {}

    async def resolve(self, host: str) -> Resolution:
        literal = parse_ip(host)
        if literal is not None:
            return Resolution(addresses=(literal,))
        lock = self._locks.setdefault(host, trio.Lock())
        async with lock:
            if host not in self._cache:
                self._cache[host] = await self._lookup(host)
        return self._cache[host]

    @staticmethod
    async def _lookup(host: str) -> Resolution:
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


def describe_private(host: str, address: IPAddress) -> str:
    """The one-line explanation the manifest gives for a refused address."""
    if host.strip("[]") == str(address):
        return f"{host} is a non-public address; --allow-private permits it"
    return f"{host} resolves to non-public {address}; --allow-private permits it"


def is_refused_connection(exc: BaseException) -> bool:
    """Whether an OS error under an httpx error means 'connection refused'.

    trio reports a failed connect as one OSError whose cause is a group of
    the per-address errors, so the groups are searched too.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, OSError) and current.errno == errno.ECONNREFUSED
        ):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e)
    return "refused" in str(exc).lower()
