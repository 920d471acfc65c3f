"""The core record's mapping on standard-shaped FHIR R4: what a clinician sees of an allergy, a
condition, a procedure, a flag and a next of kin, and what is not critical information at all.

Shapes come from the HL7 R4 examples (allergyintolerance-example: the cashew nut allergy), US
Core/Synthea (a resolved sinusitis, a "Medication Reconciliation" procedure) and the edge-case
bundle the independent-server tests load (tests/data/r4_edge_cases.json).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from gateway.fhir_date import Precision
from gateway.upstream.fhir import SearchResult
from mocks.fixtures import FIXTURES
from mocks.population import Population
from mocks.record import PatientRecord
from resolvers.common import Coding, codings
from resolvers.core_record import client
from resolvers.core_record import critical_information as critical
from resolvers.core_record.demographics import core_patient
from resolvers.core_record.own_registrations import next_of_kin

EDGE_CASES = Path(__file__).resolve().parents[1] / "data" / "r4_edge_cases.json"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10_NO = "urn:oid:2.16.578.1.12.4.1.1.7110"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
MARKER = {"system": critical.CATEGORY_SYSTEM, "code": critical.CRITICAL_INFORMATION}


def _result(resources: list[dict[str, Any]]) -> SearchResult:
    return SearchResult(list[Mapping[str, Any]](resources))


def _edge(resource_id: str) -> dict[str, Any]:
    bundle = json.loads(EDGE_CASES.read_text())
    [resource] = [e["resource"] for e in bundle["entry"] if e["resource"]["id"] == resource_id]
    return dict(resource)


def _marked(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` with the critical-information marker as a category of its own."""
    return {**resource, "category": [*(resource.get("category") or []), {"coding": [MARKER]}]}


# The HL7 R4 example AllergyIntolerance (allergyintolerance-example.json), trimmed: the
# manifestation is coded only, the substance is in the reaction, onset is a year.
CASHEW = {
    "resourceType": "AllergyIntolerance",
    "id": "example",
    "clinicalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
        "code": "active", "display": "Active"}]},
    "verificationStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
        "code": "confirmed", "display": "Confirmed"}]},
    "type": "allergy",
    "category": ["food"],
    "criticality": "high",
    "patient": {"reference": "Patient/example"},
    "onsetDateTime": "2004",
    "recordedDate": "2014-10-09T14:58:00+11:00",
    "recorder": {"reference": "Practitioner/example"},
    "reaction": [
        {
            "substance": {"coding": [{
                "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1160593",
                "display": "cashew nut allergenic extract Injectable Product"}]},
            "manifestation": [{"coding": [{"system": SNOMED, "code": "39579001",
                                           "display": "Anaphylactic reaction"}]}],
            "severity": "severe",
        },
        {
            "manifestation": [{"coding": [{"system": SNOMED, "code": "64305001",
                                           "display": "Urticaria"}]}],
            "severity": "moderate",
        },
    ],
}  # fmt: skip


def test_a_coded_anaphylaxis_is_the_reaction_shown_with_its_severity_and_criticality() -> None:
    allergy = critical.allergy(CASHEW)
    assert allergy.reaction == "Anaphylactic reaction; Urticaria"
    assert allergy.severity == "severe", "the most severe of the reactions"
    assert allergy.criticality is critical.Criticality.HIGH


def test_without_a_code_the_substance_comes_from_the_reaction() -> None:
    agent = critical.allergy(CASHEW).agent
    assert agent is not None
    assert agent.code == "1160593"
    assert agent.display == "cashew nut allergenic extract Injectable Product"


def test_the_substance_is_the_records_text_before_a_codings_display() -> None:
    allergy = critical.allergy(_edge("a-allergy-partial-dates"))
    assert allergy.agent is not None
    assert (allergy.agent.system, allergy.agent.code) == (SNOMED, "288328004")
    assert allergy.agent.display == "Bee sting"
    assert allergy.agent_codings == [
        Coding(system=SNOMED, system_name="SNOMED CT", code="288328004",
               display="Bee venom (substance)")
    ]  # fmt: skip


