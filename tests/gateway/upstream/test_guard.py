"""The guard of one source (``gateway/upstream/guard.py``) on its own: fresh, single-flight,
stale within its window, the breaker on a clock the test moves, and the bulkhead.

Real objects only: a memory ``UpstreamCache``, an ``Upstream`` with an injected clock, and
searches that are plain coroutines the test holds open or fails. Time moves only where the
code takes it from: the breaker's ``clock``, a cached entry's ``stored_at``, the request deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from gateway.errors import SourceBusy, SourceCircuitOpen, SourceError, SourceUnavailable
from gateway.settings import Settings, SourceSettings
from gateway.upstream.breaker import CircuitState
from gateway.upstream.cache import UpstreamCache
from gateway.upstream.deadline import request_deadline
from gateway.upstream.guard import Read, Served, Upstream

NIN = "15828512339"
PARAMS = [("subject:identifier", f"urn:oid:2.16.578.1.12.4.1.4.1|{NIN}")]
SOURCE = "prescriptions"


class Clock:
    """Time that passes only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Search:
    """One upstream search the test controls: counts its calls, answers or fails, and can be
    held open until the test lets it go."""

    def __init__(self, answer: list[str] | None = None, error: SourceError | None = None) -> None:
        self.answer = answer if answer is not None else ["live"]
        self.error = error
        self.calls = 0
        self.started = asyncio.Event()
        self.gate: asyncio.Event | None = None

    def hold(self) -> None:
        """Keep every call open until :meth:`release`."""
        self.gate = asyncio.Event()

    def release(self) -> None:
        assert self.gate is not None
        self.gate.set()

    async def __call__(self) -> list[str]:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.answer


def _read(
    fetch: Callable[[], Awaitable[list[str]]],
    resource_type: str = "MedicationRequest",
    cacheable: bool = True,
) -> Read[list[str]]:
    return Read(
        patient=NIN,
        resource_type=resource_type,
        params=PARAMS,
        fetch=fetch,
        encode=lambda value: value,
        decode=list,
        cacheable=cacheable,
    )


def _unavailable() -> SourceUnavailable:
    return SourceUnavailable(SOURCE, "the prescriptions registry answered 503")


@pytest.fixture
async def cache() -> AsyncIterator[UpstreamCache]:
    upstream_cache = UpstreamCache.memory(Settings())
    try:
        yield upstream_cache
    finally:
        await upstream_cache.aclose()


def _upstream(cache: UpstreamCache, clock: Clock | None = None, **overrides: Any) -> Upstream:
    settings = SourceSettings(**{"cache_ttl_s": 30.0, "stale_max_s": 900.0, **overrides})
    return Upstream(SOURCE, settings, cache, clock if clock is not None else Clock())


async def _store(cache: UpstreamCache, value: list[str], age_s: float) -> None:
    """A cached answer that left the registry ``age_s`` seconds ago."""
    lookup = await cache.lookup(SOURCE, NIN, "MedicationRequest", PARAMS)
    await cache.store(lookup, value, stored_at=time.time() - age_s, ttl_s=3600)


async def _settle() -> None:
    """Let every ready task run up to its next real wait (no time passes)."""
    for _ in range(20):
        await asyncio.sleep(0)


# Fresh answers and single-flight


async def test_a_fresh_cached_answer_is_served_without_asking_the_source(
    cache: UpstreamCache,
) -> None:
    await _store(cache, ["cached"], age_s=5)
    search = Search()
    served = await _upstream(cache).read(_read(search))
    assert served.value == ["cached"]
    assert served.provenance.from_cache
    assert served.provenance.stale_after is None
    assert search.calls == 0


async def test_a_live_answer_is_stored_and_then_served_from_the_cache(
    cache: UpstreamCache,
) -> None:
    upstream = _upstream(cache)
    search = Search(["live"])
    first = await upstream.read(_read(search))
    second = await upstream.read(_read(search))
    assert first.value == second.value == ["live"]
    assert not first.provenance.from_cache
    assert second.provenance.from_cache
    assert search.calls == 1


async def test_concurrent_reads_of_one_search_share_one_upstream_call(
    cache: UpstreamCache,
) -> None:
    # Never fresh: a reader that missed the flight would have to call the source itself.
    upstream = _upstream(cache, cache_ttl_s=0)
    search = Search(["once"])
    search.hold()
    readers = [asyncio.create_task(upstream.read(_read(search))) for _ in range(5)]
    await search.started.wait()
    await _settle()
    search.release()
    served = await asyncio.gather(*readers)
    assert [one.value for one in served] == [["once"]] * 5
    assert search.calls == 1


