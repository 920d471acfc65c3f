"""Fixture patients: valid synthetic numbers, and each one shaped as its key promises."""

from __future__ import annotations

import pytest

from gateway.identity import IdentityNumberKind, parse
from mocks import BLOCKED_HPR_NUMBER, FIXTURES, PERSONAS, Population, fixture
from mocks.datatypes import EXT_STATUS_CHANGED, OID_HPR
from mocks.numbering import age_on
from mocks.record import PatientRecord

REQUIRED_KEYS = {
    "home-care-elderly",
    "no-gp",
    "empty-lab-registry",
    "deceased",
    "d-number",
    "critical-allergies",
    "reserved",
    "restricted-sections",
    "blocked-hpr",
    "covid-tested",
    "minimal",
}
CRITICAL_TYPES = ("AllergyIntolerance", "Condition", "Procedure", "DeviceUseStatement", "Flag")


def age_of(record: PatientRecord) -> int:
    return age_on(parse(record.nin).birth_date)


@pytest.fixture(scope="module")
def records() -> dict[str, PatientRecord]:
    population = Population(size=10)
    return {fx.key: population.fixture_record(fx.key) for fx in FIXTURES}


def test_every_fixture_number_is_a_valid_synthetic_number_and_unique() -> None:
    assert {fx.key for fx in FIXTURES} >= REQUIRED_KEYS
    assert len({fx.nin for fx in FIXTURES}) == len(FIXTURES)
    for fx in FIXTURES:
        assert parse(fx.nin).synthetic, fx.key
        assert fx.description and fx.tags and fx.name


def test_fixture_lookup_by_key() -> None:
    assert fixture("d-number").nin == "55827010056"
    with pytest.raises(KeyError):
        fixture("nobody")


def test_every_fixture_has_a_patient_named_as_the_fixture(
    records: dict[str, PatientRecord],
) -> None:
    for fx in FIXTURES:
        (patient,) = records[fx.key].patient
        name = patient["name"][0]
        assert " ".join([*name["given"], name["family"]]) == fx.name
        assert patient["identifier"][0]["value"] == fx.nin
        assert patient["birthDate"] == parse(fx.nin).birth_date.isoformat()


def test_fixtures_do_not_depend_on_the_population_seed() -> None:
    key = "covid-tested"
    assert Population(seed=1).fixture_record(key) == Population(seed=2).fixture_record(key)


def test_home_care_patient_has_many_prescriptions_some_withdrawn(
    records: dict[str, PatientRecord],
) -> None:
    record = records["home-care-elderly"]
    assert len(record.medication_requests) > 60
    assert len(record.medication_dispenses) > 60
    statuses = {r["status"] for r in record.medication_requests}
    assert statuses == {"active", "completed", "stopped"}
    for stopped in (r for r in record.medication_requests if r["status"] == "stopped"):
        assert stopped["statusReason"]["text"]
        assert stopped["extension"][0]["url"] == EXT_STATUS_CHANGED
    assert age_of(record) >= 84
    assert record.practitioner_roles and record.encounters and record.document_references
    assert record.diagnostic_reports and len(record.related_persons) >= 2
    assert any(f["category"][0]["coding"][0]["code"] == "communication-need" for f in record.flags)


def test_no_gp_and_empty_lab_registry_lack_exactly_that(records: dict[str, PatientRecord]) -> None:
    assert records["no-gp"].practitioner_roles == []
    assert records["no-gp"].medication_requests
    empty_lab = records["empty-lab-registry"]
    assert empty_lab.diagnostic_reports == empty_lab.observations == []
    assert empty_lab.medication_requests and empty_lab.encounters and empty_lab.practitioner_roles


def test_deceased_and_d_number(records: dict[str, PatientRecord]) -> None:
    assert "deceasedDateTime" in records["deceased"].patient[0]
    assert all(
        "deceasedDateTime" not in r.patient[0] for k, r in records.items() if k != "deceased"
    )
    d_number = records["d-number"]
    assert d_number.nin == "55827010056"
    assert parse(d_number.nin).kind is IdentityNumberKind.D_NUMBER
    assert d_number.patient[0]["identifier"][0]["system"] == parse(d_number.nin).fhir_system


def test_critical_allergies_patient(records: dict[str, PatientRecord]) -> None:
    record = records["critical-allergies"]
    severe = [
        a
        for a in record.allergy_intolerances
        if a["criticality"] == "high"
        and a["verificationStatus"]["coding"][0]["code"] == "confirmed"
    ]
    assert len(severe) >= 2
    assert any(a["code"]["coding"][0]["code"] == "J01CE02" for a in severe)
    assert [d["device"]["display"] for d in record.device_use_statements] == ["Pacemaker"]
    assert any(
        p["code"]["text"] == "Dialyse" and p["status"] == "in-progress" for p in record.procedures
    )
    flags = [f["category"][0]["coding"][0]["code"] for f in record.flags]
    assert "anaesthesia-complication" in flags


def _consent_category(record: PatientRecord) -> list[str]:
    return [c["category"][0]["coding"][0]["code"] for c in record.consents]


def test_privacy_fixtures(records: dict[str, PatientRecord]) -> None:
    reserved = records["reserved"]
    assert _consent_category(reserved) == ["reservation"]
    assert all(reserved.of_type(t) == [] for t in (*CRITICAL_TYPES, "RelatedPerson"))
    assert reserved.medication_requests

    restricted = records["restricted-sections"]
    assert _consent_category(restricted) == ["restriction"]
    sections = [c["coding"][0]["code"] for c in restricted.consents[0]["provision"]["code"]]
    assert sections == ["documents", "labResults"]
    assert restricted.document_references and restricted.diagnostic_reports

    blocked = records["blocked-hpr"]
    assert _consent_category(blocked) == ["block"]
    actor = blocked.consents[0]["provision"]["actor"][0]["reference"]["identifier"]
    assert actor == {"system": OID_HPR, "value": BLOCKED_HPR_NUMBER}
    assert f"blocks-hpr:{BLOCKED_HPR_NUMBER}" in fixture("blocked-hpr").tags
    assert any(p.hpr_number == BLOCKED_HPR_NUMBER for p in PERSONAS)
    requesters = {r["requester"]["identifier"]["value"] for r in blocked.medication_requests}
    assert BLOCKED_HPR_NUMBER in requesters

    others = [
        r for k, r in records.items() if k not in {"reserved", "restricted-sections", "blocked-hpr"}
    ]
    assert all(r.consents == [] for r in others)


def test_covid_tested_has_positive_and_negative_sars_cov_2_results(
    records: dict[str, PatientRecord],
) -> None:
    covid = [
        o
        for o in records["covid-tested"].observations
        if o["code"]["coding"][0]["code"] == "94500-6"
    ]
    interpretations = sorted(o["interpretation"][0]["coding"][0]["code"] for o in covid)
    assert interpretations == ["NEG", "NEG", "POS"]


def test_minimal_patient_has_almost_nothing(records: dict[str, PatientRecord]) -> None:
    record = records["minimal"]
    assert age_of(record) < 18
    non_empty = {
        t
        for t in (
            "Patient",
            "MedicationRequest",
            "MedicationDispense",
            "PractitionerRole",
            "Encounter",
            "DocumentReference",
            "DiagnosticReport",
            *CRITICAL_TYPES,
            "RelatedPerson",
            "Consent",
        )
        if record.of_type(t)
    }
    assert non_empty == {"Patient", "PractitionerRole"}
