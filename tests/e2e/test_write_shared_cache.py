"""Read after write across two gateway processes sharing Redis: a change made through one is
what the other shows next, though the other had the old record cached (real Redis; skipped
without one, except under CI=true)."""

from __future__ import annotations

import base64
import os
import socket
from typing import Any

from pydantic import SecretStr

from gateway.settings import CacheSettings
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import RESILIENCE_ON, serve, settings_for

PATIENT = fixture("critical-allergies")
TREATMENTS = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) { criticalInformation { treatments { id description } searches {
    resourceType fromCache } } }
}"""
REGISTER = """
mutation($nin: NationalIdentityNumber!) {
  registerOngoingTreatment(nin: $nin, input: {treatment: CYTOSTATICS,
    note: "Kur hver tredje uke.", startedOn: "2026-09-01"}) { entries { id } }
}"""


def _procedure_search_cached(body: dict[str, Any]) -> bool:
    section = body["data"]["patient"]["criticalInformation"]
    return any(s["fromCache"] for s in section["searches"] if s["resourceType"] == "Procedure")


async def test_a_write_through_one_gateway_is_read_at_once_through_another(
    registries: MockRegistries, redis_cache: CacheSettings
) -> None:
    settings = settings_for(registries, cache=redis_cache, **RESILIENCE_ON)
    async with serve(settings) as writer_side, serve(settings) as reader_side:
        before = await reader_side.graphql(TREATMENTS, {"nin": PATIENT.nin})
        cached = await reader_side.graphql(TREATMENTS, {"nin": PATIENT.nin})
        assert _procedure_search_cached(cached), "the reader has the record cached"
        assert len(before["data"]["patient"]["criticalInformation"]["treatments"]) == 1

        written = await writer_side.graphql(
            REGISTER, {"nin": PATIENT.nin}, persona="home-care-nurse"
        )
        assert written.get("errors") is None, written
        [entry] = written["data"]["registerOngoingTreatment"]["entries"]

        registries.reset_stats()
        after = await reader_side.graphql(TREATMENTS, {"nin": PATIENT.nin})
    treatments = after["data"]["patient"]["criticalInformation"]["treatments"]
    assert {"id": entry["id"], "description": "Cytostatikabehandling"} in treatments
    assert not _procedure_search_cached(after)
    assert registries.stats(Source.CORE_RECORD).by_resource_type.get("Procedure") == 1


async def test_a_retry_that_reaches_another_gateway_does_not_write_twice(
    registries: MockRegistries, redis_cache: CacheSettings
) -> None:
    settings = settings_for(registries, cache=redis_cache, **RESILIENCE_ON)
    variables = {"nin": PATIENT.nin, "key": "cytostatics-retry-1"}
    async with serve(settings) as first, serve(settings) as second:
        made = await first.graphql(KEYED, variables, persona="home-care-nurse")
        retried = await second.graphql(KEYED, variables, persona="home-care-nurse")
    assert made["data"]["registerOngoingTreatment"]["replayed"] is False
    assert retried["data"]["registerOngoingTreatment"]["replayed"] is True
    assert (
        retried["data"]["registerOngoingTreatment"]["entries"]
        == made["data"]["registerOngoingTreatment"]["entries"]
    )
    assert len(registries.population.edits) == 1


async def test_a_change_whose_cache_cannot_be_invalidated_says_so_and_a_retry_writes_nothing_more(
    registries: MockRegistries,
) -> None:
    broken = CacheSettings(
        redis_url=f"redis://127.0.0.1:{_closed_port()}/0",
        encryption_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
        redis_timeout_s=0.2,
    )
    settings = settings_for(registries, cache=broken, **RESILIENCE_ON)
    variables = {"nin": PATIENT.nin, "key": "cytostatics-retry-2"}
    async with serve(settings) as gateway:
        body = await gateway.graphql(KEYED, variables, persona="home-care-nurse")
        assert [e["extensions"]["code"] for e in body["errors"]] == ["CACHE_UNAVAILABLE"]
        assert len(registries.population.edits) == 1, "the change itself was saved"
        again = await gateway.graphql(KEYED, variables, persona="home-care-nurse")
    assert [e["extensions"]["code"] for e in again["errors"]] == ["CACHE_UNAVAILABLE"]
    assert len(registries.population.edits) == 1, "the retry wrote nothing more"


KEYED = """
mutation($nin: NationalIdentityNumber!, $key: String) {
  registerOngoingTreatment(nin: $nin, input: {treatment: CYTOSTATICS,
    note: "Kur hver tredje uke.", startedOn: "2026-09-01"}, idempotencyKey: $key) {
    replayed entries { id version }
  }
}"""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
