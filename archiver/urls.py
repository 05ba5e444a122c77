"""URL normalisation: one canonical spelling per resource, or a reason why not.

Articles spell the same URL many ways (upper-case hosts, lower-case escapes,
raw UTF-8 paths, stray spaces, fragments). The archive needs one spelling per
resource so a URL cited by ten articles is fetched once, and so the spelling
is safe to send on the wire. :func:`normalise` is that spelling, and it is
idempotent: normalising a normalised URL gives it back unchanged.

The rules, in the order they apply:

1. Surrounding whitespace (including NBSP and zero-width spaces) is trimmed;
   tabs and line breaks inside are removed, as browsers do. Any other control
   character makes the URL invalid.
2. A relative URL is resolved against ``base`` (``//host/path`` takes the
   base's scheme). A relative URL without a base is invalid.
3. Only ``http`` and ``https`` are fetched. Any other scheme (``mailto:``,
   ``javascript:``, ``data:``, ``tel:`` ...) is *skipped* with the reason
   ``scheme-<name>``.
4. Scheme and host are lower-cased; an IDN host becomes punycode; the default
   port (80, 443) is dropped; a bad port or an empty or malformed host makes
   the URL invalid.
5. In path and query, percent-escapes of unreserved characters
   (``A-Z a-z 0-9 - . _ ~``) are decoded, the others are upper-cased, a ``%``
   that starts no escape becomes ``%25``, and non-ASCII characters, spaces and
   other characters not allowed there are percent-encoded as UTF-8.
6. Dot segments (``/./``, ``/../``) are removed; an empty path becomes ``/``.
7. The query is kept as written, parameters in their order; an empty query
   and the fragment are dropped.

Nothing here raises: bad input comes back as a :class:`Rejection`.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import urljoin, urlsplit

import idna

from archiver.models import NormalizedURL, Outcome, Rejection

FETCHED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}

_TRIM = " \t\n\r\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff"
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HOST_CHARS = re.compile(r"[a-z0-9_\-.]+")
_UNRESERVED = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)
_HEX = frozenset("0123456789abcdefABCDEF")
# Characters left as they are, besides unreserved ones and escapes.
_PATH_SAFE = frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_USERINFO_SAFE = frozenset("!$&'()*+,;=:")


def normalise(raw: str, base: str | None = None) -> NormalizedURL | Rejection:
    """Return the canonical form of ``raw`` (resolved against ``base``), or why not.

    See the module docstring for the rules. Never raises.
    """
    try:
        return _normalise(raw, base)
    except (ValueError, UnicodeError) as exc:
        return _invalid("unparseable", f"cannot be parsed as a URL: {exc}")


def _normalise(raw: str, base: str | None) -> NormalizedURL | Rejection:
    text = raw.strip(_TRIM).replace("\t", "").replace("\n", "").replace("\r", "")
    if not text:
        return _invalid("empty-url", "the link has no URL in it")
    if _CONTROL.search(text):
        return _invalid("control-character", "the URL contains a control character")
    scheme_match = _SCHEME.match(text)
    if scheme_match is None:
        if base is None:
            return _invalid("relative-without-base", "a relative URL with no base")
        resolved_base = _normalised_base(base)
        if isinstance(resolved_base, Rejection):
            return _invalid(
                "bad-base", f"the article URL it is relative to is invalid: {base}"
            )
        text = urljoin(resolved_base, text)
        scheme_match = _SCHEME.match(text)
        if scheme_match is None:  # pragma: no cover - urljoin kept the base scheme
            return _invalid("relative-without-base", "a relative URL with no base")
    scheme = scheme_match.group(1).lower()
    if scheme not in FETCHED_SCHEMES:
        return Rejection(
            outcome=Outcome.SKIPPED,
            reason=f"scheme-{scheme}",
            detail=f"a {scheme}: URL is not a web page and is not fetched",
        )
    parts = urlsplit(scheme + text[len(scheme) :])
    if not parts.netloc:
        return _invalid("empty-host", "the URL names no host")
    userinfo, _, hostport = parts.netloc.rpartition("@")
    host = _host(parts.hostname or "")
    if host is None:
        return _invalid("invalid-host", f"{parts.hostname!r} is not a valid host name")
    try:
        port = parts.port
    except ValueError:
        return _invalid("invalid-port", f"the port in {hostport!r} is not valid")
    if port == 0:
        return _invalid("invalid-port", "port 0 cannot be connected to")
    netloc = host
    if port is not None and port != DEFAULT_PORTS[scheme]:
        netloc = f"{host}:{port}"
    if userinfo:
        netloc = f"{_escape(userinfo, _USERINFO_SAFE)}@{netloc}"
    path = _remove_dot_segments(_escape(parts.path, _PATH_SAFE)) or "/"
    query = _escape(parts.query, _QUERY_SAFE)
    url = f"{scheme}://{netloc}{path}"
    if query:
        url = f"{url}?{query}"
    return NormalizedURL(url)


@functools.lru_cache(maxsize=4096)
def _normalised_base(base: str) -> NormalizedURL | Rejection:
    # Every link in an article resolves against the same base: normalise it once.
    return normalise(base)


def site(url: str) -> str:
    """The site a URL belongs to, for "same site" questions: host without www."""
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _invalid(reason: str, detail: str) -> Rejection:
    return Rejection(outcome=Outcome.INVALID, reason=reason, detail=detail)


def _host(hostname: str) -> str | None:
    """The host in canonical form: lower case, punycode, compressed IPv6."""
    if not hostname:
        return None
    if ":" in hostname:  # urlsplit only lets ':' through inside [brackets]
        try:
            return f"[{ipaddress.IPv6Address(hostname).compressed}]"
        except ValueError:
            return None
    host = _unescape_all(hostname).lower()
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            return None
    if not _HOST_CHARS.fullmatch(host):
        return None
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or any(not 0 < len(label) < 64 for label in labels):
        return None
    return host


def _unescape_all(text: str) -> str:
    """Decode every valid %XX escape in a host (hosts have no reserved bytes)."""
    if "%" not in text:
        return text
    data = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "%" and text[i + 1 : i + 3] and set(text[i + 1 : i + 3]) <= _HEX:
            data.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            data += text[i].encode("utf-8")
            i += 1
    return data.decode("utf-8")


def _escape(text: str, safe: frozenset[str]) -> str:
    """Canonical percent-encoding of one URL component."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        if char == "%":
            pair = text[i + 1 : i + 3]
            if len(pair) == 2 and pair[0] in _HEX and pair[1] in _HEX:
                decoded = chr(int(pair, 16))
                out.append(decoded if decoded in _UNRESERVED else "%" + pair.upper())
                i += 3
                continue
            out.append("%25")
        elif char in _UNRESERVED or char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on a path that is already escaped."""
    if "." not in path:
        return path
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments[1:] if path.startswith("/") else segments:
        if segment == ".":
            continue
        if segment == "..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    # a trailing "." or ".." names a folder: keep the slash
    if segments[-1] in (".", ".."):
        kept.append("")
    joined = "/".join(kept)
    return "/" + joined if path.startswith("/") else joined
