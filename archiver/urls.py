"""URL normalisation: one canonical spelling per resource, or a reason why not.

Articles spell the same URL many ways (upper-case hosts, lower-case escapes,
raw UTF-8 paths, stray spaces, fragments). The archive needs one spelling per
resource so a URL cited by ten articles is fetched once, and so the spelling
is safe to send on the wire. :func:`normalise` is that spelling, and it is
idempotent: normalising a normalised URL gives it back unchanged.

Parsing, resolving and serialising follow the WHATWG URL Standard (through
ada, the parser Node.js uses), because an archive must fetch what a reader's
browser fetches: ``\\\\host\\x`` is ``https://host/x`` to a browser, and
``?q=50%off`` is sent as written. On top of the standard we keep
a few rules of our own, each for a reason (the README lists them too):

1. Surrounding NBSP and zero-width spaces are trimmed too (the standard trims
   only ASCII whitespace and controls): articles pasted from web pages carry
   them around links, and a browser would request them as ``%C2%A0``.
2. An empty URL is invalid: ``src=""`` cites nothing, where the standard
   would resolve it to the page itself.
3. A control character left inside the URL (before any ``#``) makes it
   invalid (a browser would percent-encode it): it is damage, and an editor
   is better told ``control-character`` than shown the 404 its encoded form
   would get.
4. Only ``http`` and ``https`` are fetched. Any other scheme (``mailto:``,
   ``javascript:``, ``data:``, ``tel:`` ...) is *skipped* with the reason
   ``scheme-<name>``.
5. A host no DNS name can be (an empty label, a label over 63 or a name over
   253 characters, a character other than letters, digits, ``-`` and ``_``,
   a punycode label that IDNA 2008 refuses) and port 0 are invalid: the
   standard accepts them, but nothing can be connected to (or sent by the
   HTTP client), and a failed lookup would call the link dead.
6. Percent-escapes have upper-case hex digits, and escapes of unreserved
   characters (``A-Z a-z 0-9 - . _ ~``) are decoded: RFC 3986 section 6.2.2
   makes such spellings equivalent, and articles use both for one page
   (WordPress writes ``%e6``, a browser's address bar ``%E6``).
7. The fragment is dropped: it is never sent to the server.

Nothing here raises: bad input comes back as a :class:`Rejection`.
"""

from __future__ import annotations

import functools
import re
from typing import Final

import idna
from ada_url import URL, HostType

from archiver.models import NormalizedURL, Outcome, Rejection

FETCHED_SCHEMES: Final = frozenset({"http", "https"})

# What the standard strips from both ends (C0 controls and space), plus the
# invisible spaces articles carry (rule 1).
_TRIM: Final = "".join(map(chr, range(0x21))) + "\u00a0\u200b\u200c\u200d\u2060\ufeff"
_TAB_OR_NEWLINE: Final = re.compile(r"[\t\n\r]")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
)
_DNS_LABEL: Final = re.compile(r"[a-z0-9_\-]{1,63}")
_SLASHES: Final = "/\\"


def normalise(raw: str, base: str | None = None) -> NormalizedURL | Rejection:
    """Return the canonical form of ``raw`` (resolved against ``base``), or why not.

    ``base`` is what a relative ``raw`` resolves against, as a browser
    resolves a link against its page. See the module docstring for the
    rules. Never raises.
    """
    try:
        return _normalise(raw, base)
    except ValueError as exc:  # a safety net: ada's own failures end in _parse
        return _invalid("unparseable", f"cannot be parsed as a URL: {exc}")


def resolve(raw: str, base: str | None = None) -> str | None:
    """``raw`` resolved against ``base`` as a browser would, or None if it cannot be.

    Unlike :func:`normalise` this keeps any scheme, the fragment and the
    escapes as the standard serialises them: it is for reading a URL's
    parts (a ``<base href>``, a wrapper's inner URL), not for naming one.
    """
    text = _usv(raw.strip(_TRIM))
    base_url = _parse(_usv(base.strip(_TRIM)), None) if base else None
    parsed = _parse(text, base_url.href if base_url is not None else None)
    return parsed.href if parsed is not None else None


def site(url: str) -> str:
    """The site a URL belongs to, for "same site" questions: host without www."""
    return hostname(url).removeprefix("www.")


def hostname(url: str) -> str:
    """The host name (or address) of an absolute URL: what DNS is asked for.

    The one definition every stage uses, with :func:`authority` and
    :func:`site`; empty for a string that is not an absolute URL.
    """
    parsed = _parse(url, None)
    return parsed.hostname if parsed is not None else ""


def authority(url: str) -> str:
    """``host[:port]`` of an absolute URL, without any user info.

    The key of everything done per server: politeness limits, giving up on a
    host that does not connect, the soft-404 probe. ``user@host`` and
    ``host`` are one server, and so are ``host`` and ``host:443`` for https
    (the standard drops a scheme's default port).
    """
    parsed = _parse(url, None)
    return parsed.host if parsed is not None else ""


def _canonical_escapes(text: str) -> str:
    """Upper-case every escape's hex digits, and decode escapes of unreserved bytes.

    Rule 6 of the module docstring. Decoding an unreserved character never
    changes a URL's structure: none of them is a delimiter.
    """
    if "%" not in text:
        return text
    return _ESCAPE.sub(_canonical_escape, text)


