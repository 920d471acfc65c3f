"""Fault injection: each kind fails as specified, clearing it restores service, stats count."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest

from mocks import EPHEMERAL_PORTS, Fault, FaultKind, MockRegistries, Population, Source, fixture
from tests.mocks.fhir_client import FHIR_ACCEPT, contract_params, entries, get_json, next_link

HOME_CARE = fixture("home-care-elderly").nin


def _url(registries: MockRegistries, resource_type: str = "MedicationRequest") -> str:
    source, path, params = contract_params(resource_type, HOME_CARE, count=50)
    query = "&".join(f"{k}={v}" for k, v in params)
    return f"{registries.base_urls[source]}{path}?{query}"


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url, headers=FHIR_ACCEPT) as response:
        await response.read()
        return response.status


async def test_http_500_answers_an_operation_outcome_until_cleared(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_500))
    status, outcome = await get_json(session, _url(registries))
    assert (status, outcome["resourceType"]) == (500, "OperationOutcome")
    await registries.clear_fault(Source.PRESCRIPTIONS)
    assert await _status(session, _url(registries)) == 200


async def test_http_503_carries_retry_after(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_503, retry_after_s=7))
    async with session.get(_url(registries)) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "7"
        assert response.content_type == "application/fhir+json"


async def test_latency_fault_and_base_latency_delay_answers(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.LATENCY, latency_ms=300))
    started = time.monotonic()
    assert await _status(session, _url(registries)) == 200
    assert time.monotonic() - started >= 0.3
    await registries.clear_fault(Source.PRESCRIPTIONS)
    registries.set_latency(Source.PRESCRIPTIONS, 200)
    started = time.monotonic()
    assert await _status(session, _url(registries)) == 200
    assert time.monotonic() - started >= 0.2


async def test_hang_never_answers_within_the_client_timeout_and_clearing_restores(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.LAB_RESULTS, Fault(FaultKind.HANG))
    with pytest.raises(TimeoutError):
        async with session.get(
            _url(registries, "DiagnosticReport"), timeout=aiohttp.ClientTimeout(total=0.3)
        ):
            pass
    await registries.clear_fault(Source.LAB_RESULTS)
    assert await _status(session, _url(registries, "DiagnosticReport")) == 200


async def test_stopping_does_not_wait_for_hanging_requests(
    population: Population, session: aiohttp.ClientSession
) -> None:
    mocks = MockRegistries(population, sources=[Source.DOCUMENTS], ports=EPHEMERAL_PORTS)
    await mocks.start()
    await mocks.set_fault(Source.DOCUMENTS, Fault(FaultKind.HANG))
    hanging = asyncio.create_task(_status(session, _url(mocks, "DocumentReference")))
    await asyncio.sleep(0.1)
    await asyncio.wait_for(mocks.stop(), timeout=3)
    assert await asyncio.wait_for(hanging, timeout=3) == 503


async def test_connection_refused_closes_the_port_and_clearing_reopens_it(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    url = _url(registries, "Encounter")
    assert await _status(session, url) == 200  # leaves a kept-alive connection in the pool
    await registries.set_fault(Source.VISIT_HISTORY, Fault(FaultKind.CONNECTION_REFUSED))
    with pytest.raises(aiohttp.ClientError):
        await _status(session, url)
    async with aiohttp.ClientSession() as fresh:
        with pytest.raises(aiohttp.ClientConnectorError):
            await _status(fresh, url)
    await registries.clear_fault(Source.VISIT_HISTORY)
    assert registries.base_urls[Source.VISIT_HISTORY] in url
    assert await _status(session, url) == 200


async def test_malformed_json_is_truncated_fhir_json(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.CORE_RECORD, Fault(FaultKind.MALFORMED_JSON))
    async with session.get(_url(registries, "Patient")) as response:
        assert response.status == 200
        assert response.content_type == "application/fhir+json"
        body = await response.read()
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)


async def test_non_fhir_bodies_are_json_without_a_resource_type_or_html(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.CORE_RECORD, Fault(FaultKind.NON_FHIR_BODY))
    status, body = await get_json(session, _url(registries, "Patient"))
    assert status == 200
    assert "resourceType" not in body
    await registries.set_fault(Source.CORE_RECORD, Fault(FaultKind.HTML_ERROR_PAGE))
    async with session.get(_url(registries, "Patient")) as response:
        assert (response.status, response.content_type) == (200, "text/html")
        assert b"<html>" in await response.read()


async def test_broken_next_link_serves_the_first_page_but_its_next_link_is_gone(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.BROKEN_NEXT_LINK))
    status, first = await get_json(session, _url(registries))
    assert status == 200
    assert len(entries(first)) == 50
    link = next_link(first)
    assert link is not None
    status, outcome = await get_json(session, link)
    assert (status, outcome["resourceType"]) == (404, "OperationOutcome")


async def test_faults_can_spare_first_pages_other_types_and_later_requests(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    await registries.set_fault(
        Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_500, later_pages_only=True)
    )
    status, first = await get_json(session, _url(registries))
    link = next_link(first)
    assert status == 200 and link is not None
    assert await _status(session, link) == 500

    only_dispenses = Fault(FaultKind.HTTP_500, resource_types=frozenset({"MedicationDispense"}))
    await registries.set_fault(Source.PRESCRIPTIONS, only_dispenses)
    assert await _status(session, _url(registries, "MedicationRequest")) == 200
    assert await _status(session, _url(registries, "MedicationDispense")) == 500

    await registries.set_fault(Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_503, times=2))
    statuses = [await _status(session, _url(registries)) for _ in range(3)]
    assert statuses == [503, 503, 200]


async def test_faults_given_at_start_apply_from_the_first_request(
    population: Population, session: aiohttp.ClientSession
) -> None:
    faults = {
        Source.LAB_RESULTS: Fault(FaultKind.HTTP_503),
        Source.DOCUMENTS: Fault(FaultKind.CONNECTION_REFUSED),
    }
    async with MockRegistries(population, ports=EPHEMERAL_PORTS, faults=faults) as mocks:
        assert await _status(session, _url(mocks, "DiagnosticReport")) == 503
        with pytest.raises(aiohttp.ClientConnectorError):
            await _status(session, _url(mocks, "DocumentReference"))
        await mocks.clear_fault()
        assert await _status(session, _url(mocks, "DocumentReference")) == 200


async def test_admin_routes_switch_faults_and_report_stats(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    root = registries.base_urls[Source.LAB_RESULTS].removesuffix("/fhir")
    fault = {"kind": "http_503", "retry_after_s": 3, "latency_ms": 0}
    async with session.put(f"{root}/_admin/fault", json=fault) as response:
        assert response.status == 200
        assert (await response.json())["fault"]["kind"] == "http_503"
    assert registries.fault(Source.LAB_RESULTS).retry_after_s == 3
    assert await _status(session, _url(registries, "DiagnosticReport")) == 503
    async with session.delete(f"{root}/_admin/fault") as response:
        assert response.status == 200
    assert await _status(session, _url(registries, "DiagnosticReport")) == 200
    assert await _status(session, registries.base_urls[Source.LAB_RESULTS] + "/metadata") == 200

    async with session.get(f"{root}/_admin/stats") as response:
        stats = await response.json()
    assert stats == {"total": 3, "by_resource_type": {"DiagnosticReport": 2, "metadata": 1}}
    assert registries.stats(Source.LAB_RESULTS).total == 3
    async with session.delete(f"{root}/_admin/stats") as response:
        assert (await response.json())["total"] == 0
    assert registries.stats(Source.LAB_RESULTS).by_resource_type == {}


async def test_admin_route_rejects_bad_faults_and_connection_refused(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    root = registries.base_urls[Source.LAB_RESULTS].removesuffix("/fhir")
    for body in (
        {"kind": "explode"},
        {"kind": "latency", "latency_ms": -5},
        {"kind": "http_500", "colour": "red"},
        {"kind": "connection_refused"},
    ):
        async with session.put(f"{root}/_admin/fault", json=body) as response:
            assert response.status == 400, body
    async with session.put(f"{root}/_admin/latency", json={"latency_ms": 25}) as response:
        assert (await response.json())["latency_ms"] == 25
    assert registries.fault(Source.LAB_RESULTS).kind is FaultKind.NONE
    assert registries.stats(Source.LAB_RESULTS).total == 0
