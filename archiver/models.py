"""Value types shared by every stage of the pipeline.

Everything here is a frozen dataclass or a StrEnum, so stages hand each other
data they cannot change, and enum values serialise to the manifest unchanged.
This module does no I/O and imports nothing from the rest of the package.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import NewType

NormalizedURL = NewType("NormalizedURL", str)
"""A URL in the canonical form made by :func:`archiver.urls.normalise`.

It is the identity of a link in the manifest and the store, and it is also
what is sent: the URL as the WHATWG URL Standard writes it (what a browser
requests), without the fragment and with percent-escapes in one spelling.
"""

RawHeaders = tuple[tuple[bytes, bytes], ...]
"""HTTP header fields exactly as sent or received: order, case and bytes kept."""


class LinkKind(StrEnum):
    """What a URL is to the article that cites it."""

    ARTICLE = "article"  # the article's own URL, from its title link
    LINK = "link"  # a hyperlink a reader can follow
    IMAGE = "image"  # an image shown in the article
    EMBED = "embed"  # iframe, video, audio and other embedded media


# When one URL is cited in several ways, the manifest names the first kind in
# this order: an article's own URL matters most to the people who cite it.
KIND_PRIORITY: tuple[LinkKind, ...] = (
    LinkKind.ARTICLE,
    LinkKind.LINK,
    LinkKind.IMAGE,
    LinkKind.EMBED,
)


class RequisiteKind(StrEnum):
    """What a page loads a requisite as; it decides what is looked for inside."""

    STYLESHEET = "stylesheet"  # searched for @import and url() in turn
    FRAME = "frame"  # an iframe or frame page, searched for its own requisites
    IMAGE = "image"
    FONT = "font"
    SCRIPT = "script"
    ICON = "icon"
    MEDIA = "media"  # video and audio: kept up to --max-size like any body
    OTHER = "other"  # embed, object, track


class RequisiteOutcome(StrEnum):
    """What became of one requisite. Never "dead": requisites are not citations."""

    ARCHIVED = "archived"  # a 2xx response is in the WARC files
    FAILED = "failed"  # fetched, but no 2xx came back (404, timeout, ...)
    REFUSED_PRIVATE = "refused-private"  # a non-public address (see netguard)
    NOT_FETCHED = "not-fetched"  # over a page's limits, or the deadline came first


class Outcome(StrEnum):
    """The verdict on one URL after a run; see :mod:`archiver.run.classify`."""

    ALIVE = "alive"
    DEAD = "dead"
    BLOCKED = "blocked"
    ERROR = "error"
    SKIPPED = "skipped"
    INVALID = "invalid"
    REFUSED_PRIVATE = "refused-private"


@dataclass(frozen=True, slots=True, kw_only=True)
class ArticleHead:
    """Which article file it is and what its header says, without its text.

    What a run keeps of each article once its links are planned (for the
    manifest, the dead-links list and the article's own WARC record, which
    reads the file again): the text of a thousand articles was some 12 MB
    held for the whole of a long crawl.
    """

    path: Path
    url: str | None  # the title link as written (before normalisation)
    title: str
    published: datetime | None
    sha256: str  # of the file's bytes, so a changed article can be noticed


@dataclass(frozen=True, slots=True, kw_only=True)
class Article(ArticleHead):
    """One article file, decoded and split into its header and body."""

    body: str  # the article body (HTML), everything after the ``------`` rule
    text: str  # the whole decoded file, for extractors that scan markdown too

    def head(self) -> ArticleHead:
        """The article without its text."""
        return ArticleHead(
            path=self.path,
            url=self.url,
            title=self.title,
            published=self.published,
            sha256=self.sha256,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Citation:
    """Where and how an article cites a URL: what a report needs to show."""

    article: str  # path of the article file, as given to the run
    kind: LinkKind
    element: str  # e.g. "a", "img", "markdown", "title"
    attribute: str  # e.g. "href", "src", "srcset"
    text: str = ""  # anchor text or alt text, trimmed
    title: str = ""  # the element's title attribute
    wrapped_by: str | None = None  # the wrapper URL this one was unwrapped from


@dataclass(frozen=True, slots=True, kw_only=True)
class FoundLink:
    """A URL as an extractor found it, before normalisation."""

    raw: str  # attribute value as written
    base: str | None  # what a relative ``raw`` resolves against
    citation: Citation


@dataclass(frozen=True, slots=True, kw_only=True)
class Rejection:
    """Why a URL will not be fetched: a value, never an exception."""

    outcome: Outcome  # SKIPPED (not a web URL) or INVALID (cannot be parsed)
    reason: str  # machine code, e.g. "scheme-mailto", "invalid-port"
    detail: str  # one human sentence


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One distinct URL to fetch, with every article that cites it."""

    url: NormalizedURL
    citations: tuple[Citation, ...]

    @property
    def kind(self) -> LinkKind:
        # A target nobody cites (a page requisite, a probe) is embedded media
        # at most: what a page loads, not what a reader follows.
        kinds = {c.kind for c in self.citations}
        return next((k for k in KIND_PRIORITY if k in kinds), LinkKind.EMBED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Unfetched:
    """A distinct URL that is listed in the manifest but never fetched."""

    url: str  # normalised where possible, otherwise as written
    citations: tuple[Citation, ...]
    rejection: Rejection


@dataclass(frozen=True, slots=True, kw_only=True)
class Body:
    """A response body as it streamed in: whole in memory, or spooled to disk.

    Read it with :func:`archiver.bodies.open_body`, let it go with
    :func:`archiver.bodies.discard`: then no stage depends on where it is.
    """

    length: int
    truncated: bool  # cut at --max-size: the record says WARC-Truncated: length
    complete: bool  # False when the connection ended before the body did
    path: Path | None = None  # the spool file of a body too long for memory
    data: bytes = b""  # the body itself, when ``path`` is None


@dataclass(frozen=True, slots=True, kw_only=True)
class Hop:
    """One HTTP request and the response to it, as they crossed the wire."""

    url: str
    method: str
    target: str  # request-target as sent: path and query
    request_headers: RawHeaders
    http_version: str  # e.g. "HTTP/1.1"
    status: int
    reason: str  # reason phrase as received
    response_headers: RawHeaders
    body: Body
    peer_ip: str | None
    started: datetime  # when the response began (WARC-Date)
    # The status line and header block as read from the socket, blank line
    # included; None where the connection was not ours (a proxy's client).
    raw_head: bytes | None = None
    # A chunked body's trailer field lines as sent (b"" when it had none);
    # None when the body was not chunked or not read through our connection.
    trailers: bytes | None = None


class FailureKind(StrEnum):
    """Why a fetch produced no usable response; mapped to outcomes by classify.

    The kind is decided where the failure is first known (the fetcher, from
    the exception's type), so nothing downstream reads a failure's message
    to find out what happened: messages are for people.
    """

    DNS = "dns"  # the name does not exist
    REFUSED = "refused"  # the host answered the connection with a refusal
    CONNECT = "connect"  # no connection, and no refusal: unreachable, no resolver
    CONNECT_TIMEOUT = "connect-timeout"  # no connection within the timeout
    TIMEOUT = "timeout"
    TLS = "tls"  # the handshake failed (a retry may meet a healthy server)
    # The certificate was refused (expired, another host's, unknown issuer):
    # the same certificate will be served again, so it is not retried.
    CERTIFICATE = "certificate"
    RESET = "reset"  # connection dropped, protocol violated, body cut short
    TOO_MANY_REDIRECTS = "too-many-redirects"
    REDIRECT_LOOP = "redirect-loop"
    PRIVATE_ADDRESS = "private-address"
    BAD_REDIRECT = "bad-redirect"  # Location missing or unusable
    UNSUPPORTED = "unsupported"  # a redirect to a scheme we do not fetch
    DEADLINE = "deadline"  # the run's --deadline passed first
    # Not tried: earlier URLs of the host failed to connect, retries spent,
    # --host-failures times in a row; ``FetchFailure.cause`` says how.
    HOST_GIVEN_UP = "host-given-up"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchFailure:
    """A network-level failure, made a value inside :mod:`archiver.crawl.fetch`."""

    kind: FailureKind
    message: str
    # For HOST_GIVEN_UP, the kind of the host's last failure: a URL not tried
    # gets the outcome its host earned (refused, unreachable, timed out).
    cause: FailureKind | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Suspicion:
    """Why a response that looks fine is not: a soft 404, a parked domain, a wall.

    Found by :mod:`archiver.crawl.verify`, which compares the response with what the
    same site answers for a path that cannot exist.
    """

    reason: str  # a code in archiver.run.classify.REASONS
    detail: str  # what was seen, for the manifest's sentence


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """Everything one target's fetch produced: its hops, attempts and failure."""

    target: Target
    hops: tuple[Hop, ...]  # every response received, redirects included
    attempts: int  # requests sent for this target, retries included
    failure: FetchFailure | None  # set when the chain ended without a response
    finished: datetime
    suspicion: Suspicion | None = None
    # Responses to attempts that were retried (a 503 before the 200), kept as
    # evidence; archived before ``hops``.
    retried: tuple[Hop, ...] = ()
    # Digest of the final page's main text (archiver.crawl.maintext), for a
    # cited HTML page whose history is kept: what drift compares.
    text_digest: str | None = None

    @property
    def bodies(self) -> tuple[Hop, ...]:
        """Every response whose spooled body this result holds."""
        return (*self.retried, *self.hops)


@dataclass(frozen=True, slots=True, kw_only=True)
class Capture:
    """The first archived copy of a payload, as a revisit record refers to it."""

    uri: str
    date: str  # WARC-Date of that response, ISO 8601 as in the record
    record_id: str | None = None  # its WARC-Record-ID, where known


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordRef:
    """Where a response record sits: its WARC file and byte offset."""

    warc_file: str
    offset: int
    payload_digest: str | None = None
    revisit_of: Capture | None = None  # set when the record is a revisit
    date: str | None = None  # its WARC-Date, so a later run can refer to it


@dataclass(frozen=True, slots=True, kw_only=True)
class RequisiteCounts:
    """How whole a page's capture is: its requisites found, archived, failed."""

    found: int
    archived: int
    failed: int  # fetched without a 2xx, or refused
    not_fetched: int  # over --max-requisites or the byte budget, or too late

    @property
    def completeness(self) -> float:
        """The share of what the page needs that is archived (1 when it needs none)."""
        return round(self.archived / self.found, 4) if self.found else 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RequisiteCheck:
    """The line of ``requisites.jsonl`` for one requisite, without its pages."""

    url: str
    kind: RequisiteKind
    outcome: RequisiteOutcome
    reason: str  # a code of archiver.run.classify.REASONS, or a not-fetched one
    detail: str
    http_status: int | None = None
    final_url: str | None = None
    content_type: str | None = None
    length: int | None = None
    truncated: bool = False
    record: RecordRef | None = None
    checked: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkStatus:
    """The manifest line for one distinct URL."""

    url: str
    kind: LinkKind
    citations: tuple[Citation, ...]
    outcome: Outcome
    reason: str  # machine code, see archiver.run.classify.REASONS
    detail: str  # one human sentence
    http_status: int | None = None
    final_url: str | None = None
    chain: tuple[str, ...] = ()  # every URL requested, first to last
    attempts: int = 0
    content_type: str | None = None
    length: int | None = None
    truncated: bool = False
    record: RecordRef | None = None  # the final response record
    checked: datetime | None = None
    # For an HTML page that ended alive, with requisites on: how whole it is.
    requisites: RequisiteCounts | None = None
    text_digest: str | None = None  # of its main text, see FetchResult


class Placement(StrEnum):
    """Where a citation sits in its article: how much a dead one hurts a reader.

    Found from the article's own markup (:mod:`archiver.articles.placement`);
    the fix list (``archiver fix``) weighs dead citations by it.
    """

    OWN_PAGE = "own-page"  # the article's own URL, from its title link
    LEAD_IMAGE = "lead-image"  # the first image of the body
    IN_TEXT = "in-text"  # a link in the article's running text
    MEDIA = "media"  # another image, an embed or a stylesheet
    FOOTER = "footer"  # inside <footer>, <aside> or <nav>: boilerplate


@dataclass(frozen=True, slots=True, kw_only=True)
class Memento:
    """One capture a web archive holds of a URL (RFC 7089: a URI-M)."""

    url: str  # the URI-M: where the archive replays the capture
    captured: datetime  # its Memento-Datetime
    archive: str  # the TimeGate base it was found through
    status: int | None = None  # what the archive answered for it, when asked


class MementoProblem(StrEnum):
    """Why an archive could not say what it holds of a URL."""

    UNREACHABLE = "unreachable"  # no connection, a reset, a TLS failure
    TIMEOUT = "timeout"
    REFUSED_PRIVATE = "refused-private"  # a non-public address (see netguard)
    HTTP_ERROR = "http-error"  # an answer other than a redirect, 2xx or 404
    MALFORMED = "malformed"  # a Link header or TimeMap that is not link-format


@dataclass(frozen=True, slots=True, kw_only=True)
class MementoFailure:
    """One archive that could not be asked: a value, never an exception."""

    archive: str
    problem: MementoProblem
    detail: str  # one human sentence


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveAnswer:
    """What one archive answered about one URL at one moment: what the store keeps.

    Only a whole answer is one (every request of it answered); an archive
    that could not be asked, or asked only in part, gives failures instead,
    which are never kept. ``holds`` is False for a negative answer: the
    archive has no capture of the URL (it may have one later).
    """

    archive: str  # the TimeGate base
    url: str  # the URI-R
    # The moment asked about (Accept-Datetime); None for "the latest", as
    # the store keeps an answer about an article with no publication time.
    wanted: datetime | None
    asked: datetime
    nearest: Memento | None = None
    last_alive: Memento | None = None
    listed: int = 0  # captures its TimeMap listed
    truncated: bool = False

    @property
    def holds(self) -> bool:
        return (
            self.nearest is not None or self.last_alive is not None or self.listed > 0
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class MementoFinding:
    """What the archives hold of one URL, asked about one moment.

    ``nearest`` is the capture the TimeGates chose for the moment (the
    article's publication), ``last_alive`` the newest capture that replays
    with a 2xx. ``truncated`` says a TimeMap was longer than what is read
    of one, so captures past that point were not seen.
    """

    url: str  # the URI-R
    nearest: Memento | None = None
    last_alive: Memento | None = None
    listed: int = 0  # captures the TimeMaps listed
    truncated: bool = False
    failures: tuple[MementoFailure, ...] = ()
