"""Two gateway processes sharing one Redis: a fill in one is a hit in the other, and what Redis
holds is sealed. Against the real Redis (skipped without one, except under CI=true)."""

from __future__ import annotations

import redis

from gateway.settings import CacheSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import REDIS_URL, RESILIENCE_ON, serve, settings_for

PATIENT = fixture("home-care-elderly")


async def test_a_summary_cached_by_one_gateway_is_a_hit_in_another(
    registries: MockRegistries, redis_cache: CacheSettings
) -> None:
    settings = settings_for(registries, cache=redis_cache, **RESILIENCE_ON)
    async with serve(settings) as first, serve(settings) as second:
        filled = await first.graphql(summary_query(), {"nin": PATIENT.nin})
        asked = {source: registries.stats(source).total for source in registries.sources}
        registries.reset_stats()
        hit = await second.graphql(summary_query(), {"nin": PATIENT.nin})

    assert filled.get("errors") in (None, []) and hit.get("errors") in (None, [])
    assert all(asked.values()), "the first gateway asked every registry"
    # The second gateway asked nothing but the privacy settings, which are never cached.
    asked_second = {s: registries.stats(s).by_resource_type for s in registries.sources}
    assert asked_second.pop(Source.CORE_RECORD) == {"Consent": 1}
    assert all(not by_type for by_type in asked_second.values())
    cached = [s for s in hit["data"]["patient"]["sources"] if s["resourceType"] != "Consent"]
    assert cached and all(s["fromCache"] for s in cached)
    assert not any(s["fromCache"] for s in filled["data"]["patient"]["sources"])
    medications = hit["data"]["patient"]["medications"]
    assert medications["prescriptions"] == filled["data"]["patient"]["medications"]["prescriptions"]


async def test_redis_holds_no_patient_data_in_clear_after_a_summary(
    registries: MockRegistries, redis_cache: CacheSettings
) -> None:
    settings = settings_for(registries, cache=redis_cache, **RESILIENCE_ON)
    async with serve(settings) as gateway:
        body = await gateway.graphql(summary_query(), {"nin": PATIENT.nin})
    patient = body["data"]["patient"]
    drugs = {p["medication"]["substance"] for p in patient["medications"]["prescriptions"]} | {
        p["medication"]["productName"] for p in patient["medications"]["prescriptions"]
    }
    drugs.discard(None)
    assert drugs, "the fixture has prescriptions"

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{redis_cache.namespace}:*"))
        dump = b"".join(keys) + b"".join(
            v for v in (client.get(key) for key in keys) if isinstance(v, bytes)
        )
    finally:
        client.close()
    assert len(keys) >= 12, "every search of the summary was cached"
    in_clear = [
        secret
        for secret in (PATIENT.nin, patient["demographics"]["details"]["fullName"], *drugs)
        if secret.encode() in dump
    ]
    assert in_clear == []
    assert b"resourceType" not in dump, "no FHIR in clear either"
