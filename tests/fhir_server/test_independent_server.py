"""The independent FHIR R4 server (Medplum's router, tests/node/fhir_server.mjs) with the edge-case
data: what the gateway may rely on, and the answers it must not misread (issue 15)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import aiohttp
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from gateway.identity import parse
from tests.fhir_server_support import (
    EDGE_A,
    EDGE_B,
    EDGE_C,
    EDGE_CASES,
    SYSTEM_FODSELSNUMMER,
    edge_case_bundle,
    independent_fhir_server,
)

Json = dict[str, Any]
FHIR_JSON = "application/fhir+json"


async def get(session: aiohttp.ClientSession, url: str, status: int = 200) -> Json:
    async with session.get(url, headers={"Accept": FHIR_JSON}) as response:
        assert response.status == status, await response.text()
        assert response.content_type == FHIR_JSON
        body: Json = await response.json(content_type=None)
        return body


def ids(bundle: Json, mode: str = "match") -> list[str]:
    """``Type/id`` of the entries in search mode ``mode``, in order."""
    return [
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle.get("entry", [])
        if e["search"]["mode"] == mode
    ]


def links(bundle: Json) -> dict[str, str]:
    return {link["relation"]: link["url"] for link in bundle.get("link", [])}


def _references(value: Any) -> list[Json]:
    if isinstance(value, dict):
        found = [value] if "reference" in value else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_the_edge_cases_are_valid_r4_with_identity_numbers_only_in_patient_identifiers() -> None:
    bundle = edge_case_bundle()
    Bundle.model_validate(bundle)
    patients = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    ]
    assert {(p["id"], p["identifier"][0]["value"]) for p in patients} == {
        (EDGE_A.id, EDGE_A.nin),
        (EDGE_B.id, EDGE_B.nin),
        (EDGE_C.id, EDGE_C.nin),
    }
    for patient in patients:
        assert patient["identifier"][0]["system"] == SYSTEM_FODSELSNUMMER
        assert parse(patient["identifier"][0]["value"]).synthetic
    text = EDGE_CASES.read_text(encoding="utf-8")
    for nin in (EDGE_A.nin, EDGE_B.nin, EDGE_C.nin):
        assert text.count(nin) == 1  # in Patient.identifier, nowhere else
    for reference in _references([e["resource"] for e in bundle["entry"]]):
        assert set(reference) <= {"reference", "display"}, reference
        assert re.fullmatch(r"#\w+|[A-Z][A-Za-z]+/[\w-]+", reference["reference"]), reference


async def test_metadata_is_a_capability_statement_with_search_parameters_per_type(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    statement = await get(session, f"{fhir_base}/metadata")
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    resources = {r["type"]: r for r in statement["rest"][0]["resource"]}
    params = {t: {p["name"]: p["type"] for p in r["searchParam"]} for t, r in resources.items()}
    assert params["Patient"]["identifier"] == "token"
    assert params["MedicationRequest"]["subject"] == "reference"
    assert params["MedicationRequest"]["patient"] == "reference"
    assert params["Encounter"]["date"] == "date"
    assert params["Consent"]["patient"] == "reference"
    assert "MedicationRequest:medication" in resources["MedicationRequest"]["searchInclude"]
    # The modifier is not something a CapabilityStatement can announce per parameter in R4.
    assert "subject:identifier" not in params["MedicationRequest"]


async def test_patient_by_identifier_token_finds_exactly_that_patient(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    for patient in (EDGE_A, EDGE_B, EDGE_C):
        bundle = await get(session, f"{fhir_base}/Patient?identifier={patient.identifier_token}")
        assert bundle["type"] == "searchset"
        assert bundle["total"] == 1
        assert ids(bundle) == [patient.reference]
        assert bundle["entry"][0]["fullUrl"] == f"{fhir_base}/{patient.reference}"
    unknown = await get(
        session, f"{fhir_base}/Patient?identifier={SYSTEM_FODSELSNUMMER}|01010112345"
    )
    assert unknown["total"] == 0 and "entry" not in unknown


async def test_a_search_by_subject_answers_only_that_patients_resources(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    own = await get(session, f"{fhir_base}/MedicationRequest?subject={EDGE_A.reference}")
    assert sorted(ids(own)) == [
        "MedicationRequest/a-mr-as-needed",
        "MedicationRequest/a-mr-contained",
        "MedicationRequest/a-mr-referenced",
    ]
    other = await get(session, f"{fhir_base}/MedicationRequest?patient={EDGE_C.reference}")
    assert ids(other) == ["MedicationRequest/c-mr-atorvastatin"]
    consent = await get(session, f"{fhir_base}/Consent?patient={EDGE_B.reference}&status=active")
    assert ids(consent) == ["Consent/b-consent"]
    for resource_type in ("AllergyIntolerance", "Condition", "Observation", "DocumentReference"):
        bundle = await get(session, f"{fhir_base}/{resource_type}?patient={EDGE_A.reference}")
        assert bundle["total"] > 0
        for entry in bundle["entry"]:
            subject = entry["resource"].get("subject") or entry["resource"]["patient"]
            assert subject["reference"] == EDGE_A.reference


async def test_include_adds_referenced_resources_in_include_mode(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    bundle = await get(
        session,
        f"{fhir_base}/MedicationRequest?subject={EDGE_A.reference}"
        "&_include=MedicationRequest:medication",
    )
    assert len(ids(bundle)) == 3
    # The contained #med1 stays inside its MedicationRequest; only Medication/<id> is included.
    assert ids(bundle, "include") == ["Medication/med-warfarin"]
    report = await get(
        session, f"{fhir_base}/DiagnosticReport?_id=a-dr-lab&_include=DiagnosticReport:result"
    )
    assert sorted(ids(report, "include")) == [
        "Observation/a-obs-hemoglobin",
        "Observation/a-obs-leukocytes",
    ]
    patient = await get(
        session,
        f"{fhir_base}/Patient?identifier={EDGE_A.identifier_token}"
        "&_include=Patient:general-practitioner",
    )
    assert sorted(ids(patient, "include")) == ["Organization/org-gp", "Practitioner/prac-gp"]
    role = await get(
        session, f"{fhir_base}/Patient?_id={EDGE_C.id}&_include=Patient:general-practitioner"
    )
    assert ids(role, "include") == ["PractitionerRole/role-gp-c"]
    bad = await get(session, f"{fhir_base}/MedicationRequest?_include=medication", status=400)
    assert bad["resourceType"] == "OperationOutcome"


async def test_paging_follows_absolute_next_links_to_every_match_once(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    url: str | None = f"{fhir_base}/Observation?subject={EDGE_A.reference}&_count=3"
    seen: list[str] = []
    pages = 0
    total = None
    while url is not None:
        page = await get(session, url)
        total = page["total"]
        assert len(ids(page)) <= 3
        seen += ids(page)
        assert links(page)["self"].startswith(f"{fhir_base}/Observation?")
        url = links(page).get("next")
        pages += 1
    assert total == len(seen) == len(set(seen)) == 7
    assert pages == 3
    first = await get(session, f"{fhir_base}/Observation?subject={EDGE_A.reference}&_count=3")
    # Medplum's self link is the parsed query written back, parameters sorted, values
    # percent-encoded, paging spelt _count/_offset.
    assert links(first) == {
        "self": f"{fhir_base}/Observation?_count=3&subject=Patient%2Fedge-a",
        "first": f"{fhir_base}/Observation?_count=3&subject=Patient%2Fedge-a",
        "next": f"{fhir_base}/Observation?_count=3&_offset=3&subject=Patient%2Fedge-a",
    }
    default = await get(session, f"{fhir_base}/Observation?subject={EDGE_A.reference}")
    assert links(default)["self"] == f"{fhir_base}/Observation?_count=20&subject=Patient%2Fedge-a"


async def test_an_unsupported_modifier_or_unknown_parameter_answers_an_empty_searchset(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    """Not an error and not ignored: a filter that matches nothing, with no OperationOutcome.
    A gateway that searched ``subject:identifier=`` here would read "no medicines"."""
    by_identifier = await get(
        session, f"{fhir_base}/MedicationRequest?subject:identifier={EDGE_A.identifier_token}"
    )
    assert by_identifier["total"] == 0
    assert "entry" not in by_identifier
    assert links(by_identifier)["self"] == (
        f"{fhir_base}/MedicationRequest?_count=20&subject:identifier="
        "urn%3Aoid%3A2.16.578.1.12.4.1.4.1%7C" + EDGE_A.nin
    )
    # Chained searches (R4 3.1.1.4.12) are not evaluated either.
    for chain in ("subject.identifier", "subject:Patient.identifier", "patient.identifier"):
        chained = await get(
            session, f"{fhir_base}/MedicationRequest?{chain}={EDGE_A.identifier_token}"
        )
        assert chained["total"] == 0
    everything = await get(session, f"{fhir_base}/MedicationRequest")
    assert everything["total"] == 4  # so an ignored parameter would have answered 4
    unknown = await get(session, f"{fhir_base}/MedicationRequest?no-such-parameter=x")
    assert unknown["total"] == 0
    assert "entry" not in unknown
    assert links(unknown)["self"] == f"{fhir_base}/MedicationRequest?_count=20&no-such-parameter=x"
    # References match only as the literal "Type/id": a bare id, an absolute URL or the
    # :Patient type modifier find nothing (R4 allows all three).
    for spelling in (
        f"subject={EDGE_A.id}",
        f"subject={fhir_base}/{EDGE_A.reference}",
        f"subject:Patient={EDGE_A.id}",
    ):
        assert (await get(session, f"{fhir_base}/MedicationRequest?{spelling}"))["total"] == 0
    # An unknown resource type is an empty searchset too, not a 404.
    assert (await get(session, f"{fhir_base}/NoSuchType?x=1"))["total"] == 0
    # Quantity parameters are known but the in-memory matcher cannot evaluate them: also empty.
    quantity = await get(session, f"{fhir_base}/Observation?value-quantity=gt1")
    assert quantity["total"] == 0


async def test_token_date_and_status_filters(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    base = f"{fhir_base}/Encounter?subject={EDGE_A.reference}"
    assert ids(await get(session, f"{base}&date=lt1950-01-01")) == ["Encounter/a-enc-1940"]
    assert sorted(ids(await get(session, f"{base}&date=ge2026-01-01"))) == [
        "Encounter/a-enc-gp-recent",
        "Encounter/a-enc-pneumonia",
    ]
    active = await get(
        session, f"{fhir_base}/Condition?subject={EDGE_A.reference}&clinical-status=active"
    )
    assert sorted(ids(active)) == [
        "Condition/a-cond-atrial-fibrillation",
        "Condition/a-cond-hypertension",
    ]
    current = await get(
        session, f"{fhir_base}/DocumentReference?subject={EDGE_A.reference}&status=current"
    )
    assert len(ids(current)) == 3
    labs = await get(
        session, f"{fhir_base}/Observation?subject={EDGE_A.reference}&category=laboratory"
    )
    assert "Observation/a-obs-blood-pressure" not in ids(labs)
    assert len(ids(labs)) == 6
    # A partial date is a period: recordedDate "2010" covers 2010-05-01. (R4's ``onset``
    # parameter searches reaction.onset, not onset[x], so "1974-12" is not searchable.)
    allergies = f"{fhir_base}/AllergyIntolerance?patient={EDGE_A.reference}"
    recorded = await get(session, f"{allergies}&date=2010-05-01")
    assert ids(recorded) == ["AllergyIntolerance/a-allergy-partial-dates"]
    assert ids(await get(session, f"{allergies}&onset=1974-12")) == []


async def test_read_keeps_the_loaded_ids_and_answers_404_with_an_operation_outcome(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    request = await get(session, f"{fhir_base}/MedicationRequest/a-mr-contained")
    assert request["contained"][0]["id"] == "med1"
    assert request["medicationReference"]["reference"] == "#med1"
    assert "versionId" in request["meta"] and "lastUpdated" in request["meta"]
    missing = await get(session, f"{fhir_base}/Patient/no-such-patient", status=404)
    assert missing["resourceType"] == "OperationOutcome"
    assert missing["issue"][0]["code"] == "not-found"


async def test_a_batch_of_searches_answers_a_batch_response(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": f"Patient?identifier={EDGE_C.identifier_token}"}},
            {"request": {"method": "GET", "url": "Condition/c-cond-diabetes"}},
        ],
    }
    async with session.post(
        fhir_base, data=json.dumps(batch), headers={"Content-Type": FHIR_JSON}
    ) as response:
        assert response.status == 200
        answer: Json = await response.json(content_type=None)
    assert answer["type"] == "batch-response"
    assert [e["response"]["status"] for e in answer["entry"]] == ["200", "200"]
    assert answer["entry"][0]["resource"]["entry"][0]["resource"]["id"] == EDGE_C.id
    assert answer["entry"][1]["resource"]["subject"]["reference"] == EDGE_C.reference


async def test_a_search_by_post_pages_like_a_get(
    fhir_base: str, session: aiohttp.ClientSession
) -> None:
    form = {"subject": EDGE_A.reference, "_count": "2"}
    async with session.post(f"{fhir_base}/Observation/_search", data=form) as response:
        assert response.status == 200
        page: Json = await response.json(content_type=None)
    assert page["total"] == 7
    assert len(ids(page)) == 2
    assert (
        links(page)["next"]
        == f"{fhir_base}/Observation?_count=2&_offset=2&subject=Patient%2Fedge-a"
    )


async def test_the_server_loads_a_transaction_bundle_or_ndjson_keeping_ids(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    patient = {"resourceType": "Patient", "id": "loaded-1", "gender": "female"}
    condition = {
        "resourceType": "Condition",
        "id": "loaded-2",
        "subject": {"reference": "Patient/loaded-1"},
        "code": {"text": "Asthma"},
    }
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in (patient, condition)
        ],
    }
    ndjson = tmp_path / "resources.ndjson"
    ndjson.write_text("\n".join(json.dumps(r) for r in (patient, condition)) + "\n")
    for source in (transaction, ndjson):
        async with independent_fhir_server(source) as base:
            found = await get(session, f"{base}/Condition?subject=Patient/loaded-1")
            assert ids(found) == ["Condition/loaded-2"]
            assert (await get(session, f"{base}/Patient/loaded-1"))["gender"] == "female"
