"""The full summary over HTTP, checked field by field against what the mock registries hold."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mocks.fixtures import FIXTURES, fixture
from mocks.population import Population
from mocks.record import PatientRecord
from resolvers.examples import summary_query
from tests.conftest import GatewayServer

HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORG = "urn:oid:2.16.578.1.12.4.1.4.101"
# The reserved patient has no record to compare: the gateway answers RESERVED for her
# (tests/e2e/test_access_control.py).
SUMMARY_FIXTURES = [f.key for f in FIXTURES if f.key != "reserved"]


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in items}


def _identifier(obj: dict[str, Any], system: str) -> str | None:
    identifiers = obj.get("identifier")
    if isinstance(identifiers, dict):
        identifiers = [identifiers]
    return next((i["value"] for i in identifiers or [] if i.get("system") == system), None)


def _instant(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _same_instant(graphql_value: str | None, fhir_value: str | None) -> bool:
    return _instant(graphql_value) == _instant(fhir_value)


def _agent_name(allergy: dict[str, Any]) -> str:
    concept = allergy["code"]
    display: str = (concept.get("coding") or [{}])[0].get("display") or concept.get("text") or ""
    return display


async def _summary(gateway: GatewayServer, nin: str) -> dict[str, Any]:
    # On the patient's consent, so restricted sections open and can be compared too.
    body = await gateway.graphql(
        summary_query(), {"nin": nin}, headers={"nhn-access-basis": "SAMTYKKE"}
    )
    assert body.get("errors") is None, body.get("errors")
    patient: dict[str, Any] = body["data"]["patient"]
    return patient


def _record(population: Population, key: str) -> PatientRecord:
    record = population.record(fixture(key).nin)
    assert record is not None
    return record


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
async def test_summary_demographics_match_the_core_record(
    gateway: GatewayServer, population: Population, key: str
) -> None:
    record = _record(population, key)
    fhir_patient = record.of_type("Patient")[0]
    patient = await _summary(gateway, fixture(key).nin)

    assert patient["nin"] == fixture(key).nin
    details = patient["demographics"]["details"]
    assert patient["demographics"]["status"] == "COMPLETE"
    assert details["birthDate"] == fhir_patient["birthDate"]
    assert details["gender"] == fhir_patient["gender"].upper()
    assert details["fullName"] == fixture(key).name
    assert details["deceased"] == ("deceasedDateTime" in fhir_patient)
    assert _same_instant(details["deceasedAt"], fhir_patient.get("deceasedDateTime"))
    assert details["municipality"]["name"] == fhir_patient["address"][0]["district"]


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
async def test_summary_medications_match_the_prescription_registry(
    gateway: GatewayServer, population: Population, key: str
) -> None:
    record = _record(population, key)
    medications = (await _summary(gateway, fixture(key).nin))["medications"]
    requests = record.of_type("MedicationRequest")
    dispenses = record.of_type("MedicationDispense")

    assert medications["status"] == "COMPLETE"
    assert len(medications["prescriptions"]) == len(requests)
    assert len(medications["dispensings"]) == len(dispenses)
    if not requests and not dispenses:
        assert medications["emptyReason"] == "NONE_RECORDED"

    prescriptions = _by_id(medications["prescriptions"])
    for request in requests:
        got = prescriptions[request["id"]]
        concept = request["medicationCodeableConcept"]
        expected_status = {"active": "ACTIVE", "completed": "COMPLETED", "stopped": "WITHDRAWN"}
        assert got["status"] == expected_status.get(request["status"], "OTHER")
        assert got["medication"]["atcCode"] == concept["coding"][0]["code"]
        assert got["medication"]["substance"] == concept["coding"][0]["display"]
        assert got["medication"]["productName"] == concept["text"]
        assert got["dosage"] == request["dosageInstruction"][0]["text"]
        assert got["prescriber"]["hprNumber"] == _identifier(request["requester"], HPR)
        assert _same_instant(got["prescribedAt"], request["authoredOn"])
        validity = request["dispenseRequest"]["validityPeriod"]
        assert got["validUntil"] == validity.get("end")
        if request["status"] == "stopped":
            assert got["withdrawalReason"] == request["statusReason"]["text"]
            assert got["withdrawnAt"] is not None

    dispensings = _by_id(medications["dispensings"])
    for dispense in dispenses:
        got = dispensings[dispense["id"]]
        assert (
            got["medication"]["atcCode"]
            == dispense["medicationCodeableConcept"]["coding"][0]["code"]
        )
        assert _same_instant(got["dispensedAt"], dispense["whenHandedOver"])
        assert got["quantity"]["value"] == dispense["quantity"]["value"]
        assert got["pharmacy"]["name"] == dispense["performer"][0]["actor"]["display"]
        reference = dispense["authorizingPrescription"][0]["reference"]
        assert got["prescriptionId"] == reference.split("/")[-1]

    dates = [_instant(p["prescribedAt"]) for p in medications["prescriptions"]]
    assert None not in dates
    assert dates == sorted(dates, reverse=True), "newest first"  # type: ignore[type-var]


async def test_many_medications_fixture_spans_several_pages_and_arrives_whole(
    gateway: GatewayServer, population: Population
) -> None:
    record = _record(population, "home-care-elderly")
    patient = await _summary(gateway, fixture("home-care-elderly").nin)
    searches = {s["resourceType"]: s for s in patient["sources"]}
    assert searches["MedicationRequest"]["entries"] == len(record.of_type("MedicationRequest")) > 60
    assert len(patient["medications"]["prescriptions"]) > 60


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
async def test_summary_gp_matches_the_gp_registry(
    gateway: GatewayServer, population: Population, key: str
) -> None:
    record = _record(population, key)
    section = (await _summary(gateway, fixture(key).nin))["generalPractitioner"]
    roles = [r for r in record.of_type("PractitionerRole") if r.get("active", True)]
    assert section["status"] == "COMPLETE"
    if not roles:
        assert section["regularGp"] is None
        assert section["emptyReason"] == "NONE_RECORDED"
        return
    role = max(roles, key=lambda r: r["period"]["start"])
    practitioner = record.resolve(role["practitioner"]["reference"])
    office = record.resolve(role["organization"]["reference"])
    assert practitioner is not None and office is not None
    gp = section["regularGp"]
    assert gp["hprNumber"] == _identifier(practitioner, HPR)
    assert gp["name"] == " ".join(
        [*practitioner["name"][0]["given"], practitioner["name"][0]["family"]]
    )
    assert gp["since"] == role["period"]["start"][:10]
    assert gp["office"]["name"] == office["name"]
    assert section["emptyReason"] is None


def test_no_gp_fixture_has_no_gp_relation(population: Population) -> None:
    assert _record(population, "no-gp").of_type("PractitionerRole") == []


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
async def test_summary_visits_documents_and_labs_match_their_registries(
    gateway: GatewayServer, population: Population, key: str
) -> None:
    record = _record(population, key)
    patient = await _summary(gateway, fixture(key).nin)

    visits = _by_id(patient["visitHistory"]["visits"])
    encounters = [e for e in record.of_type("Encounter") if e["period"]["start"] >= "2008"]
    assert set(visits) == {e["id"] for e in encounters}
    for encounter in encounters:
        got = visits[encounter["id"]]
        assert _same_instant(got["start"], encounter["period"]["start"])
        assert got["institution"]["name"] == encounter["serviceProvider"]["display"]
        assert got["department"] == encounter["location"][0]["location"]["display"]

    documents = patient["documents"]["documents"]
    assert len(documents) == len(record.of_type("DocumentReference"))
    titles = sorted(d["title"] for d in documents)
    assert titles == sorted(r["description"] for r in record.of_type("DocumentReference"))

    reports = patient["labResults"]["reports"]
    fhir_reports = record.of_type("DiagnosticReport")
    assert len(reports) == len(fhir_reports)
    assert sum(len(r["results"]) for r in reports) == sum(len(r["result"]) for r in fhir_reports)
    if not fhir_reports:
        assert patient["labResults"]["emptyReason"] == "NONE_RECORDED"
        assert reports == []


async def test_covid_fixture_shows_positive_and_negative_sars_cov_2_tests(
    gateway: GatewayServer,
) -> None:
    patient = await _summary(gateway, fixture("covid-tested").nin)
    covid = [
        result
        for report in patient["labResults"]["reports"]
        for result in report["results"]
        if result["isCovid19Test"]
    ]
    assert {r["interpretation"] for r in covid} >= {"POSITIVE", "NEGATIVE"}


@pytest.mark.parametrize("key", SUMMARY_FIXTURES)
async def test_summary_critical_information_and_own_registrations_match_the_core_record(
    gateway: GatewayServer, population: Population, key: str
) -> None:
    record = _record(population, key)
    patient = await _summary(gateway, fixture(key).nin)
    critical = patient["criticalInformation"]
    own = patient["ownRegistrations"]

    allergies = record.of_type("AllergyIntolerance")
    assert len(critical["allergies"]) == len(allergies)
    for got, fhir in zip(
        sorted(critical["allergies"], key=lambda a: a["agent"]["display"] or ""),
        sorted(allergies, key=_agent_name),
        strict=True,
    ):
        assert got["criticality"] == fhir["criticality"].upper().replace("-", "_")
        assert got["verification"] == fhir["verificationStatus"]["coding"][0][
            "code"
        ].upper().replace("-", "_")

    conditions = record.of_type("Condition")
    mine = [
        c for c in conditions if c.get("asserter", {}).get("reference", "").startswith("Patient/")
    ]
    assert len(own["selfReportedConditions"]) == len(mine)
    assert len(critical["criticalConditions"]) == len(conditions) - len(mine)
    clinical = [c for c in conditions if c not in mine]
    assert sorted(c["condition"]["code"] for c in critical["criticalConditions"]) == sorted(
        c["code"]["coding"][0]["code"] for c in clinical
    )
    assert sorted(t["description"] for t in critical["treatments"]) == sorted(
        p["code"]["text"] for p in record.of_type("Procedure")
    )
    implants = sorted(i["device"]["display"] for i in record.of_type("DeviceUseStatement"))
    assert sorted(i["device"] for i in critical["implants"]) == implants
    assert len(own["nextOfKin"]) == len(record.of_type("RelatedPerson"))
    flags = record.of_type("Flag")
    needs = [f for f in flags if f["category"][0]["coding"][0]["code"] == "communication-need"]
    assert len(own["communicationNeeds"]["needs"]) == len(needs)
    assert len(critical["warnings"]) == len(flags) - len(needs)


async def test_critical_allergies_fixture_shows_high_criticality_confirmed_drug_allergy(
    gateway: GatewayServer,
) -> None:
    critical = (await _summary(gateway, fixture("critical-allergies").nin))["criticalInformation"]
    assert any(
        a["criticality"] == "HIGH" and a["verification"] == "CONFIRMED"
        for a in critical["allergies"]
    )
    assert critical["implants"] and critical["treatments"]


async def test_d_number_patient_is_found_under_the_d_number_system(gateway: GatewayServer) -> None:
    body = await gateway.graphql(
        "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { identityNumberKind "
        "demographics { details { fullName } } } }",
        {"nin": fixture("d-number").nin},
    )
    assert body["data"]["patient"]["identityNumberKind"] == "D_NUMBER"
    assert (
        body["data"]["patient"]["demographics"]["details"]["fullName"] == fixture("d-number").name
    )


async def test_unknown_but_valid_number_gives_null_patient_without_errors(
    gateway: GatewayServer, population: Population
) -> None:
    unknown = next(
        nin
        for nin in ("05818510014", "05818510286", "05818510367")
        if population.record(nin) is None
    )
    body = await gateway.graphql(summary_query(), {"nin": unknown})
    assert body == {"data": {"patient": None}}
