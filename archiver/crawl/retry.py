"""When to try a request again, and how long to wait first.

The policy is pure data and small functions so it can be tested without a
network; the loop itself is tenacity's. A failed attempt is a value (a
response with a transient status, or a transient ``FetchFailure``), never an
exception, so tenacity decides on results only.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import trio
from tenacity import AsyncRetrying, RetryCallState, retry_if_result, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from archiver.models import FailureKind, FetchFailure, Hop

# Statuses that say "not now" rather than "no": request timeout, too early,
# too many requests, and the server-side errors a retry often clears.
TRANSIENT_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})

# Failures below HTTP that a second attempt may not meet. A name that does not
# exist, a refused private address or a redirect problem will not change.
TRANSIENT_FAILURES: Final = frozenset(
    {
        FailureKind.REFUSED,
        FailureKind.CONNECT,
        FailureKind.CONNECT_TIMEOUT,
        FailureKind.TIMEOUT,
        FailureKind.RESET,
        FailureKind.TLS,
    }
)

Attempt = Hop | FetchFailure


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How many attempts a request gets and how the waits between them grow."""

    attempts: int = 3
    base: float = 1.0  # first backoff in seconds; doubles each time, with jitter
    max_wait: float = 30.0  # no computed backoff is longer than this
    retry_after_cap: float = 60.0  # a longer Retry-After ends the retries instead


def is_transient(attempt: Attempt) -> bool:
    """Whether this attempt's result is worth another try."""
    if isinstance(attempt, FetchFailure):
        return attempt.kind in TRANSIENT_FAILURES
    # A body cut short by the connection is as transient as a reset.
    return attempt.status in TRANSIENT_STATUSES or not attempt.body.complete


def retry_after(hop: Hop, now: datetime | None = None) -> float | None:
    """Seconds a response's ``Retry-After`` asks for (RFC 9110 §10.2.3), or None."""
    values = [v for k, v in hop.response_headers if k.lower() == b"retry-after"]
    if not values:
        return None
    text = values[-1].decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _last(state: RetryCallState) -> Attempt | None:
    if state.outcome is None or state.outcome.failed:
        return None
    result = state.outcome.result()
    return result if isinstance(result, Hop | FetchFailure) else None


Sleep = Callable[[float], Awaitable[None]]


def make_retrying(
    policy: RetryPolicy,
    discard: Callable[[Attempt], None],
    sleep: Sleep = trio.sleep,
) -> AsyncRetrying:
    """A tenacity loop for one request under ``policy``.

    ``discard`` is called on each attempt that is retried, before the wait:
    the caller keeps its response for the archive (or removes its body).
    ``sleep`` waits between attempts (the caller may let others work meanwhile).
    """
    backoff = wait_exponential_jitter(
        multiplier=policy.base, max=policy.max_wait, jitter=policy.base
    )

    def wait(state: RetryCallState) -> float:
        delay = float(backoff(state))
        last = _last(state)
        if isinstance(last, Hop):
            asked = retry_after(last)
            if asked is not None:
                delay = max(delay, asked)
        return delay

    def stop(state: RetryCallState) -> bool:
        if stop_after_attempt(policy.attempts)(state):
            return True
        last = _last(state)
        if isinstance(last, Hop):
            asked = retry_after(last)
            # Waiting less than the server asked is not honouring it, and
            # waiting longer than the cap would stall the run: give up now.
            return asked is not None and (
                math.isnan(asked) or asked > policy.retry_after_cap
            )
        return False

    def before_sleep(state: RetryCallState) -> None:
        last = _last(state)
        if last is not None:
            discard(last)

    return AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=retry_if_result(is_transient),
        before_sleep=before_sleep,
        retry_error_callback=lambda state: (
            state.outcome.result() if state.outcome is not None else None
        ),
        sleep=sleep,
        reraise=True,
    )


async def run_with_retries(
    policy: RetryPolicy,
    attempt: Callable[[], Awaitable[Attempt]],
    discard: Callable[[Attempt], None],
    sleep: Sleep = trio.sleep,
) -> tuple[Attempt, int]:
    """Run ``attempt`` until it is not transient or the policy gives up.

    Returns the last attempt's result and how many attempts were made.
    """
    retrying = make_retrying(policy, discard, sleep)
    result: Attempt = await retrying(attempt)
    return result, retrying.statistics.get("attempt_number", 1)
