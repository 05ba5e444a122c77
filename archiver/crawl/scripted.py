"""Does a fetched page need a browser? The signals ``--browser auto`` goes by.

A page built by JavaScript arrives over plain HTTP as a shell: it is
"alive", it is archived, and it replays as nothing. These checks read only
what plain capture already has (the response and the verifier's verdict),
so deciding costs no request:

* the verifier found the page identical to the site's answer for a made-up
  path (``same-as-missing``): a single-page app answers every path alike;
* the host is one of the known script-only sites (x.com, instagram.com ...);
* a ``<noscript>`` tells the reader to enable JavaScript;
* the body has almost no text but carries scripts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from archiver.crawl.verify import page_text
from archiver.models import FetchResult, LinkKind

TINY_TEXT: Final = 150  # characters of visible text below which a page is a shell
_NOSCRIPT: Final = re.compile(r"<noscript\b[^>]*>(.*?)</noscript\s*>", re.I | re.S)
_ASKS_FOR_SCRIPT: Final = re.compile(
    r"(enable|turn on|activate|requires?|need)\W+(\w+\W+){0,3}javascript"
    r"|javascript\W+(\w+\W+){0,3}(required|disabled|enabled|needed)",
    re.I,
)
_SCRIPT_TAG: Final = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
_LARGE_INLINE: Final = 1000  # bytes of inline script that build a page


def is_html(result: FetchResult) -> bool:
    """Whether the final response is a successful HTML page (what a browser renders)."""
    if result.failure is not None or not result.hops:
        return False
    final = result.hops[-1]
    if not 200 <= final.status < 300 or result.target.kind is LinkKind.IMAGE:
        return False
    for name, value in final.response_headers:
        if name.lower() == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind in (b"text/html", b"application/xhtml+xml")
    return False


def on_script_host(url: str, hosts: Sequence[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in hosts)


def needs_script(result: FetchResult, hosts: Sequence[str]) -> str | None:
    """Why the page looks like it needs a browser, or None when it does not."""
    if result.suspicion is not None and result.suspicion.reason == "same-as-missing":
        return "it is the same page the site gives for a made-up path"
    if result.failure is not None or not result.hops:
        return None
    final = result.hops[-1]
    if on_script_host(result.target.url, hosts) or on_script_host(final.url, hosts):
        return "its site only shows pages with JavaScript"
    if not is_html(result):
        return None
    html = page_text(final, strip=False)
    for block in _NOSCRIPT.findall(html):
        if _ASKS_FOR_SCRIPT.search(block):
            return "its <noscript> asks for JavaScript"
    text = page_text(final)
    for noscript in _NOSCRIPT.findall(html):
        text = text.replace(page_text_of(noscript), "")
    if len(text.strip()) < TINY_TEXT:
        for attributes, inline in _SCRIPT_TAG.findall(html):
            if "src=" in attributes.lower() or len(inline) >= _LARGE_INLINE:
                return "it has almost no text, only scripts"
    return None


def page_text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", fragment)).strip()
