"""A circuit breaker and a recent-error window for one upstream source.

Written here rather than taken from a library: the breaker is ~60 lines, must be asyncio-native,
must let exactly one probe through when half-open, and must report its state for
``sourceHealth`` and ``/readyz``; the maintained libraries we looked at (pybreaker, aiobreaker,
purgatory) are thread- or storage-oriented, or hide that state. State is per process: each
gateway process judges a source by the calls it made itself.

    CLOSED ──(failure_threshold consecutive failures)──▶ OPEN
    OPEN ──(reset_s passed; the next call is the probe)──▶ HALF_OPEN
    HALF_OPEN ──(probe succeeds)──▶ CLOSED      HALF_OPEN ──(probe fails)──▶ OPEN
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


class CircuitState(enum.Enum):
    """Where a source's breaker stands."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    """Counts consecutive failures of one source and stops calling it for a while after many.

    ``clock`` is injectable so tests can move time instead of sleeping.
    """

    def __init__(
        self,
        failure_threshold: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> CircuitState:
        """The state now (OPEN turns HALF_OPEN by itself once ``reset_s`` has passed)."""
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._probing or self._clock() - self._opened_at >= self._reset_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        return self._failures

    def probe_in_s(self) -> float | None:
        """Seconds until an open breaker lets a probe through; None unless OPEN."""
        if self.state is not CircuitState.OPEN or self._opened_at is None:
            return None
        return max(0.0, self._opened_at + self._reset_s - self._clock())

    def allow(self) -> bool:
        """May a call go out now? When half-open, True exactly once until the probe ends."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        """A call succeeded: close the breaker."""
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        """A call failed: open the breaker at the threshold, or again after a failed probe."""
        self._failures += 1
        if self._probing or self._failures >= self._threshold:
            self._opened_at = self._clock()
        self._probing = False

    def release(self) -> None:
        """A permitted call ended with neither verdict (cancelled): let another probe try."""
        self._probing = False


@dataclass(frozen=True, slots=True)
class ErrorRate:
    """Calls and failures in the recent window."""

    calls: int
    failures: int

    @property
    def rate(self) -> float | None:
        """Failures per call, or None when there were no calls."""
        return self.failures / self.calls if self.calls else None


class ErrorWindow:
    """Outcomes of the calls made in the last ``window_s`` seconds."""

    def __init__(self, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._window_s = window_s
        self._clock = clock
        self._events: deque[tuple[float, bool]] = deque(maxlen=10_000)

    def record(self, ok: bool) -> None:
        """Note one call's outcome."""
        self._events.append((self._clock(), ok))

    def snapshot(self) -> ErrorRate:
        """Calls and failures within the window."""
        horizon = self._clock() - self._window_s
        while self._events and self._events[0][0] < horizon:
            self._events.popleft()
        failures = sum(1 for _, ok in self._events if not ok)
        return ErrorRate(len(self._events), failures)