def percent_decode(text: str) -> str:
    """``text`` with its %XX escapes decoded as UTF-8; as given if they are not UTF-8.

    A ``+`` stays a ``+``: this is for URLs carried inside URLs, where a
    space would have been written ``%20`` and a ``+`` is part of the URL.
    """
    if "%" not in text:
        return text
    data = bytearray()
    pos = 0
    for match in _ESCAPE.finditer(text):
        data += text[pos : match.start()].encode("utf-8", "surrogatepass")
        data.append(int(match.group(1), 16))
        pos = match.end()
    data += text[pos:].encode("utf-8", "surrogatepass")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return text


def _normalise(raw: str, base: str | None) -> NormalizedURL | Rejection:
    text = _TAB_OR_NEWLINE.sub("", raw.strip(_TRIM)).strip(_TRIM)
    if not text:
        return _invalid("empty-url", "the link has no URL in it")
    scheme_match = _SCHEME.match(text)
    scheme = scheme_match.group(1).lower() if scheme_match else None
    if scheme is not None and scheme not in FETCHED_SCHEMES:
        return Rejection(
            outcome=Outcome.SKIPPED,
            reason=f"scheme-{scheme}",
            detail=f"a {scheme}: URL is not a web page and is not fetched",
        )
    if _CONTROL.search(text.partition("#")[0]):  # a fragment is never sent
        return _invalid("control-character", "the URL contains a control character")
    text = _usv(text)
    resolved_base = _normalised_base(base) if base is not None else None
    if isinstance(resolved_base, Rejection):
        resolved_base = None
    if scheme is None and resolved_base is None:
        if base is None:
            return _invalid("relative-without-base", "a relative URL with no base")
        return _invalid(
            "bad-base", f"the article URL it is relative to is invalid: {base}"
        )
    url = _parse(text, resolved_base)
    if url is None:
        return _why_not(text, scheme)
    if url.host_type == HostType.DEFAULT:
        refusal = _unusable_host(url.hostname)
        if refusal is not None:
            return _invalid("invalid-host", refusal)
    if url.port == "0":
        return _invalid("invalid-port", "port 0 cannot be connected to")
    # The standard escapes every "#" but the fragment's own (even an empty one).
    href = url.href.partition("#")[0]
    return NormalizedURL(_canonical_escapes(href))


@functools.lru_cache(maxsize=4096)
def _normalised_base(base: str) -> NormalizedURL | Rejection:
    # Every link in an article resolves against the same base: normalise it once.
    return normalise(base)


def _parse(text: str, base: str | None) -> URL | None:
    """The WHATWG parse of ``text`` against ``base``; None where the standard fails."""
    try:
        return URL(text, base)
    except ValueError:  # ada's only error: "Invalid input" (or an unencodable str)
        return None


def _usv(text: str) -> str:
    """``text`` as the standard receives it: lone surrogates become U+FFFD.

    A browser hands the parser a USVString; Python strings can hold lone
    surrogates, which cannot be encoded as UTF-8.
    """
    if text.isascii():
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _why_not(text: str, scheme: str | None) -> Rejection:
    """Name the part of a URL the standard refused: port, host, or neither.

    ada says only that parsing failed; the manifest's reason says where, so
    this looks at the authority the way the standard splits it.
    """
    rest = text[len(scheme) + 1 :] if scheme is not None else text
    if scheme is None and not re.match(r"[/\\]{2}", rest):
        # Only an authority can fail: a relative path always resolves.
        return _invalid("unparseable", "cannot be parsed as a URL")
    authority = re.split(r"[/\\?#]", rest.lstrip(_SLASHES), maxsplit=1)[0]
    hostport = authority.rpartition("@")[2]
    if hostport.startswith("["):
        host, bracket, port = hostport.partition("]")
        host += bracket
        port = port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
    if port and (not port.isdigit() or int(port) > 65535):
        return _invalid("invalid-port", f"the port in {hostport!r} is not valid")
    if not host:
        return _invalid("empty-host", "the URL names no host")
    if _parse(f"http://{host}/", None) is None:
        return _invalid("invalid-host", f"{host!r} is not a valid host name")
    return _invalid("unparseable", "cannot be parsed as a URL")


def _unusable_host(host: str) -> str | None:
    """Why a host name (ASCII, as the standard serialises it) cannot be fetched."""
    name = host.removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(map(_DNS_LABEL.fullmatch, labels)):
        return f"{host!r} cannot be a host name in DNS"
    for label in labels:
        if label.startswith("xn--") and not _sendable(label):
            return f"{host!r} is a name the HTTP client cannot send (IDNA 2008)"
    return None


def _sendable(label: str) -> bool:
    """Whether the HTTP client can send a punycode label.

    httpx checks them by IDNA 2008, which refuses some names the standard's
    UTS 46 lets through (emoji, symbols, broken punycode); such a URL cannot
    be fetched here, so it is invalid rather than an error mid-run.
    """
    try:
        idna.decode(label)
    except idna.IDNAError:
        return False
    return True


def _canonical_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _invalid(reason: str, detail: str) -> Rejection:
    return Rejection(outcome=Outcome.INVALID, reason=reason, detail=detail)
