"""The outcome taxonomy: every reason maps to an outcome, and results map to reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from archiver.models import (
    Body,
    Citation,
    FailureKind,
    FetchFailure,
    FetchResult,
    Hop,
    LinkKind,
    NormalizedURL,
    Outcome,
    Target,
)
from archiver.run.classify import REASONS, classify

NOW = datetime(2026, 1, 2, tzinfo=UTC)
TARGET = Target(
    url=NormalizedURL("https://news.example/a"),
    citations=(
        Citation(article="a.txt", kind=LinkKind.IMAGE, element="img", attribute="src"),
        Citation(article="b.txt", kind=LinkKind.LINK, element="a", attribute="href"),
    ),
)


def hop(url: str, status: int, *headers: tuple[bytes, bytes], complete=True) -> Hop:
    return Hop(
        url=url,
        method="GET",
        target="/",
        request_headers=(),
        http_version="HTTP/1.1",
        status=status,
        reason="",
        response_headers=headers,
        body=Body(path=Path("x"), length=5, truncated=False, complete=complete),
        peer_ip="192.0.2.1",
        started=NOW,
    )


def result(*hops: Hop, failure: FetchFailure | None = None, attempts=1) -> FetchResult:
    return FetchResult(
        target=TARGET, hops=hops, attempts=attempts, failure=failure, finished=NOW
    )


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        (200, Outcome.ALIVE, "ok"),
        (204, Outcome.ALIVE, "ok"),
        (404, Outcome.DEAD, "http-404"),
        (410, Outcome.DEAD, "http-410"),
        (401, Outcome.BLOCKED, "http-401"),
        (403, Outcome.BLOCKED, "http-403"),
        (451, Outcome.BLOCKED, "http-451"),
        (429, Outcome.BLOCKED, "rate-limited"),
        (500, Outcome.ERROR, "http-5xx"),
        (503, Outcome.ERROR, "http-5xx"),
        (400, Outcome.ERROR, "http-4xx"),
        (304, Outcome.ERROR, "http-unexpected"),
    ],
)
def test_final_status(status, outcome, reason):
    status_line = classify(result(hop(TARGET.url, status)))
    assert (status_line.outcome, status_line.reason) == (outcome, reason)
    assert status_line.http_status == status
    assert status_line.detail


@pytest.mark.parametrize(
    ("kind", "message", "outcome", "reason"),
    [
        (FailureKind.DNS, "x did not resolve", Outcome.DEAD, "dns-not-found"),
        (FailureKind.REFUSED, "x refused", Outcome.DEAD, "connection-refused"),
        (FailureKind.CONNECT, "x unreachable", Outcome.ERROR, "connection-failed"),
        (FailureKind.CONNECT_TIMEOUT, "slow", Outcome.ERROR, "timeout"),
        (FailureKind.TIMEOUT, "slow", Outcome.ERROR, "timeout"),
        (FailureKind.TLS, "handshake failed", Outcome.ERROR, "tls-error"),
        (FailureKind.CERTIFICATE, "expired", Outcome.ERROR, "tls-error"),
        (FailureKind.RESET, "reset", Outcome.ERROR, "connection-reset"),
        (FailureKind.REDIRECT_LOOP, "loop", Outcome.ERROR, "redirect-loop"),
        (FailureKind.TOO_MANY_REDIRECTS, "many", Outcome.ERROR, "too-many-redirects"),
        (
            FailureKind.PRIVATE_ADDRESS,
            "private",
            Outcome.REFUSED_PRIVATE,
            "private-address",
        ),
        (FailureKind.UNSUPPORTED, "ftp", Outcome.SKIPPED, "redirect-unsupported"),
    ],
)
def test_failures(kind, message, outcome, reason):
    status = classify(result(failure=FetchFailure(kind=kind, message=message)))
    assert (status.outcome, status.reason) == (outcome, reason)
    assert status.http_status is None


@pytest.mark.parametrize("kind", list(FailureKind))
def test_every_failure_kind_has_a_reason(kind):
    status = classify(result(failure=FetchFailure(kind=kind, message="m")))
    assert status.reason in REASONS
    assert status.detail


@pytest.mark.parametrize(
    ("kind", "message", "reason"),
    [
        # The words of a message never decide: only the kind does.
        (FailureKind.CONNECT, "connection refused: x", "connection-failed"),
        (FailureKind.REFUSED, "could not connect: x", "connection-refused"),
        (FailureKind.RESET, "CERTIFICATE_VERIFY_FAILED", "connection-reset"),
        (FailureKind.OTHER, "not tried: x", "fetch-error"),
    ],
)
def test_the_kind_decides_not_the_message(kind, message, reason):
    status = classify(result(failure=FetchFailure(kind=kind, message=message)))
    assert status.reason == reason
    assert status.detail == REASONS[reason].sentence.format(
        status="", final="", message=message, attempts=1
    )


@pytest.mark.parametrize(
    ("cause", "outcome", "reason"),
    [
        (FailureKind.REFUSED, Outcome.DEAD, "connection-refused"),
        (FailureKind.CONNECT, Outcome.ERROR, "connection-failed"),
        (FailureKind.CONNECT_TIMEOUT, Outcome.ERROR, "timeout"),
    ],
)
def test_a_host_given_up_gets_the_reason_it_earned(cause, outcome, reason):
    failure = FetchFailure(
        kind=FailureKind.HOST_GIVEN_UP, message="skipped: host down", cause=cause
    )
    status = classify(result(failure=failure, attempts=0))
    assert (status.outcome, status.reason, status.attempts) == (outcome, reason, 0)
    assert status.detail == "skipped: host down"  # not "on all 0 attempts"


def test_every_reason_has_an_outcome_and_sentence():
    for code, reason in REASONS.items():
        assert isinstance(reason.outcome, Outcome), code
        assert reason.sentence.strip(), code


def test_redirects_and_offsite_moves():
    same_site = classify(
        result(hop(TARGET.url, 301), hop("https://www.news.example/b", 200))
    )
    assert (same_site.outcome, same_site.reason) == (Outcome.ALIVE, "redirected")
    assert same_site.chain == (TARGET.url, "https://www.news.example/b")
    moved = classify(result(hop(TARGET.url, 301), hop("https://other.example/", 200)))
    assert (moved.outcome, moved.reason) == (Outcome.ALIVE, "moved-offsite")
    temporary = classify(
        result(hop(TARGET.url, 302), hop("https://other.example/", 200))
    )
    assert temporary.reason == "redirected"


def test_body_cut_by_the_connection_is_an_error():
    status = classify(result(hop(TARGET.url, 200, complete=False)))
    assert (status.outcome, status.reason) == (Outcome.ERROR, "truncated-body")


def test_kind_prefers_link_over_image_and_content_type_is_read():
    status = classify(result(hop(TARGET.url, 200, (b"Content-Type", b"text/html"))))
    assert status.kind is LinkKind.LINK
    assert status.content_type == "text/html"
