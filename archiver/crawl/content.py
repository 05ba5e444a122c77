"""Read a spooled body as the server meant it: content-encoding undone, bounded.

Bodies are spooled as they came off the wire (a gzip body stays gzip, because
that is what the WARC record holds), but whoever looks inside one (the soft-404
check, the search for a page's requisites) needs the decoded bytes. Output is
bounded as it is produced, so a small compressed body that inflates to
gigabytes (a decompression bomb) costs no more than ``limit`` bytes of memory.

Only the codings offered in ``ACCEPT_ENCODING`` are undone; zstd is left out
on purpose (it needs another library, for no gain in what a check can tell).
"""

from __future__ import annotations

import zlib

import brotli

from archiver.bodies import open_body
from archiver.models import Body, Hop

# What the client asks for, so the codings a server may fairly answer in;
# named here rather than left to httpx, whose offer grows with whatever
# decoders happen to be installed.
ACCEPT_ENCODING = "gzip, deflate, br"

_BLOCK = 64 * 1024


def header(hop: Hop, name: bytes) -> bytes | None:
    """The first value of response header ``name`` (lower case), or None."""
    for key, value in hop.response_headers:
        if key.lower() == name:
            return value
    return None


def media_type(hop: Hop) -> str:
    """The response's media type, lower case, without parameters ("" if none)."""
    value = header(hop, b"content-type") or b""
    return value.split(b";", 1)[0].strip().decode("latin-1").lower()


def charset(hop: Hop) -> str | None:
    """The ``charset`` parameter of the response's Content-Type, if it names one."""
    value = (header(hop, b"content-type") or b"").decode("latin-1")
    for part in value.split(";")[1:]:
        key, _, found = part.partition("=")
        if key.strip().lower() == "charset" and found.strip(" \"'"):
            return found.strip(" \"'")
    return None


def decoded_body(hop: Hop, limit: int) -> bytes:
    """At most ``limit`` bytes of the body with its content-encoding undone.

    An encoding we cannot undo, or a body that is not what its header says,
    gives the bytes as stored: a reader of text then sees what there is.
    """
    encoding = (header(hop, b"content-encoding") or b"").strip().lower()
    body = hop.body
    found: bytes | None = None
    if encoding in (b"gzip", b"x-gzip"):
        found = _inflate(body, limit, 16 + zlib.MAX_WBITS)
    elif encoding == b"deflate":  # zlib-wrapped as the RFC says, or raw as some send
        found = _inflate(body, limit, zlib.MAX_WBITS)
        if found is None:
            found = _inflate(body, limit, -zlib.MAX_WBITS)
    elif encoding == b"br":
        found = _unbrotli(body, limit)
    return found if found is not None else _read(body, limit)


def _read(body: Body, limit: int) -> bytes:
    if body.path is None:
        return body.data[:limit]
    try:
        with open_body(body) as stream:
            return stream.read(limit)
    except OSError:
        return b""


def _inflate(body: Body, limit: int, wbits: int) -> bytes | None:
    """The inflated body; None when it is not in this format at all."""
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    try:
        with open_body(body) as stream:
            while len(out) < limit:
                block = inflater.unconsumed_tail or stream.read(_BLOCK)
                if not block:
                    break
                out += inflater.decompress(block, limit - len(out))
                if inflater.eof:
                    break
    except OSError:
        return bytes(out)
    except zlib.error:
        # A cut or corrupt body: what inflated so far, if anything did.
        return bytes(out) if out else None
    return bytes(out)


def _unbrotli(body: Body, limit: int) -> bytes | None:
    """The brotli-decoded body, produced a block at a time; None if not brotli."""
    decoder = brotli.Decompressor()
    out = bytearray()
    try:
        with open_body(body) as stream:
            while len(out) < limit and not decoder.is_finished():
                if decoder.can_accept_more_data():
                    block = stream.read(_BLOCK)
                    if not block:
                        break
                else:
                    block = b""  # drain what the last block decoded to first
                out += decoder.process(block, output_buffer_limit=_BLOCK)
    except OSError:
        return bytes(out)
    except brotli.error:
        return bytes(out) if out else None
    return bytes(out[:limit])
