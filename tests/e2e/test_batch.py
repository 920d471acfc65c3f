"""Searches started together go to a registry as one FHIR ``batch`` (gateway/upstream/batch.py),
over real HTTP, and the summary is the same as when each goes on its own.

The mock registries take a batch unless their mode says not (``ServerMode.batch``, mocks/batch.py);
each entry is counted and faulted as the request alone would be, so a fault on one resource type
fails one entry. The independent server (tests/fhir_server) offers batch too, and its summaries
are compared with the mocks' there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from mocks.faults import BATCH_COUNT, Fault, FaultKind
from mocks.fixtures import fixture
from mocks.modes import ServerMode
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import GatewayServer, serve, settings_for, strip_provenance

CONSENT = {"nhn-access-basis": "SAMTYKKE"}
# The core record's searches that include nothing, started together once the privacy settings
# are read: these go as one batch. (Searches with ``_include`` always go alone: see
# FhirSource._batches.)
CORE_BATCHED = {
    "AllergyIntolerance",
    "Condition",
    "DeviceUseStatement",
    "Flag",
    "Procedure",
    "RelatedPerson",
}


@pytest.fixture
async def batching(registries: MockRegistries) -> AsyncIterator[MockRegistries]:
    """The run's registries, every one taking batches; back to the default after the test."""
    registries.set_mode(ServerMode(batch=True))
    try:
        yield registries
    finally:
        registries.reset_mode()


async def _summary(gateway: GatewayServer, nin: str) -> dict[str, Any]:
    body = await gateway.graphql(summary_query(), {"nin": nin}, headers=CONSENT)
    return body


async def _metric(gateway: GatewayServer, name: str, source: str) -> float:
    async with gateway.anonymous.get(f"{gateway.url}/metrics") as response:
        text = await response.text()
    prefix = f'{name}_total{{source="{source}"}} '
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


@pytest.mark.parametrize("key", ["critical-allergies", "home-care-elderly", "no-gp"])
async def test_one_batch_carries_the_core_records_searches_and_the_summary_is_the_same(
    batching: MockRegistries, key: str
) -> None:
    nin = fixture(key).nin
    batching.set_mode(ServerMode(batch=False))
    async with serve(settings_for(batching)) as gateway:
        alone = await _summary(gateway, nin)
    batching.set_mode(ServerMode(batch=True))
    async with serve(settings_for(batching)) as gateway:
        await _summary(gateway, nin)  # the first reads each CapabilityStatement
        batching.reset_stats()
        batched = await _summary(gateway, nin)
        assert await _metric(gateway, "gateway_upstream_batches", "core_record") >= 1
        entries = await _metric(gateway, "gateway_upstream_batch_entries", "core_record")
        assert entries >= len(CORE_BATCHED)
    assert alone.get("errors") is None and batched.get("errors") is None, batched.get("errors")
    assert strip_provenance(batched["data"]) == strip_provenance(alone["data"])
    core = batching.stats(Source.CORE_RECORD)
    assert core.by_resource_type.get(BATCH_COUNT) == 1
    for resource_type in CORE_BATCHED:
        assert core.by_resource_type.get(resource_type) == 1, resource_type
    # Exchanges: the privacy settings alone (the rest waits for them, on purpose) and the
    # Patient (its search includes), then one batch for the other six.
    assert core.total == 3, core.to_json()
    assert core.by_resource_type.get("Consent") == core.by_resource_type.get("Patient") == 1
    statuses = {
        v["status"]
        for v in batched["data"]["patient"].values()
        if isinstance(v, dict) and "status" in v
    }
    assert statuses == {"COMPLETE"}


async def test_a_failing_entry_fails_its_own_section_only(batching: MockRegistries) -> None:
    nin = fixture("critical-allergies").nin
    async with serve(settings_for(batching)) as gateway:
        await _summary(gateway, nin)
        await batching.set_fault(
            Source.CORE_RECORD,
            Fault(FaultKind.HTTP_500, resource_types=frozenset({"RelatedPerson"})),
        )
        batching.reset_stats()
        body = await _summary(gateway, nin)
    patient = body["data"]["patient"]
    assert batching.stats(Source.CORE_RECORD).by_resource_type.get(BATCH_COUNT) == 1
    assert patient["criticalInformation"]["status"] == "COMPLETE"
    assert patient["criticalInformation"]["allergies"], "the batch's other entries arrived"
    own = patient["ownRegistrations"]
    assert own["status"] != "COMPLETE"
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    assert "SOURCE_UNAVAILABLE" in codes


