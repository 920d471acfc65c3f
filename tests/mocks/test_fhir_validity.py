"""Everything the mocks serve is valid FHIR (checked with fhir.resources' R4B models)."""

from __future__ import annotations

import asyncio
import base64
import random

import aiohttp
from fhir.resources.R4B.binary import Binary
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome

from mocks import FIXTURES, MockRegistries, Population, Source
from tests.mocks.fhir_client import CONTRACT, Json, get_json, search_pages, token

GENERATED_SAMPLE = 50


async def _all_pages_of_every_search(
    session: aiohttp.ClientSession, registries: MockRegistries, nin: str
) -> list[tuple[str, list[Json]]]:
    async def pages(
        source: Source, resource_type: str, params: list[tuple[str, str]]
    ) -> list[Json]:
        url = f"{registries.base_urls[source]}/{resource_type}"
        return await search_pages(session, url, [*params, ("_count", "100")])

    searches = [
        (rtype, pages(source, rtype, [(param, token(nin)), *extra]))
        for source, rtype, param, extra in CONTRACT
    ]
    results = await asyncio.gather(*(search for _, search in searches))
    return [(rtype, result) for (rtype, _), result in zip(searches, results, strict=True)]


def _check_bundle(page: Json, resource_type: str) -> None:
    Bundle.model_validate(page)
    assert page["type"] == "searchset"
    for entry in page.get("entry", []):
        resource = entry["resource"]
        assert entry["fullUrl"].endswith(f"/fhir/{resource['resourceType']}/{resource['id']}")
        assert entry["fullUrl"].startswith("http://127.0.0.1:")
        assert "lastUpdated" in resource["meta"]
        if entry["search"]["mode"] == "match":
            assert resource["resourceType"] == resource_type


async def test_every_search_answers_valid_bundles_for_fixtures_and_a_sample_of_patients(
    registries: MockRegistries, session: aiohttp.ClientSession, population: Population
) -> None:
    sample = random.Random(7).sample(range(population.size), GENERATED_SAMPLE)
    nins = [f.nin for f in FIXTURES] + [population.nin(i) for i in sample]
    seen_types: set[str] = set()
    for nin in nins:
        for resource_type, pages in await _all_pages_of_every_search(session, registries, nin):
            for page in pages:
                _check_bundle(page, resource_type)
            matches = [
                e for p in pages for e in p.get("entry", []) if e["search"]["mode"] == "match"
            ]
            assert len(matches) == pages[0]["total"]
            seen_types |= {e["resource"]["resourceType"] for p in pages for e in p.get("entry", [])}
    assert seen_types >= {source_type for _, source_type, _, _ in CONTRACT} | {
        "Practitioner",
        "Organization",
        "Observation",
    }


async def test_document_contents_are_served_raw_and_as_valid_binary_resources(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.DOCUMENTS]
    for fx in FIXTURES:
        pages = await search_pages(
            session, f"{base}/DocumentReference", [("subject:identifier", token(fx.nin))]
        )
        for page in pages:
            for entry in page.get("entry", []):
                attachment = entry["resource"]["content"][0]["attachment"]
                async with session.get(f"{base}/{attachment['url']}") as response:
                    raw = await response.read()
                    assert response.status == 200
                    assert response.headers["Content-Type"] == attachment["contentType"]
                assert len(raw) == attachment["size"]
                status, binary = await get_json(session, f"{base}/{attachment['url']}")
                assert status == 200
                Binary.model_validate(binary)
                assert base64.b64decode(binary["data"]) == raw


async def test_metadata_is_a_valid_capability_statement_on_every_registry(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    for source, base in registries.base_urls.items():
        status, statement = await get_json(session, f"{base}/metadata")
        assert status == 200
        CapabilityStatement.model_validate(statement)
        served = {r["type"] for r in statement["rest"][0]["resource"]}
        assert served >= {rtype for s, rtype, _, _ in CONTRACT if s is source}


async def test_errors_are_valid_operation_outcomes(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.CORE_RECORD]
    for url in (f"{base}/Patient", f"{base}/Nonsense", f"{base}/Patient?identifier=1&_count=x"):
        status, outcome = await get_json(session, url)
        assert status in {400, 404}
        OperationOutcome.model_validate(outcome)
