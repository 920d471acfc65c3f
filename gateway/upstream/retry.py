"""Retries of idempotent upstream reads: tenacity, with the registry's ``Retry-After`` and the
request's deadline as the limits.

tenacity supplies the attempt loop, the jittered exponential backoff and the stop conditions; we
add the two rules it cannot know: wait what a registry's ``Retry-After`` says when it says
something, and never start a wait that ends past the request's deadline (tenacity computes the
wait before it asks the stop condition, so the condition can see it). Only ``SourceUnavailable``
is retried (a refused or reset connection, HTTP 5xx or 429): a timeout already spent the source's
whole budget, and a bad answer will be as bad the second time.
"""

from __future__ import annotations

import datetime as dt
import email.utils

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from gateway.errors import SourceBusy, SourceCircuitOpen, SourceUnavailable
from gateway.settings import SourceSettings
from gateway.upstream.deadline import remaining

MAX_BACKOFF_S = 1.0
MAX_WAIT_S = 2.0


def transient(error: BaseException) -> bool:
    """Whether another attempt may go better: the source was unavailable (not busy, not cut off
    by its breaker)."""
    return isinstance(error, SourceUnavailable) and not isinstance(
        error, SourceCircuitOpen | SourceBusy
    )


class _TooLongAWait(stop_base):
    """Stop when the coming wait would end at or past the request's deadline, or is longer than
    ``MAX_WAIT_S`` (a registry that asks for more patience than a waiting clinician has is not
    asked again sooner: the error, or a stale answer, comes at once)."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        left = remaining()
        wait = retry_state.upcoming_sleep
        return wait > MAX_WAIT_S or (left is not None and wait >= left)


def retrying(settings: SourceSettings) -> AsyncRetrying:
    """A fresh retry loop for one read: ``async for attempt in retrying(s): with attempt: …``."""
    jitter = wait_random_exponential(multiplier=settings.retry_backoff_s, max=MAX_BACKOFF_S)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        retry_after = getattr(error, "retry_after_s", None)
        return float(retry_after) if retry_after is not None else jitter(state)

    return AsyncRetrying(
        retry=retry_if_exception(transient),
        wait=wait,
        stop=stop_after_attempt(settings.retries + 1) | _TooLongAWait(),
        reraise=True,
    )


def retry_after_seconds(header: str | None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) as seconds from now."""
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
