"""What a forward proxy says when it could not reach a site for us.

Through ``--proxy``, a name that does not resolve or a server that refuses
does not fail our connection: the proxy answers instead, with a 502 or 503
of its own. Taken as the site's answer, that is a server error, retried and
never dead, and dead links go unseen. Proxies say what happened in two ways:

- RFC 9209's ``Proxy-Status`` field, a structured-field list (RFC 8941) with
  one member per intermediary, the one nearest the origin first, each with
  an ``error`` parameter from the IANA Proxy Error Types registry;
- Squid's ``X-Squid-Error`` field: the error page's name and an errno, as in
  ``ERR_DNS_FAIL 0`` or ``ERR_CONNECT_FAIL 111``.

Only errors about reaching the destination are read as the site's fate. A
proxy's own trouble (misconfigured, overloaded, looping) keeps its answer
as a plain server error, so a failing proxy never makes a link look dead,
and a proxy that cannot resolve anything meets the run's canary rule like a
local resolver that cannot.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import httpcore
from http_sfv.list import List as StructuredList

from archiver.models import FailureKind

# RFC 9209 section 2.3's error types that say the destination could not be
# reached or spoken to; the proxy's own failures are left out on purpose.
_PROXY_STATUS: Final[dict[str, FailureKind]] = {
    "dns_timeout": FailureKind.CONNECT,
    "destination_not_found": FailureKind.DNS,
    "destination_unavailable": FailureKind.CONNECT,
    "destination_ip_unroutable": FailureKind.CONNECT,
    "connection_refused": FailureKind.REFUSED,
    "connection_terminated": FailureKind.RESET,
    "connection_timeout": FailureKind.CONNECT_TIMEOUT,
    "connection_read_timeout": FailureKind.TIMEOUT,
    "connection_write_timeout": FailureKind.TIMEOUT,
    "tls_protocol_error": FailureKind.TLS,
    "tls_certificate_error": FailureKind.CERTIFICATE,
    "tls_alert_received": FailureKind.TLS,
}
# dns_error: NXDOMAIN is a name that does not exist; any other rcode
# (SERVFAIL, REFUSED) is a resolver that could not answer, which may pass.
_NO_SUCH_NAME: Final = "NXDOMAIN"

_SQUID: Final[dict[str, FailureKind]] = {
    "ERR_DNS_FAIL": FailureKind.DNS,
    "ERR_READ_TIMEOUT": FailureKind.TIMEOUT,
    "ERR_LIFETIME_EXP": FailureKind.TIMEOUT,
    "ERR_READ_ERROR": FailureKind.RESET,
    "ERR_ZERO_SIZE_OBJECT": FailureKind.RESET,
    "ERR_SECURE_CONNECT_FAIL": FailureKind.TLS,
}
_CONNECT_ERRNO: Final[dict[int, FailureKind]] = {
    errno.ECONNREFUSED: FailureKind.REFUSED,
    errno.ETIMEDOUT: FailureKind.CONNECT_TIMEOUT,
}


@dataclass(frozen=True, slots=True)
class ProxySignal:
    """A proxy's word that the destination could not be reached, and why."""

    kind: FailureKind
    said: str  # the field as the proxy wrote it, for the manifest's detail


class ProxyAnswered(httpcore.ProxyError):
    """A CONNECT the proxy refused, with what its answer said (if anything)."""

    def __init__(self, message: str, signal: ProxySignal | None) -> None:
        super().__init__(message)
        self.signal = signal


def head_fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields of a response head (status line first, as read)."""
    fields = []
    for line in head.split(b"\n")[1:]:
        name, colon, value = line.rstrip(b"\r").partition(b":")
        if colon and name and not name[:1].isspace():
            fields.append((name.strip(), value.strip()))
    return fields


def read(headers: Iterable[tuple[bytes, bytes]]) -> ProxySignal | None:
    """The destination failure a proxy's response headers report, if any.

    ``Proxy-Status`` wins over ``X-Squid-Error``: it is the standard, and a
    proxy that sends both means the same by them.
    """
    statuses: list[bytes] = []
    squid: bytes | None = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == b"proxy-status":
            statuses.append(value)
        elif lowered == b"x-squid-error":
            squid = value
    if statuses:
        found = _from_proxy_status(b", ".join(statuses))
        if found is not None:
            return found
    if squid is not None:
        return _from_squid(squid)
    return None


def _from_proxy_status(value: bytes) -> ProxySignal | None:
    members = StructuredList()
    try:
        members.parse(value)
    except ValueError:
        return None  # not a structured field: nothing can be read from it
    # The first member is the intermediary nearest the origin: the one that
    # tried to reach it. Later members only passed its answer on.
    for member in members:
        params = dict(member.params)
        error = params.get("error")
        if not isinstance(error, str):
            continue
        said = f"Proxy-Status: {value.decode('latin-1')}"
        if error == "dns_error":
            rcode = params.get("rcode")
            kind = FailureKind.DNS if rcode == _NO_SUCH_NAME else FailureKind.CONNECT
            return ProxySignal(kind, said)
        found = _PROXY_STATUS.get(error)
        return ProxySignal(found, said) if found is not None else None
    return None


def _from_squid(value: bytes) -> ProxySignal | None:
    text = value.decode("latin-1").strip()
    name, _, code = text.partition(" ")
    said = f"X-Squid-Error: {text}"
    if name == "ERR_CONNECT_FAIL":
        number = int(code) if code.isdigit() else -1
        return ProxySignal(_CONNECT_ERRNO.get(number, FailureKind.CONNECT), said)
    kind = _SQUID.get(name)
    return ProxySignal(kind, said) if kind is not None else None
