"""``resolvers.dosage``: a FHIR R4 ``Dosage`` as one readable line. The shapes are those of the
HL7 R4 examples (medicationrequest0301/0302) and of Synthea's MedicationRequests."""

from __future__ import annotations

from typing import Any

import pytest

from resolvers.dosage import render_dosage, render_dosages

ORAL = {
    "coding": [
        {
            "system": "http://snomed.info/sct",
            "code": "26643006",
            "display": "Oral Route (qualifier value)",
        }
    ],
    "text": "oral",
}
TABLET = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-orderableDrugForm",
    "code": "TAB",
    "unit": "tablet",
}
ORDERED = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/dose-rate-type",
            "code": "ordered",
            "display": "Ordered",
        }
    ]
}


def test_written_text_is_preferred_over_the_structured_parts() -> None:
    dosage = {
        "sequence": 1,
        "text": "6 mg PO daily for remission induction",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
        "doseAndRate": [{"doseQuantity": {"value": 6, "unit": "mg"}}],
    }
    assert render_dosage(dosage) == "6 mg PO daily for remission induction"


def test_a_dose_a_frequency_a_route_and_as_needed() -> None:
    dosage = {
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
        "route": ORAL,
        "asNeededBoolean": True,
        "doseAndRate": [{"type": ORDERED, "doseQuantity": {"value": 1, **TABLET}}],
    }
    assert render_dosage(dosage) == "1 tablet twice a day, oral, as needed"


def test_synthea_dosage_without_text_is_rendered_not_dropped() -> None:
    # Synthea: a decimal period, no unit on the dose, asNeededBoolean false.
    dosage = {
        "sequence": 1,
        "timing": {"repeat": {"frequency": 1, "period": 1.0, "periodUnit": "d"}},
        "asNeededBoolean": False,
        "doseAndRate": [{"type": ORDERED, "doseQuantity": {"value": 1.0}}],
    }
    assert render_dosage(dosage) == "1 once a day"
    assert render_dosage({"sequence": 1, "asNeededBoolean": True}) == "as needed"


def test_hl7_example_0301_without_its_text() -> None:
    # medicationrequest0301's dosage with "text" removed: a dose range, a period range, a
    # reason for "as needed", an additional instruction and the patient's instruction.
    dosage = {
        "sequence": 1,
        "additionalInstruction": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "418914006",
                        "display": "Warning. May cause drowsiness.",
                    }
                ]
            }
        ],
        "patientInstruction": "Take 1-2 tablets every four to six hours as needed for pain.",
        "timing": {"repeat": {"frequency": 1, "period": 4, "periodMax": 6, "periodUnit": "h"}},
        "asNeededCodeableConcept": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "297217002",
                    "display": "Rib Pain (finding)",
                }
            ]
        },
        "route": {"coding": ORAL["coding"]},
        "doseAndRate": [
            {
                "type": ORDERED,
                "doseRange": {
                    "low": {"value": 1, "unit": "TAB", "code": "TAB"},
                    "high": {"value": 2, "unit": "TAB", "code": "TAB"},
                },
            }
        ],
    }
    assert render_dosage(dosage) == (
        "1 to 2 TAB every 4 to 6 hours, Oral Route (qualifier value), "
        "as needed for Rib Pain (finding), Warning. May cause drowsiness., "
        "Take 1-2 tablets every four to six hours as needed for pain."
    )


@pytest.mark.parametrize(
    ("repeat", "expected"),
    [
        ({"frequency": 1, "period": 1, "periodUnit": "d"}, "once a day"),
        ({"frequency": 3, "period": 1, "periodUnit": "d"}, "3 times a day"),
        ({"frequency": 1, "period": 8, "periodUnit": "h"}, "every 8 hours"),
        ({"period": 1, "periodUnit": "h"}, "once an hour"),
        ({"frequency": 2, "period": 3, "periodUnit": "d"}, "twice every 3 days"),
        (
            {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "wk"},
            "1 to 2 times a week",
        ),
        ({"frequency": 1, "period": 1, "periodUnit": "d", "when": ["HS"]}, "once a day at bedtime"),
        ({"timeOfDay": ["08:00:00", "20:00:00"]}, "at 08:00, 20:00"),
        ({"dayOfWeek": ["mon", "thu"]}, "on mon, thu"),
    ],
)
def test_timing_repeat_in_words(repeat: dict[str, Any], expected: str) -> None:
    assert render_dosage({"timing": {"repeat": repeat}}) == expected


def test_a_timing_given_only_as_a_code_uses_its_text_else_its_meaning() -> None:
    bid = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation",
                "code": "BID",
            }
        ]
    }
    assert render_dosage({"timing": {"code": bid}}) == "twice a day"
    assert render_dosage({"timing": {"code": {**bid, "text": "morgen og kveld"}}}) == (
        "morgen og kveld"
    )
    odd = {"coding": [{"system": "urn:local", "code": "X1", "display": "ved behov"}]}
    assert render_dosage({"timing": {"code": odd}}) == "ved behov"


def test_bounds_are_given_as_written() -> None:
    period = {"start": "2024-03-01", "end": "2024-03-14"}
    dosage = {
        "timing": {
            "repeat": {"boundsPeriod": period, "frequency": 1, "period": 1, "periodUnit": "d"}
        },
        "doseAndRate": [{"doseQuantity": {"value": 0.5, "unit": "tablet"}}],
    }
    assert render_dosage(dosage) == "0.5 tablet once a day, from 2024-03-01 to 2024-03-14"
    started = {"timing": {"repeat": {"boundsPeriod": {"start": "2024-03-01T08:00:00+01:00"}}}}
    assert render_dosage(started) == "from 2024-03-01"
    days = {"value": 10, "unit": "days", "system": "http://unitsofmeasure.org", "code": "d"}
    assert render_dosage({"timing": {"repeat": {"boundsDuration": days}}}) == "for 10 days"


def test_nothing_readable_is_none_and_several_instructions_are_joined() -> None:
    assert render_dosage({"sequence": 1}) is None
    assert render_dosage({"asNeededBoolean": False}) is None
    assert render_dosage("1 tablet") is None
    assert render_dosages(None) is None
    assert render_dosages([]) is None
    tapering = [
        {"sequence": 1, "text": "2 tablets a day for a week"},
        {"sequence": 2, "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]},
    ]
    assert render_dosages(tapering) == "2 tablets a day for a week; 1 tablet"


def test_a_maximum_dose_per_period_is_stated() -> None:
    # The shape of an as-needed paracetamol order: 1 g up to 4 times a day, at most 4 g a day.
    dosage: dict[str, Any] = {
        "timing": {"repeat": {"frequency": 4, "period": 1, "periodUnit": "d"}},
        "asNeededBoolean": True,
        "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "g", "code": "g"}}],
        "maxDosePerPeriod": {
            "numerator": {"value": 4, "unit": "g", "code": "g"},
            "denominator": {
                "value": 1,
                "unit": "day",
                "system": "http://unitsofmeasure.org",
                "code": "d",
            },
        },
    }
    assert render_dosage(dosage) == "1 g 4 times a day, as needed, at most 4 g per day"
    dosage["maxDosePerPeriod"]["denominator"] = {"value": 2, "unit": "day"}
    assert render_dosage(dosage) == "1 g 4 times a day, as needed, at most 4 g per 2 days"
