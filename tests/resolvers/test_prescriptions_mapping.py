"""Prescriptions, dispensings and the medication list mapped from standard-shaped FHIR R4: the
HL7 R4 examples (a contained Medication), US Core (a referenced Medication, included in the
search), Synthea (RxNorm codes, structured dosage only), and partial dates."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from gateway.graphql.schema import build_schema
from gateway.upstream.fhir import SearchResult
from resolvers.common import ATC_SYSTEM, RXNORM_SYSTEM, SNOMED_SYSTEM, codings
from resolvers.medication_list import build_rows
from resolvers.parties import PartyKind
from resolvers.prescriptions import (
    PrescriptionStatus,
    build_dispensings,
    build_prescriptions,
)

schema = build_schema()

HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
ORG = "urn:oid:2.16.578.1.12.4.1.4.101"

# Synthea: RxNorm only, text equal to the display, dosage structured only.
SYNTHEA_REQUEST: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "synthea-1",
    "status": "active",
    "intent": "order",
    "medicationCodeableConcept": {
        "coding": [
            {"system": RXNORM_SYSTEM, "code": "314076", "display": "lisinopril 10 MG Oral Tablet"}
        ],
        "text": "lisinopril 10 MG Oral Tablet",
    },
    "subject": {"reference": "Patient/p1"},
    "authoredOn": "2015-06-02T14:54:09-04:00",
    "requester": {"reference": "Practitioner/pr1", "display": "Dr. Mitch179 Koch169"},
    "dosageInstruction": [
        {
            "sequence": 1,
            "timing": {"repeat": {"frequency": 1, "period": 1.0, "periodUnit": "d"}},
            "asNeededBoolean": False,
            "doseAndRate": [
                {
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
                                "code": "ordered",
                                "display": "Ordered",
                            }
                        ]
                    },
                    "doseQuantity": {"value": 1.0},
                }
            ],
        }
    ],
}

# HL7 R4 medicationrequest0301 (abridged): the Medication is contained.
CONTAINED_REQUEST: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "medrx0301",
    "contained": [
        {
            "resourceType": "Medication",
            "id": "med0310",
            "code": {
                "coding": [
                    {
                        "system": SNOMED_SYSTEM,
                        "code": "430127000",
                        "display": "Oral Form Oxycodone (product)",
                    }
                ]
            },
        }
    ],
    "status": "completed",
    "intent": "order",
    "medicationReference": {"reference": "#med0310"},
    "subject": {"reference": "Patient/pat1", "display": "Donald Duck"},
    "authoredOn": "2015-01-15",
    "dosageInstruction": [
        {"sequence": 1, "text": "one to two tablets every 4-6 hours as needed for rib pain"}
    ],
    "dispenseRequest": {"validityPeriod": {"start": "2015-01-15", "end": "2016-01-15"}},
}

# US Core: the Medication is a resource of its own, included by _include.
US_CORE_MEDICATION: dict[str, Any] = {
    "resourceType": "Medication",
    "id": "uscore-med2",
    "code": {
        "coding": [
            {
                "system": RXNORM_SYSTEM,
                "code": "206765",
                "display": "Prinivil 10 MG Oral Tablet",
            },
            {"system": ATC_SYSTEM, "code": "C09AA03", "display": "lisinopril"},
        ],
        "text": "Prinivil 10 MG Oral Tablet",
    },
}
REFERENCING_REQUEST: dict[str, Any] = {
    "resourceType": "MedicationRequest",
    "id": "uscore-mo2",
    "status": "active",
    "intent": "order",
    "medicationReference": {"reference": "Medication/uscore-med2", "display": "Prinivil"},
    "subject": {"reference": "Patient/example"},
    "authoredOn": "2010",
}


def _search(
    matches: Iterable[Mapping[str, Any]], included: Mapping[str, Mapping[str, Any]] | None = None
) -> SearchResult:
    """A search's result as FhirSource.fetch hands it to a build function."""
    return SearchResult(list(matches), dict(included or {}))


def _request(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SYNTHEA_REQUEST), **changes}


def test_an_rxnorm_code_is_never_an_atc_code_and_every_coding_keeps_its_system() -> None:
    [prescription] = build_prescriptions(_search([SYNTHEA_REQUEST]))
    medication = prescription.medication
    assert medication.atc_code is None and medication.substance is None
    assert medication.name == medication.product_name == "lisinopril 10 MG Oral Tablet"
    [coding] = medication.codes
    assert (coding.system, coding.system_name, coding.code) == (RXNORM_SYSTEM, "RxNorm", "314076")
    assert prescription.status is PrescriptionStatus.ACTIVE
    assert prescription.prescriber is not None
    assert prescription.prescriber.name == "Dr. Mitch179 Koch169"


