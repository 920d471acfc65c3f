"""Caching and resilience through the real app over HTTP, counted at the real mock registries:
single-flight, the breaker's cycle, stale-if-error and its window, sourceHealth and /readyz."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mocks.faults import Fault, FaultKind
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import RESILIENCE_ON, GatewayServer, fresh_runner, serve, settings_for

PATIENT = fixture("home-care-elderly").nin

GP_AND_HEALTH = """
query GpAndHealth($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    generalPractitioner { status searches { status errorCode } }
  }
}
"""

HEALTH = "{ sourceHealth { source circuit recentErrorRate probeInSeconds } }"
HEALTH_DETAIL = "{ sourceHealth { source circuit recentCalls recentFailures recentErrorRate } }"

MEDICATIONS = """
query Medications($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    medications {
      status staleAgeSeconds fromCache fetchedAt
      prescriptions { id }
      searches { resourceType status errorCode fromCache ageSeconds }
    }
    generalPractitioner { status staleAgeSeconds }
  }
}
"""


def _health(body: dict[str, Any], source: Source) -> dict[str, Any]:
    return next(h for h in body["data"]["sourceHealth"] if h["source"] == source.name)


async def test_fifty_concurrent_summaries_on_a_cold_cache_make_one_upstream_call_per_search(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries, **RESILIENCE_ON, page_size=1000, timeout_s=5.0)
    # What one summary costs upstream (a search may span several pages).
    async with serve(settings) as gateway:
        await gateway.graphql(summary_query(), {"nin": PATIENT})
    one = {source: registries.stats(source).by_resource_type for source in registries.sources}
    assert all(one.values()), "every registry was asked"
    registries.reset_stats()

    # A second of latency, so that all fifty arrive while the first calls are still out.
    for source in registries.sources:
        registries.set_latency(source, 1000)
    async with serve(settings) as gateway:
        bodies = await asyncio.gather(
            *(gateway.graphql(summary_query(), {"nin": PATIENT}) for _ in range(50))
        )
    assert all(body.get("errors") in (None, []) for body in bodies)
    fifty = {source: registries.stats(source).by_resource_type for source in registries.sources}
    assert fifty == one, "fifty summaries cost what one does"
    from_cache = [s["fromCache"] for b in bodies for s in b["data"]["patient"]["sources"]]
    assert not any(from_cache), "all fifty waited for the same live calls"


async def test_the_breaker_opens_stops_calling_then_half_opens_and_closes_on_success(
    registries: MockRegistries,
) -> None:
    settings = settings_for(
        registries,
        **{
            **RESILIENCE_ON,
            "cache_ttl_s": 0,
            "stale_max_s": 0,
            "retries": 0,
            "breaker_failure_threshold": 2,
            "breaker_reset_s": 1.0,
        },
    )
    async with serve(settings) as gateway:
        await registries.set_fault(Source.GP_REGISTRY, Fault(FaultKind.HTTP_500))
        for _ in range(2):
            failing = await gateway.graphql(GP_AND_HEALTH, {"nin": PATIENT})
            assert failing["data"]["patient"]["generalPractitioner"]["status"] == "UNAVAILABLE"
        health = _health(await gateway.graphql(HEALTH_DETAIL), Source.GP_REGISTRY)
        assert health["circuit"] == "OPEN"
        # The CapabilityStatement read at start, then two failed searches.
        assert (health["recentCalls"], health["recentFailures"]) == (3, 2)
        assert health["recentErrorRate"] == pytest.approx(2 / 3, abs=1e-3)

        registries.reset_stats()
        body = await gateway.graphql(GP_AND_HEALTH, {"nin": PATIENT})
        section = body["data"]["patient"]["generalPractitioner"]
        assert section["status"] == "UNAVAILABLE"
        assert section["searches"] == [{"status": "FAILED", "errorCode": "SOURCE_CIRCUIT_OPEN"}]
        assert registries.stats(Source.GP_REGISTRY).total == 0, "an open breaker calls nobody"
        assert registries.stats(Source.CORE_RECORD).total > 0, "the other registries still are"
        async with gateway.session.get(f"{gateway.url}/readyz") as response:
            assert response.status == 200, "a registry down does not make the gateway unready"
            ready = await response.json()
        gp = next(s for s in ready["sources"] if s["source"] == "gp_registry")
        assert gp["circuit"] == "OPEN"
        assert gp["recentErrorRate"] == pytest.approx(2 / 3, abs=1e-3)

        await registries.clear_fault(Source.GP_REGISTRY)
        await asyncio.sleep(1.2)
        assert _health(await gateway.graphql(HEALTH), Source.GP_REGISTRY)["circuit"] == (
            "HALF_OPEN"
        )
        body = await gateway.graphql(GP_AND_HEALTH, {"nin": PATIENT})
        assert body["data"]["patient"]["generalPractitioner"]["status"] == "COMPLETE"
        assert registries.stats(Source.GP_REGISTRY).total == 1, "one probe"
        assert _health(await gateway.graphql(HEALTH), Source.GP_REGISTRY)["circuit"] == "CLOSED"


async def _medications(gateway: GatewayServer) -> dict[str, Any]:
    body = await gateway.graphql(MEDICATIONS, {"nin": PATIENT})
    return body


async def test_a_stale_answer_is_served_within_the_window_and_not_beyond_it(
    registries: MockRegistries,
) -> None:
    settings = settings_for(
        registries, **{**RESILIENCE_ON, "cache_ttl_s": 0, "stale_max_s": 1.0, "retries": 0}
    )
    async with serve(settings) as gateway:
        fresh = await _medications(gateway)
        assert fresh["data"]["patient"]["medications"]["status"] == "COMPLETE"
        await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_503))

        within = await _medications(gateway)
        section = within["data"]["patient"]["medications"]
        assert within.get("errors") in (None, [])
        assert section["status"] == "STALE"
        assert 0 <= section["staleAgeSeconds"] < 1.0
        assert section["fromCache"] is True
        assert section["fetchedAt"] == fresh["data"]["patient"]["medications"]["fetchedAt"]
        assert section["prescriptions"] == fresh["data"]["patient"]["medications"]["prescriptions"]
        assert {(s["status"], s["errorCode"]) for s in section["searches"]} == {
            ("STALE", "SOURCE_UNAVAILABLE")
        }
        assert within["data"]["patient"]["generalPractitioner"]["status"] == "COMPLETE"

        await asyncio.sleep(1.2)
        beyond = await _medications(gateway)
    section = beyond["data"]["patient"]["medications"]
    assert section["status"] == "UNAVAILABLE"
    assert section["staleAgeSeconds"] is None
    assert section["prescriptions"] is None
    assert {e["extensions"]["code"] for e in beyond["errors"]} == {"SOURCE_UNAVAILABLE"}


async def test_a_cached_answer_is_served_without_asking_the_registry_again(
    registries: MockRegistries,
) -> None:
    async with serve(settings_for(registries, **RESILIENCE_ON)) as gateway:
        first = await _medications(gateway)
        asked = registries.stats(Source.PRESCRIPTIONS).total
        second = await _medications(gateway)
    assert asked > 0
    assert registries.stats(Source.PRESCRIPTIONS).total == asked, "the second came from cache"
    assert first["data"]["patient"]["medications"]["fromCache"] is False
    section = second["data"]["patient"]["medications"]
    assert (section["status"], section["fromCache"]) == ("COMPLETE", True)
    assert all(s["fromCache"] and s["ageSeconds"] >= 0 for s in section["searches"])
    assert section["prescriptions"] == first["data"]["patient"]["medications"]["prescriptions"]


async def test_invalidating_a_patient_makes_the_next_summary_ask_that_registry_again(
    registries: MockRegistries,
) -> None:
    async with fresh_runner(settings_for(registries, **RESILIENCE_ON)) as runner:
        await runner.execute(summary_query(), {"nin": PATIENT})
        registries.reset_stats()
        await runner.clients.invalidate_patient("prescriptions", PATIENT)
        body = await runner.execute(summary_query(), {"nin": PATIENT})
    assert registries.stats(Source.PRESCRIPTIONS).total > 0
    assert body["data"]["patient"]["medications"]["fromCache"] is False
    others = [s for s in registries.sources if s is not Source.PRESCRIPTIONS]
    # (The core record's privacy settings are asked on every request: never cached.)
    assert registries.stats(Source.CORE_RECORD).by_resource_type == {"Consent": 1}
    others.remove(Source.CORE_RECORD)
    assert all(registries.stats(s).total == 0 for s in others), "only that registry's entries"


async def test_a_hanging_registry_is_given_up_at_the_request_deadline_not_its_timeout(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries, **RESILIENCE_ON, timeout_s=30.0, request_deadline_s=1.0)
    await registries.set_fault(Source.LAB_RESULTS, Fault(FaultKind.HANG))
    async with serve(settings) as gateway:
        # Far less than the source's 30 s timeout: the deadline ended the wait.
        body = await asyncio.wait_for(gateway.graphql(summary_query(), {"nin": PATIENT}), 10)
    patient = body["data"]["patient"]
    assert patient["labResults"]["status"] == "UNAVAILABLE"
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SOURCE_TIMEOUT"}
    assert patient["medications"]["status"] == "COMPLETE"
