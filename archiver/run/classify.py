"""Decide what a fetch means for a link: alive, dead, blocked or error, and why.

The whole taxonomy is the ``REASONS`` table: each machine-readable reason
code, the outcome it implies and the sentence a reader is shown. "Dead" is
kept for answers that say so plainly (404, 410, a name that does not exist, a
host refusing every connection); anything that might pass is "error", and
anything that hides the answer from us is "blocked".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from archiver.models import (
    KIND_PRIORITY,
    FailureKind,
    FetchFailure,
    FetchResult,
    LinkKind,
    LinkStatus,
    Outcome,
    RecordRef,
    Rejection,
    Target,
    Unfetched,
)
from archiver.urls import site


@dataclass(frozen=True, slots=True)
class Reason:
    """One row of the taxonomy."""

    outcome: Outcome
    sentence: str  # may use {status}, {final}, {message}, {attempts}


REASONS: Final[dict[str, Reason]] = {
    "ok": Reason(Outcome.ALIVE, "answered {status}"),
    "redirected": Reason(
        Outcome.ALIVE, "answered {status} after redirecting to {final}"
    ),
    "moved-offsite": Reason(
        Outcome.ALIVE,
        "answered {status}, but permanently redirects to another site: {final}",
    ),
    "http-404": Reason(Outcome.DEAD, "the server says the page does not exist (404)"),
    "http-410": Reason(Outcome.DEAD, "the server says the page is gone for good (410)"),
    "dns-not-found": Reason(Outcome.DEAD, "the host name does not exist: {message}"),
    "connection-refused": Reason(
        Outcome.DEAD, "the host refused the connection on all {attempts} attempts"
    ),
    "soft-404": Reason(Outcome.DEAD, "answered {status}, but {message}"),
    "redirects-everywhere": Reason(Outcome.DEAD, "{message}"),
    "http-401": Reason(Outcome.BLOCKED, "the server asks for a login (401)"),
    "http-403": Reason(Outcome.BLOCKED, "the server refused to serve it (403)"),
    "http-451": Reason(Outcome.BLOCKED, "unavailable for legal reasons (451)"),
    "rate-limited": Reason(
        Outcome.BLOCKED, "the server kept answering 429 Too Many Requests"
    ),
    "bot-wall": Reason(
        Outcome.BLOCKED, "a bot check answered instead of the page ({message})"
    ),
    "same-as-missing": Reason(Outcome.BLOCKED, "answered {status}, but {message}"),
    "http-5xx": Reason(
        Outcome.ERROR, "the server answered {status} on all {attempts} attempts"
    ),
    "http-4xx": Reason(Outcome.ERROR, "the server answered {status}"),
    "http-unexpected": Reason(Outcome.ERROR, "unexpected final status {status}"),
    "timeout": Reason(Outcome.ERROR, "timed out on all {attempts} attempts: {message}"),
    "tls-error": Reason(Outcome.ERROR, "the TLS handshake failed: {message}"),
    "connection-failed": Reason(Outcome.ERROR, "{message}"),
    "connection-reset": Reason(Outcome.ERROR, "the connection broke: {message}"),
    "truncated-body": Reason(
        Outcome.ERROR, "the connection closed before the whole body arrived"
    ),
    "too-many-redirects": Reason(Outcome.ERROR, "{message}"),
    "redirect-loop": Reason(Outcome.ERROR, "{message}"),
    "bad-redirect": Reason(Outcome.ERROR, "{message}"),
    "deadline": Reason(
        Outcome.ERROR, "not checked: the run's --deadline passed first{message}"
    ),
    "network-unavailable": Reason(
        Outcome.ERROR, "not checked: this machine could not reach any host ({message})"
    ),
    "fetch-error": Reason(Outcome.ERROR, "{message}"),
    "browser-failed": Reason(
        Outcome.ERROR, "the page could not be captured in the browser: {message}"
    ),
    "redirect-unsupported": Reason(Outcome.SKIPPED, "{message}"),
    "private-address": Reason(Outcome.REFUSED_PRIVATE, "{message}"),
}

# Every FailureKind has its reason here (a test checks): the kind alone
# decides, whatever the failure's message says.
_FAILURE_REASONS: Final = {
    FailureKind.DNS: "dns-not-found",
    FailureKind.REFUSED: "connection-refused",
    FailureKind.CONNECT: "connection-failed",
    FailureKind.TIMEOUT: "timeout",
    FailureKind.CONNECT_TIMEOUT: "timeout",
    FailureKind.DEADLINE: "deadline",
    FailureKind.TLS: "tls-error",
    FailureKind.CERTIFICATE: "tls-error",
    FailureKind.RESET: "connection-reset",
    FailureKind.TOO_MANY_REDIRECTS: "too-many-redirects",
    FailureKind.REDIRECT_LOOP: "redirect-loop",
    FailureKind.BAD_REDIRECT: "bad-redirect",
    FailureKind.PRIVATE_ADDRESS: "private-address",
    FailureKind.UNSUPPORTED: "redirect-unsupported",
    # Given up without a try: the reason of the failure that made us give up
    # (see ``failure_reason``); this one only if that is unknown.
    FailureKind.HOST_GIVEN_UP: "connection-failed",
    FailureKind.OTHER: "fetch-error",
}


def failure_reason(failure: FetchFailure) -> str:
    """The reason code for a fetch that failed, decided by its kind alone.

    A URL not tried because its host was given up gets the reason the host
    earned, so five links to a host that refuses are five refusals, whether
    one was tried or all of them.
    """
    kind = failure.kind
    if kind is FailureKind.HOST_GIVEN_UP and failure.cause is not None:
        kind = failure.cause
    return _FAILURE_REASONS[kind]


def _status_reason(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if status in (401, 403, 404, 410, 451):
        return f"http-{status}"
    if status == 429:
        return "rate-limited"
    if status >= 500:
        return "http-5xx"
    if 400 <= status < 500:
        return "http-4xx"
    return "http-unexpected"


def classify(result: FetchResult, record: RecordRef | None = None) -> LinkStatus:
    """The manifest line for a finished fetch; pure, no I/O."""
    chain = tuple(hop.url for hop in result.hops)
    final = result.hops[-1] if result.hops else None
    message = result.failure.message if result.failure else ""
    if result.failure is not None:
        code = failure_reason(result.failure)
    elif final is None:
        code = "fetch-error"  # cannot happen: a result without failure has hops
    elif result.suspicion is not None:
        code = result.suspicion.reason
        message = result.suspicion.detail
    else:
        code = _status_reason(final.status)
        if code == "ok" and not final.body.complete:
            code = "truncated-body"
        elif code == "ok" and len(result.hops) > 1:
            permanent = any(h.status in (301, 308) for h in result.hops[:-1])
            offsite = site(final.url) != site(result.target.url)
            code = "moved-offsite" if permanent and offsite else "redirected"
    reason = REASONS[code]
    sentence = reason.sentence
    if result.failure is not None and result.failure.kind is FailureKind.HOST_GIVEN_UP:
        sentence = "{message}"  # the host was given up on: say so, not "0 attempts"
    content_type = None
    if final is not None:
        for name, value in final.response_headers:
            if name.lower() == b"content-type":
                content_type = value.decode("latin-1")
    return LinkStatus(
        url=result.target.url,
        kind=result.target.kind,
        citations=result.target.citations,
        outcome=reason.outcome,
        reason=code,
        detail=sentence.format(
            status=final.status if final else "",
            final=final.url if final else "",
            message=message,
            attempts=result.attempts,
        ),
        http_status=final.status if final else None,
        final_url=final.url if final else None,
        chain=chain,
        attempts=result.attempts,
        content_type=content_type,
        length=final.body.length if final else None,
        # Cut at --max-size, or broken off by the server: either way the
        # record holds less than the whole body (WARC-Truncated says which).
        truncated=bool(final and (final.body.truncated or not final.body.complete)),
        record=record,
        checked=result.finished,
        text_digest=result.text_digest if reason.outcome is Outcome.ALIVE else None,
    )


def unfetched(item: Unfetched) -> LinkStatus:
    """The manifest line for a URL that was never fetched."""
    rejection: Rejection = item.rejection
    return LinkStatus(
        url=item.url,
        kind=_kind(item),
        citations=item.citations,
        outcome=rejection.outcome,
        reason=rejection.reason,
        detail=rejection.detail,
    )


def _kind(item: Unfetched) -> LinkKind:
    kinds = {c.kind for c in item.citations}
    return next((k for k in KIND_PRIORITY if k in kinds), LinkKind.LINK)


def not_reached(target: Target, seconds: float, when: datetime) -> LinkStatus:
    """The manifest line for a URL the run's deadline cut off before it finished."""
    reason = REASONS["deadline"]
    return LinkStatus(
        url=target.url,
        kind=target.kind,
        citations=target.citations,
        outcome=reason.outcome,
        reason="deadline",
        detail=reason.sentence.format(message=f" ({seconds:g} s)"),
        checked=when,
    )