def test_a_structured_dosage_without_text_is_rendered() -> None:
    [prescription] = build_prescriptions(_search([SYNTHEA_REQUEST]))
    assert prescription.dosage == "1 once a day"


def test_the_atc_coding_is_found_among_others_whatever_its_position() -> None:
    concept = {
        "coding": [
            {"system": RXNORM_SYSTEM, "code": "197361", "display": "amlodipine 5 MG"},
            {"system": ATC_SYSTEM, "code": "C08CA01", "display": "amlodipin"},
        ]
    }
    [prescription] = build_prescriptions(_search([_request(medicationCodeableConcept=concept)]))
    medication = prescription.medication
    assert (medication.atc_code, medication.substance) == ("C08CA01", "amlodipin")
    assert [(c.system_name, c.code) for c in medication.codes] == [
        ("RxNorm", "197361"),
        ("ATC", "C08CA01"),
    ]
    # No text: the name is the first coding's display.
    assert medication.product_name is None and medication.name == "amlodipine 5 MG"


def test_a_contained_medication_gives_name_and_code() -> None:
    [prescription] = build_prescriptions(_search([CONTAINED_REQUEST]))
    medication = prescription.medication
    assert medication.name == "Oral Form Oxycodone (product)"
    assert [(c.system_name, c.code) for c in medication.codes] == [("SNOMED CT", "430127000")]
    assert medication.atc_code is None
    assert prescription.dosage == "one to two tablets every 4-6 hours as needed for rib pain"
    assert prescription.status is PrescriptionStatus.COMPLETED


def test_an_included_medication_is_resolved_also_by_absolute_reference() -> None:
    included = {"Medication/uscore-med2": US_CORE_MEDICATION}
    [prescription] = build_prescriptions(_search([REFERENCING_REQUEST], included))
    medication = prescription.medication
    assert medication.atc_code == "C09AA03" and medication.substance == "lisinopril"
    assert medication.product_name == medication.name == "Prinivil 10 MG Oral Tablet"
    assert [c.system_name for c in medication.codes] == ["RxNorm", "ATC"]
    absolute = {
        **REFERENCING_REQUEST,
        "medicationReference": {"reference": "https://fhir.example/r4/Medication/uscore-med2"},
    }
    [prescription] = build_prescriptions(_search([absolute], included))
    assert prescription.medication.atc_code == "C09AA03"


def test_a_medication_that_did_not_come_along_keeps_only_the_references_display() -> None:
    [prescription] = build_prescriptions(_search([REFERENCING_REQUEST]))
    medication = prescription.medication
    assert medication.name == "Prinivil"
    assert (
        medication.atc_code is None and medication.codes == [] and medication.product_name is None
    )
    bare = {**REFERENCING_REQUEST, "medicationReference": {"reference": "Medication/gone"}}
    [prescription] = build_prescriptions(_search([bare]))
    assert prescription.medication.name is None and prescription.medication.codes == []
    # A contained id that is not there, or an included resource of another type: no name.
    missing = {**CONTAINED_REQUEST, "medicationReference": {"reference": "#other"}}
    [prescription] = build_prescriptions(_search([missing]))
    assert prescription.medication.name is None and prescription.medication.codes == []
    wrong_type = {"Medication/uscore-med2": {"resourceType": "Substance", "id": "uscore-med2"}}
    [prescription] = build_prescriptions(_search([REFERENCING_REQUEST], wrong_type))
    assert prescription.medication.name == "Prinivil" and prescription.medication.codes == []


def test_partial_dates_never_fail_and_sort_newest_first() -> None:
    requests = [
        _request(id="year", authoredOn="2010"),
        _request(id="month", authoredOn="1974-12"),
        _request(id="full", authoredOn="2012-03-04T10:00:00+01:00"),
        _request(id="undated", authoredOn=None),
        _request(
            id="validity",
            authoredOn="2011-05",
            dispenseRequest={"validityPeriod": {"start": "2011", "end": "2012-06"}},
        ),
    ]
    prescriptions = build_prescriptions(_search(requests))
    assert [str(p.id) for p in prescriptions] == ["full", "validity", "year", "month", "undated"]
    by_id = {str(p.id): p for p in prescriptions}
    assert str(by_id["year"].prescribed_at) == "2010"
    assert str(by_id["month"].prescribed_at) == "1974-12"
    assert str(by_id["full"].prescribed_at) == "2012-03-04T10:00:00+01:00"
    assert str(by_id["validity"].valid_from) == "2011"
    assert str(by_id["validity"].valid_until) == "2012-06"


def test_the_schema_carries_the_new_fields_and_partial_dates() -> None:
    sdl = schema.as_str()
    for field in (
        "prescribedAt: FhirDateTime",
        "validFrom: FhirDateTime",
        "validUntil: FhirDateTime",
        "withdrawnAt: FhirDateTime",
        "dispensedAt: FhirDateTime",
        "codes: [Coding!]!",
        "dispensedBy: [Party!]!",
        "systemName: String",
    ):
        assert field in sdl, field