async def test_an_unreadable_batch_answer_fails_every_search_it_carried(
    batching: MockRegistries,
) -> None:
    nin = fixture("critical-allergies").nin
    async with serve(settings_for(batching)) as gateway:
        await _summary(gateway, nin)
        # One entry's answer cut short cuts the whole batch's answer (a batch cannot carry it).
        await batching.set_fault(
            Source.CORE_RECORD,
            Fault(FaultKind.MALFORMED_JSON, resource_types=frozenset({"Flag"})),
        )
        body = await _summary(gateway, nin)
    patient = body["data"]["patient"]
    assert patient["criticalInformation"]["status"] == "UNAVAILABLE"
    assert (
        patient["criticalInformation"]["allergies"] is None
        or not patient["criticalInformation"]["allergies"]
    )
    # Its languages come from the Patient, which went alone; what the batch carried is missing.
    assert patient["ownRegistrations"]["status"] == "PARTIAL"
    failed = {tuple(e["path"][1:]) for e in body["errors"]}
    assert ("ownRegistrations", "nextOfKin") in failed
    codes = {e["extensions"]["code"] for e in body.get("errors", [])}
    assert codes == {"SOURCE_BAD_RESPONSE"}, body.get("errors")


async def test_a_refused_batch_sends_each_search_alone(batching: MockRegistries) -> None:
    """A registry that stops taking batches (its CapabilityStatement not yet read again) loses
    nothing: each search is sent again on its own."""
    nin = fixture("critical-allergies").nin
    async with serve(settings_for(batching)) as gateway:
        first = await _summary(gateway, nin)
        batching.set_mode(ServerMode(batch=False))  # it now answers a batch with 405
        batching.reset_stats()
        second = await _summary(gateway, nin)
        refused = batching.stats(Source.CORE_RECORD)
        batching.reset_stats()
        third = await _summary(gateway, nin)
    assert strip_provenance(second["data"]) == strip_provenance(first["data"])
    assert second.get("errors") is None and third.get("errors") is None
    # The second summary tried one batch, was refused, and sent its searches alone.
    assert refused.by_resource_type.get(BATCH_COUNT) == 1
    assert refused.by_resource_type.get("Flag") == 1
    core = batching.stats(Source.CORE_RECORD)
    assert BATCH_COUNT not in core.by_resource_type, "no batch after one was refused"
    assert core.by_resource_type.get("Flag") == 1


async def test_the_settings_can_turn_batches_off(batching: MockRegistries) -> None:
    nin = fixture("critical-allergies").nin
    for batch in (True, False):  # the same registries, batching by default, then not
        async with serve(settings_for(batching, batch=batch)) as gateway:
            await _summary(gateway, nin)
            batching.reset_stats()
            body = await _summary(gateway, nin)
        assert body.get("errors") is None
        searched = batching.stats(Source.CORE_RECORD).by_resource_type
        assert (BATCH_COUNT in searched) is batch, searched


async def test_the_mocks_answer_a_batch_as_fhir_says(batching: MockRegistries) -> None:
    """A batch-response: one entry per request, in order, each with its status; a read and a
    search of an unknown type fail their own entries only; a non-GET entry is refused."""
    base = batching.base_urls[Source.CORE_RECORD]
    nin = fixture("critical-allergies").nin
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Patient?identifier={nin}"}},
            {"request": {"method": "GET", "url": "Encounter?patient=Patient/x"}},
            {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
            {"request": {"method": "DELETE", "url": "Patient/x"}},
        ],
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(base, json=batch, headers={"Content-Type": "application/fhir+json"}) as r,
    ):
        assert r.status == 200
        answer = await r.json(content_type=None)
    assert answer["type"] == "batch-response"
    statuses = [e["response"]["status"].split()[0] for e in answer["entry"]]
    assert statuses == ["200", "404", "404", "400"]
    assert answer["entry"][0]["resource"]["type"] == "searchset"
    assert answer["entry"][0]["resource"]["entry"][0]["resource"]["resourceType"] == "Patient"
    assert {e["resource"]["resourceType"] for e in answer["entry"][1:]} == {"OperationOutcome"}


async def test_a_hanging_entry_holds_its_batch_and_the_other_registries_still_answer(
    batching: MockRegistries,
) -> None:
    """The price of a batch: one slow search holds the answers of the others it carries. They
    time out together (SOURCE_TIMEOUT, within the source's timeout), and every other registry's
    sections arrive as usual."""
    nin = fixture("critical-allergies").nin
    async with serve(settings_for(batching)) as gateway:
        await _summary(gateway, nin)
        await batching.set_fault(
            Source.CORE_RECORD, Fault(FaultKind.HANG, resource_types=frozenset({"Flag"}))
        )
        body = await _summary(gateway, nin)
    patient = body["data"]["patient"]
    assert patient["criticalInformation"]["status"] == "UNAVAILABLE"
    timed_out = {tuple(e["path"][1:]) for e in body["errors"]}
    assert ("criticalInformation", "allergies") in timed_out
    assert ("ownRegistrations", "nextOfKin") in timed_out
    assert {e["extensions"]["code"] for e in body["errors"]} == {"SOURCE_TIMEOUT"}
    assert patient["medications"]["status"] == "COMPLETE"
    assert patient["labResults"]["status"] == "COMPLETE"
