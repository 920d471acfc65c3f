"""The searches behave as docs/fhir-profile.md says: tokens, paging, _include, filters, errors."""

from __future__ import annotations

import aiohttp

from gateway.identity import OID_D_NUMBER, OID_FODSELSNUMMER, OID_H_NUMBER
from mocks import MockRegistries, Population, Source, fixture
from tests.mocks.fhir_client import (
    Json,
    contract_params,
    entries,
    get_json,
    next_link,
    search_pages,
    token,
)

HOME_CARE = fixture("home-care-elderly").nin


async def _search(
    session: aiohttp.ClientSession,
    registries: MockRegistries,
    resource_type: str,
    nin: str,
    count: int | None = None,
) -> list[Json]:
    source, path, params = contract_params(resource_type, nin, count)
    return await search_pages(session, registries.base_urls[source] + path, params)


async def test_home_care_prescriptions_page_at_50_and_every_entry_comes_exactly_once(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    for resource_type in ("MedicationRequest", "MedicationDispense"):
        pages = await _search(session, registries, resource_type, HOME_CARE, count=50)
        assert len(pages) >= 2
        assert next_link(pages[0]) is not None
        assert next_link(pages[-1]) is None
        ids = [r["id"] for page in pages for r in entries(page)]
        assert len(ids) == len(set(ids)) == pages[0]["total"] > 60
        assert all(page["total"] == pages[0]["total"] for page in pages)
        assert all(len(entries(page)) == 50 for page in pages[:-1])


async def test_page_size_defaults_to_20_and_is_capped_at_100(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    source, path, params = contract_params("MedicationDispense", HOME_CARE)
    url = registries.base_urls[source] + path
    _, default_page = await get_json(session, url, params)
    _, big_page = await get_json(session, url, [*params, ("_count", "500")])
    _, count_only = await get_json(session, url, [*params, ("_count", "0")])
    assert len(entries(default_page)) == 20
    assert len(entries(big_page)) == 100
    assert "entry" not in count_only
    assert count_only["total"] == default_page["total"] > 100


async def test_next_links_are_absolute_urls_on_the_same_registry(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    pages = await _search(session, registries, "MedicationRequest", HOME_CARE, count=50)
    link = next_link(pages[0])
    assert link is not None
    assert link.startswith(registries.base_urls[Source.PRESCRIPTIONS] + "/MedicationRequest?")


async def test_wrong_or_missing_identifier_system_matches_nothing(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    url = registries.base_urls[Source.CORE_RECORD] + "/Patient"
    d_number = fixture("d-number").nin
    cases = {
        f"{OID_D_NUMBER}|{HOME_CARE}": 0,
        f"{OID_H_NUMBER}|{HOME_CARE}": 0,
        f"|{HOME_CARE}": 0,
        f"{OID_FODSELSNUMMER}|{HOME_CARE}": 1,
        HOME_CARE: 1,
        f"{OID_FODSELSNUMMER}|{d_number}": 0,
        f"{OID_D_NUMBER}|{d_number}": 1,
    }
    for value, expected in cases.items():
        status, bundle = await get_json(session, url, [("identifier", value)])
        assert (status, bundle["total"]) == (200, expected), value


async def test_unknown_or_invalid_numbers_give_empty_bundles(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    url = registries.base_urls[Source.PRESCRIPTIONS] + "/MedicationRequest"
    for value in ("15028512345", "12345", f"{OID_FODSELSNUMMER}|01010112345"):
        status, bundle = await get_json(session, url, [("subject:identifier", value)])
        assert (status, bundle["total"], bundle.get("entry")) == (200, 0, None)


async def test_bad_requests_answer_400_with_an_operation_outcome(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.PRESCRIPTIONS]
    subject = ("subject:identifier", token(HOME_CARE))
    bad: list[list[tuple[str, str]]] = [
        [],
        [("patient:identifier", token(HOME_CARE))],
        [subject, ("_count", "-1")],
        [subject, ("_count", "many")],
        [subject, ("_offset", "x")],
        [subject, subject],
        [subject, ("_include", "MedicationRequest:requester")],
        [subject, ("_lastUpdated", "yesterday")],
        [("subject:identifier", f"{token(HOME_CARE)},{token(HOME_CARE)}")],
    ]
    for params in bad:
        status, outcome = await get_json(session, f"{base}/MedicationRequest", params)
        assert status == 400, params
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["severity"] == "error"


async def test_unknown_resource_types_answer_404_with_an_operation_outcome(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    base = registries.base_urls[Source.PRESCRIPTIONS]
    for path in ("/Encounter", "/Nonsense", "/MedicationRequest/some-id", "/Binary/x"):
        status, outcome = await get_json(session, base + path, [("identifier", token(HOME_CARE))])
        assert status == 404, path
        assert outcome["resourceType"] == "OperationOutcome"


async def test_include_brings_only_what_the_page_refers_to(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    source, path, params = contract_params("DiagnosticReport", HOME_CARE, count=2)
    _, first = await get_json(session, registries.base_urls[source] + path, params)
    reports = entries(first)
    observations = entries(first, "include")
    referenced = {r["reference"] for report in reports for r in report["result"]}
    assert len(reports) == 2
    assert {f"Observation/{o['id']}" for o in observations} == referenced

    source, path, params = contract_params("PractitionerRole", HOME_CARE)
    _, roles = await get_json(session, registries.base_urls[source] + path, params)
    included = {(r["resourceType"], r["id"]) for r in entries(roles, "include")}
    wanted = {
        tuple(role[field]["reference"].split("/"))
        for role in entries(roles)
        for field in ("practitioner", "organization")
    }
    assert included == wanted


async def test_gp_registry_marks_the_current_relation_active(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    pages = await _search(session, registries, "PractitionerRole", HOME_CARE)
    roles = entries(pages[0])
    assert [r["active"] for r in roles].count(True) == 1
    assert all(r["code"][0]["text"] == "Fastlege" for r in roles)
    no_gp = await _search(session, registries, "PractitionerRole", fixture("no-gp").nin)
    assert no_gp[0]["total"] == 0


async def test_encounter_date_filter_hides_visits_before_2008(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    url = registries.base_urls[Source.VISIT_HISTORY] + "/Encounter"
    subject = ("subject:identifier", token(HOME_CARE))
    _, everything = await get_json(session, url, [subject, ("_count", "100")])
    _, recent = await get_json(session, url, [subject, ("date", "ge2008-01-01"), ("_count", "100")])
    _, old = await get_json(session, url, [subject, ("date", "lt2008-01-01"), ("_count", "100")])
    assert recent["total"] + old["total"] == everything["total"]
    assert old["total"] > 0
    assert all(e["period"]["start"] >= "2008" for e in entries(recent))
    assert all("diagnosis" not in e and "reasonCode" not in e for e in entries(everything))


async def test_last_updated_filter_narrows_results(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    source, path, params = contract_params("MedicationDispense", HOME_CARE, count=100)
    url = registries.base_urls[source] + path
    _, everything = await get_json(session, url, params)
    _, recent = await get_json(session, url, [*params, ("_lastUpdated", "ge2026-01-01")])
    assert 0 < recent["total"] < everything["total"]
    assert all(r["meta"]["lastUpdated"] >= "2026-01-01" for r in entries(recent))


async def test_generated_patients_are_found_by_their_numbers(
    registries: MockRegistries, session: aiohttp.ClientSession, population: Population
) -> None:
    url = registries.base_urls[Source.CORE_RECORD] + "/Patient"
    for index in (0, 1, population.size - 1):
        nin = population.nin(index)
        _, bundle = await get_json(session, url, [("identifier", token(nin))])
        patient = entries(bundle)[0]
        assert patient["identifier"][0]["value"] == nin
        assert patient["id"] == f"pt{index}"


async def test_date_ranges_combine_two_comparisons(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    url = registries.base_urls[Source.VISIT_HISTORY] + "/Encounter"
    subject = ("subject:identifier", token(HOME_CARE))
    window = [subject, ("date", "ge2020-01-01"), ("date", "lt2024-01-01"), ("_count", "100")]
    status, bundle = await get_json(session, url, window)
    assert status == 200
    assert bundle["total"] > 0
    assert all("2020" <= e["period"]["start"] < "2024" for e in entries(bundle))


async def test_consents_can_be_searched_by_status(
    registries: MockRegistries, session: aiohttp.ClientSession
) -> None:
    blocking = fixture("blocked-hpr").nin
    url = registries.base_urls[Source.CORE_RECORD] + "/Consent"
    patient = ("patient:identifier", token(blocking))
    _, every = await get_json(session, url, [patient])
    _, active = await get_json(session, url, [patient, ("status", "active")])
    _, inactive = await get_json(session, url, [patient, ("status", "inactive,draft")])
    assert every["total"] == active["total"] >= 1
    assert inactive["total"] == 0


async def test_a_registry_reads_what_it_holds_by_id_and_nothing_else(
    registries: MockRegistries, population: Population, session: aiohttp.ClientSession
) -> None:
    record = population.record(HOME_CARE)
    assert record is not None and record.practitioner_roles and record.medication_requests
    role = record.practitioner_roles[0]
    gp = registries.base_urls[Source.GP_REGISTRY]
    status, read = await get_json(session, f"{gp}/PractitionerRole/{role['id']}", [])
    assert (status, read) == (200, role)
    doctor = role["practitioner"]["reference"]  # shared by the GP's patients: hpr-<number>
    status, practitioner = await get_json(session, f"{gp}/{doctor}", [])
    assert status == 200 and f"Practitioner/{practitioner['id']}" == doctor
    prescription = record.medication_requests[0]
    rx = registries.base_urls[Source.PRESCRIPTIONS]
    status, read = await get_json(session, f"{rx}/MedicationRequest/{prescription['id']}", [])
    assert (status, read) == (200, prescription)
    # Only what the registry holds: no prescriptions from the GP registry, no unknown ids.
    for url in (
        f"{gp}/MedicationRequest/{prescription['id']}",
        f"{rx}/MedicationRequest/{prescription['id']}x",
    ):
        status, outcome = await get_json(session, url, [])
        assert status == 404 and outcome["resourceType"] == "OperationOutcome", url
