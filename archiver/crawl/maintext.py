"""A page's main text, digested: what drift compares instead of the payload's bytes.

A news page is rebuilt on every request: the ad slot, the "updated 3 minutes
ago" line, a script nonce, the "most read" box. Its payload digest therefore
changes every night while the article does not, and a drift list built on
bytes lists nearly every page. What a reader means by "the page changed" is
that its article changed, so a cited HTML page is digested by its main text:
the body that an article extractor keeps, with its whitespace collapsed.

The extractor is readability-lxml, the Python port of Arc90's Readability
(the algorithm family behind the browsers' reader views). Weighed against
trafilatura, the better-scoring extractor in the published benchmarks:

* size: readability-lxml is one module over lxml, which the program already
  uses; trafilatura brings dateparser, babel, htmldate, courlan and justext
  (about 55 MB more installed, 135 ms to import against readability's 65);
* short pages: trafilatura returns nothing below its length thresholds, so a
  small page that changed could never show as drift; readability keeps it;
* determinism: readability scores the parsed tree and nothing else (no
  language guesses, no dates), so the same markup always gives the same text.

It is imported only when a page is digested (:func:`text_digest`), never
when ``archiver`` or ``--help`` starts. Blocking: call it from a worker thread.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from typing import Final

from archiver.crawl import content
from archiver.models import Hop

TEXT_LIMIT: Final = 2 * 1024 * 1024  # decoded bytes of a page extracted at most
HTML_TYPES: Final = frozenset({"text/html", "application/xhtml+xml"})
BASIS: Final = "main-text"  # the comparison these digests stand for, in reports


def applies(hop: Hop) -> bool:
    """Whether the final response ``hop`` is a whole HTML page to digest by text.

    A 2xx HTML answer (or one with no type that starts like HTML) whose body
    arrived whole: a cut body's text is not the page's text.
    """
    if not 200 <= hop.status < 300 or hop.body.length == 0 or not hop.body.complete:
        return False
    if hop.body.truncated:
        return False
    media = content.media_type(hop)
    if media in HTML_TYPES:
        return True
    if media:
        return False
    start = content.decoded_body(hop, 512).lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def text_digest(hop: Hop) -> str | None:
    """``sha256:<hex>`` of the page's normalised main text; None if it has none.

    None when the markup cannot be parsed at all (an empty or binary body):
    then the page is not compared, rather than compared by a guess.
    """
    markup = content.decoded_body(hop, TEXT_LIMIT)
    encoding = content.charset(hop) or "utf-8"
    try:
        html = markup.decode(encoding, errors="replace")
    except LookupError:  # a charset Python does not know
        html = markup.decode("utf-8", errors="replace")
    text = main_text(html)
    if text is None:
        return None
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def main_text(html: str) -> str | None:
    """The main text of ``html``, normalised; None when it cannot be parsed.

    Normalised so that markup-only edits do not count: Unicode NFC, every run
    of whitespace one space, element boundaries a space. Case and punctuation
    are kept, since a corrected figure or name is a change of content.
    """
    # Imported here: lxml.html and readability cost 65 ms, paid only by a
    # run that digests pages.
    import lxml.etree
    import lxml.html
    from readability import Document
    from readability.readability import Unparseable

    # readability logs a parse failure with its traceback; the failure is
    # our None, and a user must never see a traceback.
    quiet = logging.getLogger("readability")
    quiet.propagate = False
    if not quiet.handlers:
        quiet.addHandler(logging.NullHandler())
    if not html.strip():
        return None
    try:
        summary = Document(html).summary(html_partial=True)
        tree = lxml.html.fragment_fromstring(summary, create_parent="div")
    except (Unparseable, lxml.etree.ParserError, ValueError):
        return None
    words = " ".join(tree.itertext()).split()
    return unicodedata.normalize("NFC", " ".join(words))