def test_a_drug_is_named_by_its_atc_coding_when_it_has_one() -> None:
    resource = {
        **CASHEW,
        "code": {"coding": [{"system": SNOMED, "code": "764146007", "display": "Penicillin"},
                            {"system": "http://www.whocc.no/atc", "code": "J01CE02"}],
                 "text": "Fenoksymetylpenicillin"},
    }  # fmt: skip
    agent = critical.allergy(resource).agent
    assert agent is not None
    assert (agent.code, agent.display) == ("J01CE02", "Fenoksymetylpenicillin")


def test_partial_dates_are_kept_at_their_precision() -> None:
    allergy = critical.allergy(_edge("a-allergy-partial-dates"))
    assert allergy.onset is not None and allergy.recorded_at is not None
    assert (str(allergy.onset), allergy.onset.precision) == ("1974-12", Precision.MONTH)
    assert (str(allergy.recorded_at), allergy.recorded_at.precision) == ("2010", Precision.YEAR)
    cashew = critical.allergy(CASHEW)
    assert str(cashew.onset) == "2004"
    assert str(cashew.recorded_at) == "2014-10-09T14:58:00+11:00"


def test_a_partial_date_does_not_fail_the_allergy_search() -> None:
    result = SearchResult([_edge("a-allergy-penicillin"), _edge("a-allergy-partial-dates")])
    allergies = [critical.allergy(r) for r in client._current(result)]
    assert [a.reaction for a in allergies] == ["Anaphylactic reaction"] * 2


def test_a_reference_that_names_nobody_is_null_not_an_object_of_nulls() -> None:
    assert critical.allergy(CASHEW).recorded_by is None
    empty = critical.allergy({"resourceType": "AllergyIntolerance", "id": "x"})
    assert (empty.agent, empty.reaction, empty.severity, empty.onset) == (None, None, None, None)
    assert empty.agent_codings == []


# Conditions and procedures: only what the record marks as critical information, and active.

