"""The cache holds upstream data, never a decision: a cache hit is still checked and logged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import RESILIENCE_ON, GatewayServer, serve, settings_for

ELDERLY = fixture("home-care-elderly")
BLOCKING = fixture("blocked-hpr")
LOG = """query($nin: NationalIdentityNumber!) { accessLog(nin: $nin, first: 1) { entries {
  actorName fields { field outcome code fromCache } } } }"""


@pytest.fixture(scope="module")
async def cached(shared_registries: MockRegistries) -> AsyncIterator[GatewayServer]:
    """A gateway with the upstream cache on (memory), in front of the shared mocks."""
    async with serve(settings_for(shared_registries, **RESILIENCE_ON)) as server:
        yield server


@pytest.fixture
def gw(cached: GatewayServer, registries: MockRegistries) -> GatewayServer:
    return cached


async def _last_access(gw: GatewayServer, nin: str) -> dict[str, Any]:
    body = await gw.graphql(LOG, {"nin": nin}, persona="privacy-officer")
    entry: dict[str, Any] = body["data"]["accessLog"]["entries"][0]
    return entry


async def test_a_cache_hit_is_logged_as_a_read_from_cache(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    await gw.graphql(summary_query(), {"nin": ELDERLY.nin})  # fills the cache
    registries.reset_stats()
    body = await gw.graphql(summary_query(), {"nin": ELDERLY.nin}, persona="nursing-home-doctor")
    assert body.get("errors") is None
    assert body["data"]["patient"]["medications"]["fromCache"] is True
    # Only the privacy settings went upstream: they are never cached.
    assert registries.stats(Source.CORE_RECORD).by_resource_type == {"Consent": 1}
    assert all(registries.stats(s).total == 0 for s in Source if s is not Source.CORE_RECORD)
    entry = await _last_access(gw, ELDERLY.nin)
    assert entry["actorName"] == "Nora Lie"
    sections = {f["field"]: f for f in entry["fields"] if f["field"] != "patient"}
    assert len(sections) == 8
    assert all(f["outcome"] == "GRANTED" and f["fromCache"] for f in sections.values())


async def test_a_cache_hit_is_still_denied_to_a_caller_without_access(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    await gw.graphql(summary_query(), {"nin": ELDERLY.nin})  # documents and labs now cached
    body = await gw.graphql(summary_query(), {"nin": ELDERLY.nin}, persona="pharmacist")
    patient = body["data"]["patient"]
    assert patient["documents"]["status"] == "FORBIDDEN"
    assert patient["documents"]["documents"] is None
    assert patient["labResults"]["status"] == "FORBIDDEN"
    fields = {f["field"]: f for f in (await _last_access(gw, ELDERLY.nin))["fields"]}
    assert fields["documents"] == {
        "field": "documents", "outcome": "DENIED", "code": "FORBIDDEN", "fromCache": False
    }  # fmt: skip


async def test_a_block_holds_against_a_warm_cache(
    gw: GatewayServer, registries: MockRegistries
) -> None:
    first = await gw.graphql(summary_query(), {"nin": BLOCKING.nin}, persona="emergency-doctor")
    assert first["data"]["patient"]["medications"]["status"] == "COMPLETE"
    body = await gw.graphql(summary_query(), {"nin": BLOCKING.nin}, persona="blocked-doctor")
    assert body["data"] == {"patient": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BLOCKED"]
    fields = (await _last_access(gw, BLOCKING.nin))["fields"]
    assert fields == [{"field": "patient", "outcome": "DENIED", "code": "BLOCKED",
                       "fromCache": False}]  # fmt: skip