async def test_different_searches_do_not_share_a_flight(cache: UpstreamCache) -> None:
    upstream = _upstream(cache, cache_ttl_s=0)
    requests, dispenses = Search(["requests"]), Search(["dispenses"])
    both = await asyncio.gather(
        upstream.read(_read(requests, "MedicationRequest")),
        upstream.read(_read(dispenses, "MedicationDispense")),
    )
    assert [one.value for one in both] == [["requests"], ["dispenses"]]
    assert (requests.calls, dispenses.calls) == (1, 1)


async def test_a_reader_that_gives_up_leaves_the_flight_to_the_others(
    cache: UpstreamCache,
) -> None:
    upstream = _upstream(cache, cache_ttl_s=0)
    search = Search(["kept"])
    search.hold()
    quitter = asyncio.create_task(upstream.read(_read(search)))
    stayer = asyncio.create_task(upstream.read(_read(search)))
    await search.started.wait()
    await _settle()
    quitter.cancel()
    await asyncio.gather(quitter, return_exceptions=True)
    search.release()
    assert (await stayer).value == ["kept"]
    assert search.calls == 1


# Stale within the window


async def test_a_failure_is_answered_with_a_cached_copy_younger_than_stale_max(
    cache: UpstreamCache,
) -> None:
    await _store(cache, ["old"], age_s=100)  # past cache_ttl_s (30), within stale_max_s (900)
    search = Search(error=_unavailable())
    served: Served[list[str]] = await _upstream(cache).read(_read(search))
    assert search.calls == 1  # not fresh: the source was asked first
    assert served.value == ["old"]
    assert served.provenance.from_cache
    assert isinstance(served.provenance.stale_after, SourceUnavailable)
    assert served.provenance.age_s is not None and 100 <= served.provenance.age_s < 900


async def test_a_cached_copy_older_than_stale_max_is_not_served(cache: UpstreamCache) -> None:
    await _store(cache, ["too old"], age_s=1000)
    with pytest.raises(SourceUnavailable):
        await _upstream(cache).read(_read(Search(error=_unavailable())))


async def test_no_stale_copy_when_stale_max_is_zero(cache: UpstreamCache) -> None:
    await _store(cache, ["old"], age_s=100)
    with pytest.raises(SourceUnavailable):
        await _upstream(cache, stale_max_s=0).read(_read(Search(error=_unavailable())))


async def test_an_uncacheable_read_is_never_served_from_the_cache_not_even_stale(
    cache: UpstreamCache,
) -> None:
    await _store(cache, ["cached consent"], age_s=1)  # fresh, were it cacheable
    upstream = _upstream(cache)
    live = Search(["live consent"])
    assert (await upstream.read(_read(live, cacheable=False))).value == ["live consent"]
    with pytest.raises(SourceUnavailable):
        await upstream.read(_read(Search(error=_unavailable()), cacheable=False))


# The breaker, on the guard's clock


async def test_the_breaker_opens_at_its_threshold_and_stops_calling_the_source(
    cache: UpstreamCache,
) -> None:
    upstream = _upstream(cache, Clock(), breaker_failure_threshold=2, cache_ttl_s=0)
    failing = Search(error=_unavailable())
    for _ in range(2):
        with pytest.raises(SourceUnavailable) as raised:
            await upstream.read(_read(failing))
        assert not isinstance(raised.value, SourceCircuitOpen)
    assert upstream.health().state is CircuitState.OPEN
    untouched = Search()
    with pytest.raises(SourceCircuitOpen):
        await upstream.read(_read(untouched))
    assert untouched.calls == 0
    assert failing.calls == 2
    report = upstream.health()
    assert (report.recent_calls, report.recent_failures) == (2, 2)


async def test_an_open_breaker_is_answered_with_the_stale_copy(cache: UpstreamCache) -> None:
    upstream = _upstream(cache, Clock(), breaker_failure_threshold=1)
    await _store(cache, ["old"], age_s=100)
    first = await upstream.read(_read(Search(error=_unavailable())))
    assert isinstance(first.provenance.stale_after, SourceUnavailable)
    untouched = Search()
    second = await upstream.read(_read(untouched))
    assert second.value == ["old"]
    assert isinstance(second.provenance.stale_after, SourceCircuitOpen)
    assert untouched.calls == 0


