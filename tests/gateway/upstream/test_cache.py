"""The upstream cache: found again, bounded, invalidated per patient, sealed at rest in Redis."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from pydantic import SecretStr, ValidationError
from redis.exceptions import RedisError

from gateway.settings import CacheSettings, Settings
from gateway.upstream.cache import UpstreamCache
from tests.audit_support import TcpProxy
from tests.conftest import REDIS_URL

NIN = "15828512339"
OTHER_NIN = "01819042000"
PARAMS = [("subject:identifier", f"urn:oid:2.16.578.1.12.4.1.4.1|{NIN}")]
VALUE = {"matches": [{"resourceType": "MedicationRequest", "note": f"Albyl-E for {NIN}"}]}


def _key() -> SecretStr:
    return SecretStr(base64.b64encode(os.urandom(32)).decode())


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[UpstreamCache]:
    """Each test runs on both backends (Redis with a namespace of its own)."""
    if request.param == "memory":
        settings = Settings(cache=CacheSettings(encryption_key=_key()))
    else:
        settings = Settings(cache=request.getfixturevalue("redis_cache"))
    upstream_cache = UpstreamCache.open(settings)
    try:
        yield upstream_cache
    finally:
        await upstream_cache.aclose()


async def _fill(cache: UpstreamCache, nin: str = NIN, source: str = "prescriptions") -> None:
    lookup = await cache.lookup(source, nin, "MedicationRequest", PARAMS)
    await cache.store(lookup, VALUE, stored_at=1_700_000_000.0, ttl_s=60)


async def test_a_stored_answer_is_found_again_with_when_it_was_fetched(
    cache: UpstreamCache,
) -> None:
    await _fill(cache)
    found = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
    assert found.entry is not None
    assert found.entry.value == VALUE
    assert found.entry.stored_at == 1_700_000_000.0
    other = await cache.lookup("prescriptions", NIN, "MedicationDispense", PARAMS)
    assert other.entry is None


async def test_invalidating_a_patient_misses_only_that_patients_entries_of_that_source(
    cache: UpstreamCache,
) -> None:
    await _fill(cache)
    await _fill(cache, nin=OTHER_NIN)
    await _fill(cache, source="lab_results")
    await cache.invalidate_patient("prescriptions", NIN)

    gone = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
    assert gone.entry is None
    assert (await cache.lookup("prescriptions", OTHER_NIN, "MedicationRequest", PARAMS)).entry
    assert (await cache.lookup("lab_results", NIN, "MedicationRequest", PARAMS)).entry
    # A new answer after the write is cached as usual.
    await cache.store(gone, VALUE, stored_at=1_700_000_100.0, ttl_s=60)
    again = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
    assert again.entry is not None
    assert again.entry.stored_at == 1_700_000_100.0


async def test_the_memory_cache_holds_at_most_its_configured_entries() -> None:
    cache = UpstreamCache.memory(Settings(cache=CacheSettings(max_entries=3)))
    for i in range(5):
        lookup = await cache.lookup("prescriptions", NIN, f"Type{i}", PARAMS)
        await cache.store(lookup, VALUE, stored_at=1.0, ttl_s=60)
    found = [
        (await cache.lookup("prescriptions", NIN, f"Type{i}", PARAMS)).entry is not None
        for i in range(5)
    ]
    assert found == [False, False, True, True, True], "the oldest went first"


async def test_redis_holds_no_identity_number_or_drug_name_in_clear(
    redis_cache: CacheSettings,
) -> None:
    cache = UpstreamCache.open(Settings(cache=redis_cache))
    try:
        await _fill(cache)
        await cache.invalidate_patient("lab_results", NIN)  # a generation key, too
    finally:
        await cache.aclose()
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=f"{redis_cache.namespace}:*")]
        values = [await client.get(key) for key in keys]
    finally:
        await client.aclose()
    assert len(keys) == 2
    dump = b"".join(keys) + b"".join(v for v in values if isinstance(v, bytes))
    for secret in (NIN.encode(), b"Albyl", b"MedicationRequest", b"prescriptions"):
        assert secret not in dump


async def test_a_sealed_value_moved_to_another_key_does_not_open(
    redis_cache: CacheSettings,
) -> None:
    cache = UpstreamCache.open(Settings(cache=redis_cache))
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await _fill(cache)
        mine = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
        theirs = await cache.lookup("prescriptions", OTHER_NIN, "MedicationRequest", PARAMS)
        await client.set(theirs.key, await client.get(mine.key) or b"")
        moved = await cache.lookup("prescriptions", OTHER_NIN, "MedicationRequest", PARAMS)
    finally:
        await client.aclose()
        await cache.aclose()
    assert moved.entry is None, "one patient's answer never shows up as another's"


async def test_a_redis_that_cannot_be_reached_is_a_miss_not_an_error() -> None:
    settings = CacheSettings(redis_url="redis://127.0.0.1:1/0", encryption_key=_key())
    cache = UpstreamCache.open(Settings(cache=settings))
    try:
        lookup = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
        await cache.store(lookup, VALUE, stored_at=1.0, ttl_s=60)
    finally:
        await cache.aclose()
    assert lookup.entry is None


def test_redis_without_an_encryption_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="encryption_key"):
        CacheSettings(redis_url=REDIS_URL)


def test_an_encryption_key_must_be_32_bytes_of_base64() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        CacheSettings(encryption_key=SecretStr(base64.b64encode(b"short").decode()))
    with pytest.raises(ValidationError, match="base64"):
        CacheSettings(encryption_key=SecretStr("not base64!"))


async def test_an_unchanged_entry_is_the_same_object_and_a_changed_one_is_new(
    cache: UpstreamCache, request: pytest.FixtureRequest
) -> None:
    """What is derived from an entry (decoded, mapped, completed) is reused only while the
    store holds the very same value: a value replaced by another instance, or invalidated, is
    read afresh."""
    await _fill(cache)
    first = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
    again = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
    assert first.entry is not None and again.entry is first.entry

    # Another instance (for Redis: another process on the same store) replaces the value.
    if cache.shared:
        other = UpstreamCache.open(Settings(cache=request.getfixturevalue("redis_cache")))
    else:
        other = cache
    try:
        newer = {"matches": [{"resourceType": "MedicationRequest", "note": "changed"}]}
        lookup = await other.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
        await other.store(lookup, newer, stored_at=1_700_000_100.0, ttl_s=60)
        changed = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
        assert changed.entry is not None and changed.entry is not first.entry
        assert changed.entry.value == newer

        await other.invalidate_patient("prescriptions", NIN)
        gone = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
        assert gone.entry is None
    finally:
        if other is not cache:
            await other.aclose()


async def test_redis_reads_started_together_go_in_one_round_trip(
    redis_cache: CacheSettings,
) -> None:
    """A summary starts its searches at once; their cache reads share one MGET. Each still gets
    its own entry. Counted at a proxy in front of the real Redis: while it holds, every request
    the client sends is kept back and counted."""
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    settings = redis_cache.model_copy(update={"redis_url": f"redis://127.0.0.1:{proxy.port}/0"})
    upstream_cache = UpstreamCache.open(Settings(cache=settings))
    try:
        nins = [NIN, OTHER_NIN]
        for nin in nins:
            await _fill(upstream_cache, nin)
        proxy.hold()
        lookups = asyncio.gather(
            *(
                upstream_cache.lookup("prescriptions", nin, kind, PARAMS)
                for nin in nins
                for kind in ("MedicationRequest", "MedicationDispense")
            )
        )
        # The proxy counts each request as it arrives (held, not forwarded): wait for the
        # first, then give any other read a few more loop turns to arrive.
        for _ in range(1000):
            if proxy.held_requests:
                break
            await asyncio.sleep(0.005)
        for _ in range(20):
            await asyncio.sleep(0)
        assert proxy.held_requests == 1, "four lookups, one round trip"
        proxy.release()
        found = await lookups
        assert [lookup.entry is not None for lookup in found] == [True, False, True, False]
        assert found[0].key != found[2].key
    finally:
        await upstream_cache.aclose()
        await proxy.cut()


class _Clock:
    """Time for the Redis breaker that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_hung_redis_is_skipped_after_the_threshold_and_probed_back_after_the_reset(
    redis_cache: CacheSettings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.cache")
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    settings = redis_cache.model_copy(
        update={
            "redis_url": f"redis://127.0.0.1:{proxy.port}/0",
            "redis_timeout_s": 0.05,
            "breaker_failure_threshold": 2,
            "breaker_reset_s": 30.0,
        }
    )
    clock = _Clock()
    cache = UpstreamCache.open(Settings(cache=settings), clock=clock)
    assert cache.guard is not None
    try:
        await _fill(cache)
        proxy.hold()
        for _ in range(2):  # each waits out the timeout, and is a miss
            assert (
                await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
            ).entry is None
        assert cache.health() == {"kind": "redis", "state": "degraded", "breaker": "OPEN"}
        asked = proxy.held_requests
        for _ in range(20):
            lookup = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
            await cache.store(lookup, VALUE, stored_at=1.0, ttl_s=60)
        assert proxy.held_requests == asked, "nothing goes to Redis while the breaker is open"
        with pytest.raises(RedisError):  # an invalidation still tries, and says it failed
            await cache.invalidate_patient("prescriptions", NIN)

        clock.now += 30  # one probe, which fails: still skipped, nothing more logged
        await asyncio.gather(
            *(cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS) for _ in range(5))
        )
        assert cache.health()["breaker"] == "OPEN"
        proxy.release()
        assert (await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)).entry is None
        clock.now += 30  # the next probe finds Redis back, with what it held
        found = await cache.lookup("prescriptions", NIN, "MedicationRequest", PARAMS)
        assert found.entry is not None and found.entry.value == VALUE
        assert cache.health() == {"kind": "redis", "state": "ok", "breaker": "CLOSED"}
    finally:
        await cache.aclose()
        await proxy.cut()
    assert [(r.levelname, r.getMessage()[:44]) for r in caplog.records] == [
        ("WARNING", "the shared cache (Redis) stopped answering: "),
        ("INFO", "the shared cache (Redis) answers again"),
    ]
