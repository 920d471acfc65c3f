"""What stands between a request and one upstream source: cache, single-flight, bulkhead,
circuit breaker and stale-if-error. The HTTP itself, with its timeouts and retries, stays in
``gateway/upstream/fhir.py``, the one error boundary; this module sees only ``SourceError``.

One read, in order:

1. a fresh cached answer (younger than the source's ``cache_ttl_s``) is served at once;
2. otherwise the read joins the one in-process flight for the same key, or starts it: concurrent
   requests for the same search wait for one upstream call (two processes sharing Redis may each
   make one; they then share its result through the cache);
3. the flight asks the breaker (open: fail at once with SOURCE_CIRCUIT_OPEN), takes a bulkhead
   slot (none free within the source's timeout: SOURCE_BUSY), calls the source and stores the
   answer for ``max(cache_ttl_s, stale_max_s)``;
4. when that fails with any ``SourceError`` and a cached answer younger than ``stale_max_s``
   exists, that answer is served, marked stale, with its age and the error it stands in for.

Waiting for a flight or a slot ends at the request's deadline. Breaker and health state are per
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from gateway.errors import SourceBusy, SourceCircuitOpen, SourceError, SourceTimeout
from gateway.settings import SourceSettings
from gateway.upstream.breaker import CircuitBreaker, CircuitState, ErrorWindow
from gateway.upstream.cache import CachedEntry, Lookup, UpstreamCache
from gateway.upstream.deadline import bounded, remaining
from gateway.upstream.fan_out import Provenance

if TYPE_CHECKING:
    from gateway.ops.metrics import SourceMetrics

T = TypeVar("T")
log = logging.getLogger("gateway.upstream")


@dataclass(frozen=True, slots=True)
class Served(Generic[T]):
    """An answer and where it came from."""

    value: T
    provenance: Provenance


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    """One search of one patient's data, how to make it, and how to keep its answer as JSON."""

    patient: str
    resource_type: str
    params: Sequence[tuple[str, str]]
    fetch: Callable[[], Awaitable[T]]
    encode: Callable[[T], Any]
    decode: Callable[[Any], T]
    cacheable: bool = True
    """False for data that must be current on every request (the patient's privacy settings):
    it is never stored nor served from the cache, not even stale; single-flight, the breaker and
    the bulkhead still apply."""


@dataclass(frozen=True, slots=True)
class SourceHealthReport:
    """One source's breaker and recent errors, for ``sourceHealth`` and ``/readyz``."""

    source: str
    state: CircuitState
    consecutive_failures: int
    recent_calls: int
    recent_failures: int
    error_rate: float | None
    probe_in_s: float | None
    in_flight: int
    patient_binding: str | None = None
    """How searches name the patient there (``gateway/upstream/binding.py``); None until it is
    known."""
    privacy_settings: str | None = None
    """Core record only: where the patients' privacy settings are read or enforced."""


def health_json(report: SourceHealthReport) -> dict[str, Any]:
    """A health report as JSON, for ``/readyz``."""
    return {
        "source": report.source,
        "circuit": report.state.value,
        "consecutiveFailures": report.consecutive_failures,
        "recentCalls": report.recent_calls,
        "recentFailures": report.recent_failures,
        "recentErrorRate": _round(report.error_rate),
        "probeInSeconds": _round(report.probe_in_s),
        "inFlight": report.in_flight,
        "patientBinding": report.patient_binding,
        "privacySettings": report.privacy_settings,
    }