async def test_after_reset_one_probe_goes_out_and_its_success_closes_the_breaker(
    cache: UpstreamCache,
) -> None:
    clock = Clock()
    upstream = _upstream(cache, clock, breaker_failure_threshold=1, breaker_reset_s=15)
    with pytest.raises(SourceUnavailable):
        await upstream.read(_read(Search(error=_unavailable())))
    assert upstream.health().probe_in_s == 15
    clock.now += 15
    assert upstream.health().state is CircuitState.HALF_OPEN
    probe = Search(["back"], None)
    probe.hold()
    probing = asyncio.create_task(upstream.read(_read(probe, "MedicationRequest")))
    await probe.started.wait()
    # While the probe is out, every other call is refused, not sent.
    other = Search()
    with pytest.raises(SourceCircuitOpen):
        await upstream.read(_read(other, "MedicationDispense"))
    assert other.calls == 0
    probe.release()
    assert (await probing).value == ["back"]
    assert upstream.health().state is CircuitState.CLOSED


async def test_a_failed_probe_opens_the_breaker_again_for_a_full_reset(
    cache: UpstreamCache,
) -> None:
    clock = Clock()
    upstream = _upstream(cache, clock, breaker_failure_threshold=1, breaker_reset_s=15)
    with pytest.raises(SourceUnavailable):
        await upstream.read(_read(Search(error=_unavailable())))
    clock.now += 15
    with pytest.raises(SourceUnavailable):
        await upstream.read(_read(Search(error=_unavailable())))
    assert upstream.health().state is CircuitState.OPEN
    assert upstream.health().probe_in_s == 15


async def test_a_cancelled_probe_lets_the_next_call_probe(cache: UpstreamCache) -> None:
    clock = Clock()
    upstream = _upstream(cache, clock, breaker_failure_threshold=1, breaker_reset_s=15)
    with pytest.raises(SourceUnavailable):
        await upstream.read(_read(Search(error=_unavailable())))
    clock.now += 15

    probe = Search()
    probe.hold()
    flight = asyncio.create_task(upstream.guarded(probe))
    await probe.started.wait()
    flight.cancel()
    await asyncio.gather(flight, return_exceptions=True)
    assert await upstream.guarded(Search(["next probe"])) == ["next probe"]
    assert upstream.health().state is CircuitState.CLOSED


# The bulkhead


async def _hold_the_only_slot(upstream: Upstream) -> tuple[Search, asyncio.Task[Any]]:
    holder = Search()
    holder.hold()
    task = asyncio.create_task(upstream.guarded(holder))
    await holder.started.wait()
    return holder, task


async def test_a_full_bulkhead_turns_a_call_away_with_source_busy(cache: UpstreamCache) -> None:
    upstream = _upstream(cache, max_in_flight=1, timeout_s=0.01)
    holder, task = await _hold_the_only_slot(upstream)
    assert upstream.health().in_flight == 1
    waiting = Search()
    with pytest.raises(SourceBusy):
        await upstream.guarded(waiting)
    assert waiting.calls == 0
    # Busy is not the source failing: the breaker does not count it.
    assert upstream.health().consecutive_failures == 0
    holder.release()
    await task
    assert upstream.health().in_flight == 0
    assert await upstream.guarded(Search(["free again"])) == ["free again"]


async def test_a_full_bulkhead_waits_no_longer_than_the_request_deadline(
    cache: UpstreamCache,
) -> None:
    # The source's timeout alone would keep the caller waiting an hour.
    upstream = _upstream(cache, max_in_flight=1, timeout_s=3600)
    holder, task = await _hold_the_only_slot(upstream)
    past = contextvars.copy_context()
    past.run(request_deadline.set, asyncio.get_running_loop().time())
    waiting = Search()
    with pytest.raises(SourceBusy):
        await asyncio.create_task(upstream.guarded(waiting), context=past)
    assert waiting.calls == 0
    holder.release()
    await task


async def test_a_freed_slot_is_taken_by_a_waiting_call(cache: UpstreamCache) -> None:
    upstream = _upstream(cache, max_in_flight=1, timeout_s=3600)
    holder, task = await _hold_the_only_slot(upstream)
    waiting = asyncio.create_task(upstream.guarded(Search(["after"])))
    await _settle()
    assert not waiting.done()
    holder.release()
    await task
    assert await waiting == ["after"]
