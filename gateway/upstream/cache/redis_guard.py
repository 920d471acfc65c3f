"""The shared cache (Redis) as a dependency that can fail: a breaker in front of it.

Redis only saves time; the registries are the source of truth, so a Redis that does not answer
makes each lookup a miss, never an error (``gateway/upstream/cache/``). This module makes a
Redis that hangs cost a few round trips instead of one per search:

- each round trip is bounded by ``cache.redis_timeout_s`` (the redis client's connect and socket
  timeouts; aiocache's own per-call timeout is off);
- after ``cache.breaker_failure_threshold`` failed round trips in a row the breaker opens, and
  reads and writes skip Redis at once (a read is a miss: the registry answers);
- after ``cache.breaker_reset_s`` one read probes Redis; when it answers, the breaker closes.

While Redis is skipped there is no fallback to a memory cache of this process: an invalidation
made through another worker or host would not reach that copy, which could then serve a changed
record as fresh. Invalidations themselves always try Redis (a write must know whether they held).

A change is logged once (a warning when Redis stops answering, a line when it answers again),
never per search; ``gateway_shared_cache_*`` counts round trips and skipped calls and shows the
state; ``/readyz`` reports ``cache``, which never makes the gateway unready.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from gateway.settings import CacheSettings
from gateway.upstream.breaker import CircuitBreaker, CircuitState

if TYPE_CHECKING:
    from gateway.ops.metrics import SharedCacheMetrics

log = logging.getLogger("gateway.cache")


class SharedCacheGuard:
    """Decides whether a call may go to Redis now, and learns from how each round trip ended.

    ``clock`` is injectable so tests can move time instead of sleeping.
    """

    def __init__(
        self, settings: CacheSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.breaker = CircuitBreaker(
            settings.breaker_failure_threshold, settings.breaker_reset_s, clock
        )
        self._reset_s = settings.breaker_reset_s
        self._down = False  # as last logged
        self.metrics: SharedCacheMetrics | None = None

    def may_read(self) -> bool:
        """May a read go to Redis now? While open, no (counted as skipped); half-open, one."""
        if self.breaker.allow():
            return True
        self._skipped()
        return False

    def may_write(self) -> bool:
        """May a write go to Redis now? Only while closed: a probe is a read."""
        if self.breaker.state is CircuitState.CLOSED:
            return True
        self._skipped()
        return False

    def answered(self) -> None:
        """A round trip to Redis succeeded."""
        self.breaker.record_success()
        self._changed(ok=True, error=None)

    def failed(self, error: BaseException) -> None:
        """A round trip to Redis failed (refused, reset, timed out)."""
        self.breaker.record_failure()
        self._changed(ok=False, error=error)

    def abandoned(self) -> None:
        """A permitted round trip ended with neither verdict (cancelled)."""
        self.breaker.release()

    def health(self) -> dict[str, str]:
        """For ``/readyz``: ``ok`` while Redis is used, ``degraded`` while it is skipped."""
        state = self.breaker.state
        if self.metrics is not None:
            self.metrics.state(state)  # OPEN turns HALF_OPEN with time alone
        return {
            "kind": "redis",
            "state": "ok" if state is CircuitState.CLOSED else "degraded",
            "breaker": state.value,
        }

    def _skipped(self) -> None:
        if self.metrics is not None:
            self.metrics.skipped()

    def _changed(self, ok: bool, error: BaseException | None) -> None:
        state = self.breaker.state
        if self.metrics is not None:
            self.metrics.round_trip(ok, state)
        down = state is not CircuitState.CLOSED
        if down == self._down:
            return
        self._down = down
        if down:
            log.warning(
                "the shared cache (Redis) stopped answering: %d round trips failed in a row "
                "(last: %s); reads and writes skip it, and one read tries it every %g s",
                self.breaker.consecutive_failures,
                type(error).__name__,
                self._reset_s,
            )
        else:
            log.info("the shared cache (Redis) answers again")