class Upstream:
    """The guard of one source; one per source per app."""

    def __init__(
        self,
        name: str,
        settings: SourceSettings,
        cache: UpstreamCache,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self._settings = settings
        self._cache = cache
        self._label = f"the {name.replace('_', ' ')} registry"
        self.breaker = CircuitBreaker(
            settings.breaker_failure_threshold, settings.breaker_reset_s, clock
        )
        self.errors = ErrorWindow(clock=clock)
        self._slots = asyncio.Semaphore(settings.max_in_flight)
        self._in_flight = 0
        self._flights: dict[str, asyncio.Task[Served[Any]]] = {}
        self.metrics: SourceMetrics | None = None
        """Set by the app when it serves metrics (``gateway/ops/metrics.py``)."""

    async def read(self, read: Read[T]) -> Served[T]:
        """The answer to one search: cached, live, or stale."""
        lookup = await self._lookup(read)
        fresh = self._fresh(lookup.entry, read)
        metrics = self.metrics
        if fresh is not None:
            if metrics is not None:
                metrics.hit.inc()
            return fresh
        if metrics is not None and read.cacheable:
            metrics.miss.inc()
        try:
            return await self._join(lookup, read)
        except SourceError as error:
            stale = lookup.entry
            if stale is None or stale.age_s() > self._settings.stale_max_s:
                raise
            if metrics is not None:
                metrics.stale.inc()
            age = stale.age_s()
            log.warning("%s: %s, served a cached answer %.0f s old", self.name, error.code, age)
            return Served(stale.decoded(read.decode), _cached(stale, age, error))

    def health(self) -> SourceHealthReport:
        """The breaker's state and the error rate of the last minute."""
        recent = self.errors.snapshot()
        return SourceHealthReport(
            source=self.name,
            state=self.breaker.state,
            consecutive_failures=self.breaker.consecutive_failures,
            recent_calls=recent.calls,
            recent_failures=recent.failures,
            error_rate=recent.rate,
            probe_in_s=self.breaker.probe_in_s(),
            in_flight=self._in_flight,
        )

    async def _lookup(self, read: Read[Any]) -> Lookup:
        if not read.cacheable:
            # Keyed as usual, so concurrent requests still share one flight; nothing is read.
            key = self._cache.key_of(self.name, read.patient, read.resource_type, read.params)
            return Lookup(key, -1, None)
        return await self._cache.lookup(self.name, read.patient, read.resource_type, read.params)

    def _fresh(self, entry: CachedEntry | None, read: Read[T]) -> Served[T] | None:
        if entry is None:
            return None
        age = entry.age_s()
        if age >= self._settings.cache_ttl_s:
            return None
        return Served(entry.decoded(read.decode), _cached(entry, age, None))

    async def _join(self, lookup: Lookup, read: Read[T]) -> Served[T]:
        flight = self._flights.get(lookup.key)
        if flight is None:
            # Its own task: a caller that gives up (or is cancelled) leaves it to the others.
            flight = asyncio.ensure_future(self._fly(read))
            self._flights[lookup.key] = flight
            flight.add_done_callback(functools.partial(self._landed, lookup.key))
        try:
            served: Served[T] = await asyncio.wait_for(asyncio.shield(flight), remaining())
        except TimeoutError:
            raise SourceTimeout(self.name, f"{self._label} did not answer in time") from None
        return served

    def _landed(self, key: str, flight: asyncio.Task[Any]) -> None:
        self._flights.pop(key, None)
        # Every waiter may have given up (deadline, cancelled request): the outcome is consumed
        # here so that asyncio does not report it as never retrieved.
        if not flight.cancelled():
            flight.exception()

    async def _fly(self, read: Read[T]) -> Served[T]:
        # A flight that ended just before this one began may have stored the answer already.
        lookup = await self._lookup(read)
        fresh = self._fresh(lookup.entry, read)
        if fresh is not None:
            return fresh
        fetched_at = time.time()
        value = await self.guarded(read.fetch)
        keep_s = max(self._settings.cache_ttl_s, self._settings.stale_max_s)
        await self._cache.store(lookup, read.encode(value), fetched_at, keep_s)
        return Served(value, Provenance(fetched_at=dt.datetime.fromtimestamp(fetched_at, dt.UTC)))

    async def guarded(self, call: Callable[[], Awaitable[T]]) -> T:
        """``call`` (one request to the source) behind the breaker and the bulkhead, counted in
        the source's health and metrics; no cache. Searches come here through ``read``; the
        CapabilityStatement directly."""
        if not self.breaker.allow():
            self._called(SourceCircuitOpen.code, None)
            raise SourceCircuitOpen(
                self.name, f"{self._label} failed repeatedly and is not being asked for now"
            )
        started: float | None = None
        try:
            async with self._slot():
                started = time.perf_counter()
                value = await call()
        except SourceBusy:
            self.breaker.release()
            self._called(SourceBusy.code, None)
            raise
        except SourceError as error:
            self.breaker.record_failure()
            self.errors.record(ok=False)
            self._called(error.code, started)
            raise
        except BaseException:
            self.breaker.release()
            self._called("cancelled", started)
            raise
        self.breaker.record_success()
        self.errors.record(ok=True)
        self._called("ok", started)
        return value

    def _called(self, outcome: str, started: float | None) -> None:
        if self.metrics is not None:
            seconds = None if started is None else time.perf_counter() - started
            self.metrics.called(outcome, seconds, self.breaker.state)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """The bulkhead: a place among the source's ``max_in_flight`` calls, or SOURCE_BUSY.

        A full bulkhead is waited on, not refused at once: a burst of requests is absorbed,
        while a slow source, whose calls hold their slots up to its timeout, turns waiters away
        within one timeout (never past the request's deadline). Other sources never wait on it.
        """
        if self._slots.locked():
            try:
                await asyncio.wait_for(self._slots.acquire(), bounded(self._settings.timeout_s))
            except TimeoutError:
                raise SourceBusy(self.name, f"{self._label} has too many calls in flight") from None
        else:
            await self._slots.acquire()
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._slots.release()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _cached(entry: CachedEntry, age: float, stale_after: SourceError | None) -> Provenance:
    return Provenance(
        from_cache=True,
        fetched_at=dt.datetime.fromtimestamp(entry.stored_at, dt.UTC),
        age_s=age,
        stale_after=stale_after,
    )