# HL7 R4 meddisp0301 (abridged): contained Medication, a Practitioner as performer.
HL7_DISPENSE: dict[str, Any] = {
    "resourceType": "MedicationDispense",
    "id": "meddisp0301",
    "contained": [
        {
            "resourceType": "Medication",
            "id": "medexample015",
            "code": {
                "coding": [
                    {
                        "system": RXNORM_SYSTEM,
                        "code": "213293",
                        "display": "capecitabine 500 MG Oral Tablet [Xeloda]",
                    }
                ]
            },
        }
    ],
    "status": "completed",
    "medicationReference": {"reference": "#medexample015"},
    "subject": {"reference": "Patient/pat1", "display": "Donald Duck"},
    "performer": [{"actor": {"reference": "Practitioner/f006"}}],
    "authorizingPrescription": [{"reference": "MedicationRequest/medrx0309"}],
    "quantity": {
        "value": 30,
        "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
        "code": "TAB",
    },
    "whenHandedOver": "2015-01-15T16:20:00Z",
    "dosageInstruction": [
        {
            "sequence": 1,
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg"}}],
        }
    ],
}


def test_a_dispensing_by_a_practitioner_is_a_person_not_a_pharmacy() -> None:
    [dispensing] = build_dispensings(_search([HL7_DISPENSE]))
    assert dispensing.medication.name == "capecitabine 500 MG Oral Tablet [Xeloda]"
    assert dispensing.medication.codes[0].system_name == "RxNorm"
    [dispenser] = dispensing.dispensed_by
    assert dispenser.kind is PartyKind.PERSON
    assert dispensing.pharmacy is None
    assert dispensing.prescription_id == "medrx0309"
    assert dispensing.dosage == "500 mg twice a day"
    assert str(dispensing.dispensed_at) == "2015-01-15T16:20:00+00:00"


def test_a_dispensing_names_pharmacist_and_pharmacy_each_as_what_it_is() -> None:
    performers = [
        {
            "actor": {
                "type": "Practitioner",
                "identifier": {"system": HPR, "value": "9144900"},
                "display": "Kari Farmasøyt",
            }
        },
        {
            "actor": {
                "identifier": {"system": ORG, "value": "987654321"},
                "display": "Apotek 1 Storgata",
            }
        },
        {"actor": {"reference": "#pharm"}},
        {"actor": {"reference": "#rph"}},
    ]
    resource = {
        **HL7_DISPENSE,
        "performer": performers,
        "contained": [
            {
                "resourceType": "Organization",
                "id": "pharm",
                "identifier": [{"system": ORG, "value": "912345678"}],
                "name": "Vitusapotek",
            },
            {
                "resourceType": "Practitioner",
                "id": "rph",
                "name": [{"family": "Hansen", "given": ["Ola", "Johan"]}],
            },
        ],
    }
    [dispensing] = build_dispensings(_search([resource]))
    assert [
        (d.kind, d.name, d.hpr_number, d.organization_number) for d in dispensing.dispensed_by
    ] == [
        (PartyKind.PERSON, "Kari Farmasøyt", "9144900", None),
        (PartyKind.ORGANISATION, "Apotek 1 Storgata", None, "987654321"),
        (PartyKind.ORGANISATION, "Vitusapotek", None, "912345678"),
        (PartyKind.PERSON, "Ola Johan Hansen", None, None),
    ]
    assert dispensing.pharmacy is not None
    assert (dispensing.pharmacy.name, dispensing.pharmacy.organization_number) == (
        "Apotek 1 Storgata",
        "987654321",
    )
    rows = build_rows(None, [dispensing], dt.date(2026, 12, 6), 30)
    assert rows is not None and rows[0].last_dispensing is not None
    assert rows[0].last_dispensing.pharmacy == "Apotek 1 Storgata"  # not the pharmacist
    unknown = {**HL7_DISPENSE, "performer": [{"actor": {"display": "Someone"}}]}
    [dispensing] = build_dispensings(_search([unknown]))
    assert dispensing.dispensed_by[0].kind is PartyKind.UNKNOWN
    assert dispensing.dispensed_by[0].name == "Someone" and dispensing.pharmacy is None
    device = {**HL7_DISPENSE, "performer": [{"actor": {"reference": "Device/robot-1"}}]}
    [dispensing] = build_dispensings(_search([device]))
    assert dispensing.dispensed_by[0].kind is PartyKind.OTHER and dispensing.pharmacy is None


