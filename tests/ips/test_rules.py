"""``ips_problems`` passes the official HL7 IPS examples and reports each kind of broken copy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.ips.examples import ALL, FULL, MINIMAL, NO_INFO, entry_of, example, section_of
from tests.ips.rules import ips_problems

Bundle = dict[str, Any]
PATIENT = "urn:uuid:7685713c-e29e-4a75-8a90-45be7ba3be94"  # the minimal example's Patient
PRACTITIONER = "98315ba9-ffea-41ef-b59b-a836c039858f"  # and its Practitioner


@pytest.mark.parametrize("name", [MINIMAL, NO_INFO])
def test_official_examples_pass_our_profile(name: str) -> None:
    assert ips_problems(example(name)) == []


def test_official_example_with_a_narrative_only_section_passes_as_plain_ips() -> None:
    bundle = example(FULL)
    assert ips_problems(bundle, every_empty_section_coded=False) == []
    # Our profile wants every empty section to say why; IPS asks it of required sections only.
    assert ips_problems(bundle) == [
        "Composition.section[4] has neither entries nor an emptyReason (our profile)"
    ]


def _set(path: list[Any], value: Any) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        node: Any = bundle
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _drop_section(loinc: str) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        composition = bundle["entry"][0]["resource"]
        composition["section"].remove(section_of(bundle, loinc))

    return mutate


def _add_empty_reason(bundle: Bundle) -> None:
    section_of(bundle, "11450-4")["emptyReason"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                "code": "nilknown",
            }
        ]
    }


def _empty_without_reason(bundle: Bundle) -> None:
    del section_of(bundle, "48765-2")["entry"]


def _allergy_in_problems(bundle: Bundle) -> None:
    section_of(bundle, "11450-4")["entry"] = section_of(bundle, "48765-2")["entry"]


def _second_patient_as_subject(bundle: Bundle) -> None:
    other = "urn:uuid:0b7e6c1a-7f9c-4a47-9d3e-2f3c1e9d8a10"
    patient = dict(entry_of(bundle, "Patient")["resource"], id=other.removeprefix("urn:uuid:"))
    bundle["entry"].append({"fullUrl": other, "resource": patient})
    entry_of(bundle, "Condition")["resource"]["subject"] = {"reference": other}


def _contained_medication(reference: str) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        statement = entry_of(bundle, "MedicationStatement")["resource"]
        medication = dict(entry_of(bundle, "Medication")["resource"], id="med")
        statement["contained"] = [medication]
        statement["medicationReference"] = {"reference": reference}

    return mutate


def _versioned_subject(version: str) -> Callable[[Bundle], None]:
    def mutate(bundle: Bundle) -> None:
        entry_of(bundle, "Patient")["resource"]["meta"] = {"versionId": "2"}
        reference = f"Patient/AAA1234/_history/{version}"
        bundle["entry"][0]["resource"]["subject"] = {"reference": reference}

    return mutate


def _duplicate_full_url(bundle: Bundle) -> None:
    bundle["entry"][3]["fullUrl"] = bundle["entry"][2]["fullUrl"]


def _second_composition(bundle: Bundle) -> None:
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:5f0c2b86-0c56-4d0e-8f3a-7f6d61c1b0a1",
            "resource": {"resourceType": "Composition"},
        }
    )


MED, ALLERGY, CONDITION = 5, 7, 4  # entry indices in the minimal example
BROKEN: list[Any] = [
    pytest.param(MINIMAL, _set(["type"], "collection"), "Bundle.type is 'collection'", id="type"),
    pytest.param(MINIMAL, _set(["identifier"], {"value": "x"}), "Bundle.identifier", id="ident"),
    pytest.param(
        MINIMAL, _set(["timestamp"], "2020-12-11T14:30:00"), "valid FHIR instant", id="ts"
    ),
    pytest.param(MINIMAL, _duplicate_full_url, "is not unique", id="dup-fullurl"),
    pytest.param(
        MINIMAL, _set(["entry", 2, "fullUrl"], "Practitioner/1"), "neither urn:uuid", id="fullurl"
    ),
    pytest.param(
        MINIMAL, _set(["entry", 2, "resource", "id"], "other"), "does not match fullUrl", id="id"
    ),
    pytest.param(
        NO_INFO,
        _set(["entry", 1, "fullUrl"], "https://terminz.azurewebsites.net/fhir/Group/AAA1234"),
        "names another type",
        id="fullurl-type",
    ),
    pytest.param(MINIMAL, _second_composition, "second Composition (bdl-ips-1)", id="bdl-ips-1"),
    pytest.param(
        MINIMAL, _drop_section("48765-2"), "required allergies section", id="no-allergies"
    ),
    pytest.param(MINIMAL, _drop_section("10160-0"), "required medications section", id="no-meds"),
    pytest.param(MINIMAL, _add_empty_reason, "has entries and an emptyReason (cmp-2)", id="cmp-2"),
    pytest.param(
        MINIMAL, _empty_without_reason, "nor an emptyReason (ips-comp-1)", id="ips-comp-1"
    ),
    pytest.param(
        NO_INFO,
        _set(["entry", 0, "resource", "section", 0, "emptyReason", "coding", 0, "system"], "x"),
        "emptyReason is not coded from",
        id="empty-reason-system",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 0, "resource", "section", 0, "entry", 0, "reference"], "urn:uuid:nope"),
        "Bundle.entry[0].resource.section[0].entry[0]: reference 'urn:uuid:nope' does not resolve",
        id="section-reference",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", MED, "resource", "medicationReference", "reference"], "Medication/1"),
        f"Bundle.entry[{MED}].resource.medicationReference: reference 'Medication/1'",
        id="relative-from-urn",
    ),
    pytest.param(
        MINIMAL, _contained_medication("#other"), "reference '#other' does not resolve", id="#"
    ),
    pytest.param(NO_INFO, _versioned_subject("1"), "Composition.subject", id="version"),
    pytest.param(
        MINIMAL,
        _set(["entry", 0, "resource", "subject", "reference"], "urn:uuid:" + "0" * 32),
        "Composition.subject does not resolve to a Patient",
        id="subject",
    ),
    pytest.param(
        NO_INFO,
        _set(["entry", 0, "resource", "author"], []),
        "Composition.author needs at least one author",
        id="author",
    ),
    pytest.param(
        MINIMAL, _set(["entry", 0, "resource", "title"], ""), "title is missing", id="title"
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 0, "resource", "type", "coding", 0, "code"], "34133-9"),
        "Composition.type is not LOINC 60591-5",
        id="doc-type",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 0, "resource", "section", 1, "code", "coding", 0, "system"], "urn:oid:1"),
        "Composition.section[1].code has no coding with system http://loinc.org",
        id="section-loinc-system",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 0, "resource", "section", 0, "text", "div"], "<div>no namespace</div>"),
        "section[0].text needs a status and a well-formed XHTML div",
        id="narrative",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 0, "resource", "confidentiality"], "X"),
        "not a v3 Confidentiality code",
        id="confidentiality",
    ),
    pytest.param(
        MINIMAL,
        _allergy_in_problems,
        "is a AllergyIntolerance, not allowed in section 11450-4",
        id="allergy-in-problems",
    ),
    pytest.param(
        MINIMAL,
        _second_patient_as_subject,
        "(Condition).subject is not the Composition subject",
        id="other-subject",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", ALLERGY, "resource", "patient", "reference"], "urn:uuid:" + PRACTITIONER),
        "(AllergyIntolerance).patient is not the Composition subject",
        id="other-patient",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", ALLERGY, "resource", "clinicalStatus", "coding", 0, "system"], "http://x"),
        "clinicalStatus is not coded from http://terminology.hl7.org/CodeSystem/allergyintol",
        id="allergy-clinical",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", CONDITION, "resource", "verificationStatus", "coding", 0, "code"], "maybe"),
        "verificationStatus is not coded from http://terminology.hl7.org/CodeSystem/condition-ver",
        id="condition-verification",
    ),
    pytest.param(MINIMAL, _set(["entry", MED, "resource", "status"], "taking"), "status 'taking'"),
    pytest.param(
        FULL,
        _set(["entry", 12, "resource", "status"], "done"),
        "status 'done' is not in the R4 Observation status set",
        id="observation-status",
    ),
    pytest.param(
        MINIMAL,
        _set(
            ["entry", 6, "resource", "code", "coding", 3, "system"],
            "urn:oid:2.16.840.1.113883.6.73",
        ),
        "ATC code L02BG03 needs system http://www.whocc.no/atc",
        id="atc-system",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 6, "resource", "code", "coding", 3, "code"], "anastrozole"),
        "'anastrozole' is not an ATC code",
        id="atc-code",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", CONDITION, "resource", "onsetDateTime"], "2020-13-01"),
        f"entry[{CONDITION}].resource.onsetDateTime: '2020-13-01' is not a valid FHIR dateTime",
        id="bad-date",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", 1, "resource", "birthDate"], "1950-02-30T00:00:00Z"),
        "birthDate: '1950-02-30T00:00:00Z' is not a valid FHIR date",
        id="birth-date",
    ),
    pytest.param(
        MINIMAL,
        _set(["entry", MED, "resource", "effectivePeriod", "start"], "March 2015"),
        "effectivePeriod.start: 'March 2015' is not a valid FHIR dateTime",
        id="period",
    ),
]


@pytest.mark.parametrize(("name", "mutate", "expected"), BROKEN)
def test_each_broken_copy_of_an_official_example_is_reported(
    name: str, mutate: Callable[[Bundle], None], expected: str
) -> None:
    bundle = example(name)
    assert ips_problems(bundle) == [] or name == FULL
    mutate(bundle)
    problems = ips_problems(bundle, every_empty_section_coded=name != FULL)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("name", "mutate"),
    [
        (MINIMAL, _contained_medication("#med")),
        (NO_INFO, _versioned_subject("2")),
    ],
    ids=["contained", "version"],
)
def test_contained_and_version_specific_references_resolve(
    name: str, mutate: Callable[[Bundle], None]
) -> None:
    bundle = example(name)
    mutate(bundle)
    assert ips_problems(bundle) == []


def test_every_official_example_is_checked_with_its_sections() -> None:
    # Guards the examples themselves: a check that saw no section would pass them vacuously.
    for name in ALL:
        sections = example(name)["entry"][0]["resource"]["section"]
        assert {"10160-0", "48765-2", "11450-4"} <= {
            s["code"]["coding"][0]["code"] for s in sections
        }
    assert example(MINIMAL)["entry"][0]["resource"]["subject"]["reference"] == PATIENT


def test_a_section_of_the_documents_own_may_use_its_own_code_system_but_not_an_ips_code() -> None:
    bundle = copy.deepcopy(example(MINIMAL))
    sections = bundle["entry"][0]["resource"]["section"]
    extra = copy.deepcopy(sections[0])
    extra["code"] = {"coding": [{"system": "https://example.org/sections", "code": "documents"}]}
    sections.append(extra)
    assert ips_problems(bundle) == []
    extra["code"] = {"coding": [{"code": "documents"}]}
    assert any("has no coding with system" in p for p in ips_problems(bundle))