SINUSITIS = {  # Synthea/US Core: an encounter diagnosis, long resolved.
    "resourceType": "Condition",
    "id": "sinusitis",
    "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "resolved"}]},
    "verificationStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "code": "confirmed"}]},
    "category": [{"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
        "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]}],
    "code": {"coding": [{"system": SNOMED, "code": "444814009",
                         "display": "Viral sinusitis (disorder)"}],
             "text": "Viral sinusitis (disorder)"},
    "subject": {"reference": "Patient/example"},
    "onsetDateTime": "2012-03-01T10:00:00+01:00",
    "abatementDateTime": "2012-03-15T10:00:00+01:00",
    "recordedDate": "2012-03-01T10:00:00+01:00",
}  # fmt: skip

MEDICATION_RECONCILIATION = {  # Synthea: a routine procedure at every visit.
    "resourceType": "Procedure",
    "id": "med-rec",
    "status": "completed",
    "code": {"coding": [{"system": SNOMED, "code": "430193006",
                         "display": "Medication Reconciliation (procedure)"}],
             "text": "Medication Reconciliation (procedure)"},
    "subject": {"reference": "Patient/example"},
    "performedPeriod": {"start": "2019-05-01T10:00:00+02:00",
                        "end": "2019-05-01T10:15:00+02:00"},
}  # fmt: skip


def _treatment(resource_id: str, kind: str, status: str) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": resource_id,
        "status": status,
        "category": {"coding": [{"system": critical.CATEGORY_SYSTEM, "code": kind}, MARKER]},
        "code": {"coding": [{"system": SNOMED, "code": "265764009", "display": "Renal dialysis"}]},
        "subject": {"reference": "Patient/example"},
        "performedPeriod": {"start": "2025-01"},
    }


def test_conditions_not_marked_as_critical_information_are_not_critical_conditions() -> None:
    unmarked = [SINUSITIS, _edge("a-cond-hypertension"), _edge("a-cond-atrial-fibrillation")]
    assert client._conditions(_result(unmarked)).critical == []


def test_a_marked_condition_is_shown_only_while_active() -> None:
    resolved = _marked(_edge("a-cond-pneumonia-resolved"))
    atrial = _marked(_edge("a-cond-atrial-fibrillation"))
    relapse = _marked({**SINUSITIS, "id": "relapse", "clinicalStatus": {
        "coding": [{"system": CONDITION_CLINICAL, "code": "relapse"}]}})  # fmt: skip
    shown = client._conditions(SearchResult([resolved, atrial, relapse, _marked(SINUSITIS)]))
    assert [c.id for c in shown.critical] == ["a-cond-atrial-fibrillation", "relapse"]


def test_the_icd10_field_holds_only_an_icd10_code() -> None:
    hypertension = critical.critical_condition(_marked(_edge("a-cond-hypertension")))
    assert hypertension.condition is None, "SNOMED 38341003 is not an ICD-10 code"
    assert hypertension.description == "Hypertensive disorder, systemic arterial (disorder)"
    assert [(c.system_name, c.code) for c in hypertension.codings] == [("SNOMED CT", "38341003")]
    atrial = critical.critical_condition(_marked(_edge("a-cond-atrial-fibrillation")))
    assert atrial.condition is not None
    assert (atrial.condition.system, atrial.condition.code) == (ICD10, "I48")
    assert [(c.system_name, c.code) for c in atrial.codings] == [("ICD-10", "I48")]


def test_the_norwegian_icd10_oid_is_icd10_and_is_chosen_over_a_snomed_coding_before_it() -> None:
    resource = _marked({
        **SINUSITIS,
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "code": {"coding": [{"system": SNOMED, "code": "24700007", "display": "Multiple sclerosis"},
                            {"system": ICD10_NO, "code": "G35", "display": "Multippel sklerose"}]},
    })  # fmt: skip
    condition = critical.critical_condition(resource)
    assert condition.condition is not None
    assert (condition.condition.code, condition.condition.display) == ("G35", "Multippel sklerose")
    assert [c.system_name for c in condition.codings] == ["SNOMED CT", "ICD-10"]


def test_procedures_not_marked_are_not_treatments() -> None:
    unmarked = [MEDICATION_RECONCILIATION, _edge("a-proc-physiotherapy")]
    assert client._treatments(_result(unmarked)) == []


def test_an_ongoing_treatment_shows_only_in_progress_a_procedure_change_while_it_applies() -> None:
    result = SearchResult([
        _treatment("dialysis", "ongoing-treatment", "in-progress"),
        _treatment("ended", "ongoing-treatment", "completed"),
        _treatment("splenectomy", "procedure-change", "completed"),
        _treatment("refuted", "procedure-change", "not-done"),
    ])  # fmt: skip
    shown = {str(t.id): t for t in client._treatments(result)}
    assert sorted(shown) == ["dialysis", "splenectomy"]
    assert shown["dialysis"].ongoing and not shown["splenectomy"].ongoing
    assert shown["dialysis"].description == "Renal dialysis", "a coding's display when no text"
    assert str(shown["dialysis"].started) == "2025-01"


def _flag(resource_id: str, status: str, *, marked: bool) -> dict[str, Any]:
    categories = [{"coding": [{"system": critical.CATEGORY_SYSTEM, "code": "infection"}]}]
    if marked:
        categories.append({"coding": [MARKER]})
    return {
        "resourceType": "Flag",
        "id": resource_id,
        "status": status,
        "category": categories,
        "code": {"text": "MRSA"},
        "subject": {"reference": "Patient/example"},
        "period": {"start": "2024"},
    }


def test_a_warning_is_a_marked_active_flag_with_its_kind_as_category() -> None:
    result = SearchResult([
        _flag("mrsa", "active", marked=True),
        _flag("unmarked", "active", marked=False),
        _flag("inactive", "inactive", marked=True),
    ])  # fmt: skip
    [warning] = client._flags(result).warnings
    assert (warning.id, warning.category, warning.description) == ("mrsa", "infection", "MRSA")
    assert str(warning.since) == "2024"


# Next of kin


def test_the_relationship_is_shown_in_words_not_as_the_first_codings_code() -> None:
    wife = next_of_kin(_edge("a-rel-wife"))
    assert wife.relationship_display == "Wife, next of kin"
    assert wife.relationship == "WIFE", "the v3 RoleCode code, not v2-0131 N"
    assert [c.system_name for c in wife.relationship_codings] == [None, None]
    assert [c.code for c in wife.relationship_codings] == ["N", "WIFE"]


@pytest.mark.parametrize(
    ("relationship", "words"),
    [
        # No text: a coding's display.
        ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"},
                     {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                      "code": "WIFE", "display": "wife"}]}, "wife"),
        # No text, no display: the known code's name.
        ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "N"}]},
         "Next-of-kin"),
        ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0131", "code": "C"}]},
         "Emergency contact"),
        ({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
                      "code": "DAU"}]}, "daughter"),
        # An unknown code in an unknown system is not put into words.
        ({"coding": [{"system": "urn:example", "code": "N"}]}, None),
    ],
)  # fmt: skip
def test_relationship_words_fall_back_from_text_to_display_to_a_known_code(
    relationship: dict[str, Any], words: str | None
) -> None:
    related = {"resourceType": "RelatedPerson", "id": "r", "relationship": [relationship]}
    assert next_of_kin(related).relationship_display == words