def test_the_medication_list_never_merges_unnamed_codeless_entries() -> None:
    nameless = [
        {**REFERENCING_REQUEST, "id": f"nameless-{n}", "medicationReference": {"reference": ref}}
        for n, ref in enumerate(["Medication/a", "Medication/b"])
    ]
    prescriptions = build_prescriptions(_search(nameless))
    rows = build_rows(prescriptions, [], dt.date(2026, 12, 6), 30)
    assert rows is not None
    assert sorted(tuple(r.prescription_ids) for r in rows) == [("nameless-0",), ("nameless-1",)]


def test_the_medication_list_keys_by_code_with_system_then_by_name() -> None:
    requests = [
        _request(id="rx-a"),
        _request(id="rx-b", authoredOn="2016-01-01"),
        # Same code, another system: another medicine.
        _request(
            id="other-system",
            medicationCodeableConcept={"coding": [{"system": "urn:local", "code": "314076"}]},
        ),
        # Named only: keyed by name, case and spacing aside.
        {**REFERENCING_REQUEST, "id": "named-1", "medicationReference": {"display": "Paracet"}},
        {**REFERENCING_REQUEST, "id": "named-2", "medicationReference": {"display": " paracet"}},
    ]
    dispensing = {
        **HL7_DISPENSE,
        "id": "d-nameless",
        "medicationReference": {"reference": "Medication/gone"},
        "authorizingPrescription": [{"reference": "MedicationRequest/named-1"}],
    }
    rows = build_rows(
        build_prescriptions(_search(requests)),
        build_dispensings(_search([dispensing])),
        dt.date(2026, 12, 6),
        30,
    )
    assert rows is not None
    grouped = sorted((sorted(r.prescription_ids), list(r.dispensing_ids)) for r in rows)
    assert grouped == [
        (["named-1", "named-2"], ["d-nameless"]),  # a nameless dispensing joins its prescription
        (["other-system"], []),
        (["rx-a", "rx-b"], []),
    ]


def test_the_medication_list_reads_partial_validity_at_its_precision() -> None:
    # Valid "until 2026-12": through 31 December, so active on 6 December and expiring soon.
    request = _request(dispenseRequest={"validityPeriod": {"start": "2026", "end": "2026-12"}})
    rows = build_rows(build_prescriptions(_search([request])), None, dt.date(2026, 12, 6), 30)
    assert rows is not None
    [row] = rows
    assert [str(p.id) for p in row.active_prescriptions] == ["synthea-1"]
    assert [f.name for f in row.flags] == ["EXPIRING_SOON"]
    rows = build_rows(build_prescriptions(_search([request])), None, dt.date(2027, 1, 1), 30)
    assert rows is not None and rows[0].active_prescriptions == []


def test_a_dispensing_in_the_withdrawal_month_is_not_claimed_to_be_after_it() -> None:
    withdrawn = _request(
        status="stopped",
        extension=[
            {
                "url": "http://hl7.org/fhir/5.0/StructureDefinition/"
                "extension-MedicationRequest.statusChanged",
                "valueDateTime": "2024-05-10T12:00:00+02:00",
            }
        ],
    )

    def dispensed(when: str) -> dict[str, Any]:
        return {
            **HL7_DISPENSE,
            "id": f"d-{when}",
            "medicationReference": None,
            "medicationCodeableConcept": SYNTHEA_REQUEST["medicationCodeableConcept"],
            "authorizingPrescription": [{"reference": "MedicationRequest/synthea-1"}],
            "whenHandedOver": when,
        }

    def flags(when: str) -> list[str]:
        rows = build_rows(
            build_prescriptions(_search([withdrawn])),
            build_dispensings(_search([dispensed(when)])),
            dt.date(2026, 12, 6),
            30,
        )
        assert rows is not None
        return [f.name for f in rows[0].flags]

    assert "DISPENSED_AFTER_WITHDRAWAL" in flags("2024-05-11")
    assert "DISPENSED_AFTER_WITHDRAWAL" in flags("2024-05-10T13:00:00+02:00")
    assert "DISPENSED_AFTER_WITHDRAWAL" not in flags("2024-05")
    assert "DISPENSED_AFTER_WITHDRAWAL" not in flags("2024-05-10T11:00:00+02:00")


def test_codings_is_generic_and_names_known_systems_only() -> None:
    concept = {
        "coding": [
            {"system": "http://hl7.org/fhir/sid/icd-10", "code": "I48"},
            {"system": "urn:oid:2.16.578.1.12.4.1.1.7110", "code": "I48.0"},
            {"system": "http://loinc.org", "code": "8867-4", "display": "Heart rate"},
            {"system": "urn:local", "code": "x"},
            {"system": "urn:empty"},
            "not a coding",
        ]
    }
    assert [(c.system_name, c.code) for c in codings(concept)] == [
        ("ICD-10", "I48"),
        ("ICD-10", "I48.0"),
        ("LOINC", "8867-4"),
        (None, "x"),
    ]
    assert codings(None) == [] and codings({"text": "only text"}) == []