def test_codings_name_their_systems_and_skip_empty_ones() -> None:
    concept = {"coding": [{"system": ICD10_NO, "code": "G35"}, {"system": SNOMED}, "junk"]}
    assert codings(concept) == [
        Coding(system=ICD10_NO, system_name="ICD-10", code="G35", display=None)
    ]
    assert codings(None) == []


# The mocks mark exactly what they mean as critical information.


POPULATION = Population()


@pytest.mark.parametrize(
    "record",
    [
        *(POPULATION.fixture_record(f.key) for f in FIXTURES if f.key != "reserved"),
        *(POPULATION.record_at(index) for index in range(0, 1000, 25)),
    ],
)
def test_every_clinicians_entry_the_mocks_write_is_shown(record: PatientRecord) -> None:
    conditions = record.of_type("Condition")
    clinical = [c for c in conditions if not client._asserted_by_patient(c)]
    assert len(client._conditions(_result(conditions)).critical) == len(clinical)
    procedures = record.of_type("Procedure")
    assert len(client._treatments(_result(procedures))) == len(procedures)
    flags = record.of_type("Flag")
    needs = [f for f in flags if critical.kind_of(f) == "communication-need"]
    assert len(client._flags(_result(flags)).warnings) == len(flags) - len(needs)


# The Patient: partial dates and addresses as US Core writes them.


def test_a_patient_born_in_a_year_and_living_at_a_street_address_is_read() -> None:
    patient = core_patient({
        "resourceType": "Patient",
        "id": "p",
        "birthDate": "1932",
        "deceasedDateTime": "2026-10",
        "address": [{"line": ["Storgata 1"], "city": "Oslo", "postalCode": "0155"}],
        "communication": [{"language": {"text": "Nordsamisk"}}, {"language": {}}],
    })  # fmt: skip
    assert patient.details.birth_date is not None and str(patient.details.birth_date) == "1932"
    assert patient.details.birth_date.precision is Precision.YEAR
    assert patient.details.deceased and str(patient.details.deceased_at) == "2026-10"
    assert patient.details.municipality is None, "no municipality: null, not one of nulls"
    assert [(lang.code, lang.name) for lang in patient.languages] == [(None, "Nordsamisk")]
