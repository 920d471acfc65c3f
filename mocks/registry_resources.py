"""Resources of the five national registries around the core record, shaped as docs/fhir-profile.md.

Each function adds one resource (or a resource with what it needs) to a ``RecordBuilder`` and
returns it, so generators and fixtures build records the same way.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mocks.datatypes import (
    EXT_REPORTED_AS_WRONG,
    EXT_STATUS_CHANGED,
    OID_HPR,
    OID_ORGANISATION,
    SYSTEM_ACT_CODE,
    SYSTEM_ATC,
    SYSTEM_DIAGNOSTIC_SERVICE,
    SYSTEM_INTERPRETATION,
    SYSTEM_LOINC,
    Resource,
    at,
    coding,
    concept,
    fhir_date,
    hpr_reference,
    instant,
    organisation_reference,
    quantity,
)
from mocks.medicines import Drug
from mocks.record import RecordBuilder
from mocks.vocabulary import Clinician, GpOffice, Hospital, Laboratory, Pharmacy

ENCOUNTER_CLASSES = {
    "AMB": "ambulatory",
    "IMP": "inpatient encounter",
    "SS": "short stay",
    "EMER": "emergency",
}
DOCUMENT_TYPES = {
    "18842-5": "Discharge summary",
    "11502-2": "Laboratory report",
    "18748-4": "Diagnostic imaging study",
    "57133-1": "Referral note",
}


def medication_concept(drug: Drug) -> Resource:
    """The ATC coding plus the product name, shared by prescriptions and dispensings."""
    return concept(SYSTEM_ATC, drug.atc, drug.substance, text=drug.product)


def add_medication_request(
    builder: RecordBuilder,
    drug: Drug,
    authored: dt.datetime,
    prescriber: Clinician,
    status: str,
    *,
    valid_days: int = 365,
    withdrawn: tuple[dt.datetime, str] | None = None,
) -> Resource:
    """A prescription; ``withdrawn`` (when, why) makes it ``stopped`` with a reason."""
    body: Resource = {
        "status": "stopped" if withdrawn else status,
        "intent": "order",
        "medicationCodeableConcept": medication_concept(drug),
        "subject": builder.subject(),
        "authoredOn": instant(authored),
        "requester": hpr_reference(prescriber.hpr_number, prescriber.display),
        "dosageInstruction": [{"text": drug.dosage}],
        "dispenseRequest": {
            "validityPeriod": {
                "start": fhir_date(authored.date()),
                "end": fhir_date(authored.date() + dt.timedelta(days=valid_days)),
            },
            "quantity": quantity(drug.pack_size, drug.unit),
        },
    }
    updated = authored
    if withdrawn is not None:
        when, reason = withdrawn
        body["statusReason"] = {"text": reason}
        body["extension"] = [{"url": EXT_STATUS_CHANGED, "valueDateTime": instant(when)}]
        updated = when
    return builder.add("MedicationRequest", "mr", updated, body)


def add_medication_dispense(
    builder: RecordBuilder,
    drug: Drug,
    prescription: Resource,
    handed_over: dt.datetime,
    pharmacy: Pharmacy,
    *,
    packs: int = 1,
) -> Resource:
    """A dispensing at a pharmacy of (part of) ``prescription``."""
    body: Resource = {
        "status": "completed",
        "medicationCodeableConcept": medication_concept(drug),
        "subject": builder.subject(),
        "performer": [{"actor": organisation_reference(pharmacy.org_number, pharmacy.name)}],
        "authorizingPrescription": [{"reference": f"MedicationRequest/{prescription['id']}"}],
        "quantity": quantity(drug.pack_size * packs, drug.unit),
        "whenHandedOver": instant(handed_over),
        "dosageInstruction": [{"text": drug.dosage}],
    }
    return builder.add("MedicationDispense", "md", handed_over, body)


def add_gp_relation(
    builder: RecordBuilder,
    office: GpOffice,
    doctor: Clinician,
    start: dt.date,
    end: dt.date | None = None,
) -> Resource:
    """A GP relation (PractitionerRole) with the GP and the office it refers to."""
    practitioner = builder.add_shared(
        "Practitioner",
        f"hpr-{doctor.hpr_number}",
        at(dt.date(2024, 1, 2)),
        {
            "identifier": [{"system": OID_HPR, "value": doctor.hpr_number}],
            "active": True,
            "name": [{"family": doctor.family, "given": [doctor.given]}],
            "telecom": [{"system": "phone", "value": office.phone, "use": "work"}],
        },
    )
    organization = builder.add_shared(
        "Organization",
        f"org-{office.org_number}",
        at(dt.date(2024, 1, 2)),
        {
            "identifier": [{"system": OID_ORGANISATION, "value": office.org_number}],
            "active": True,
            "name": office.name,
            "telecom": [{"system": "phone", "value": office.phone, "use": "work"}],
            "address": [
                {"line": [office.street], "postalCode": office.postal_code, "city": office.city}
            ],
        },
    )
    period: Resource = {"start": fhir_date(start)}
    if end is not None:
        period["end"] = fhir_date(end)
    body: Resource = {
        "active": end is None,
        "period": period,
        "practitioner": {
            "reference": f"Practitioner/{practitioner['id']}",
            "display": doctor.display,
        },
        "organization": {"reference": f"Organization/{organization['id']}", "display": office.name},
        "code": [{"text": "Fastlege"}],
    }
    return builder.add("PractitionerRole", "gp", at(end or start, 7), body)


def add_encounter(
    builder: RecordBuilder,
    hospital: Hospital,
    department: str,
    *,
    encounter_class: str,
    start: dt.datetime,
    end: dt.datetime | None,
    reported_as_wrong: bool = False,
) -> Resource:
    """A visit: time and place only, never a diagnosis; no ``end`` means still in progress."""
    period: Resource = {"start": instant(start)}
    if end is not None:
        period["end"] = instant(end)
    body: Resource = {
        "status": "finished" if end is not None else "in-progress",
        "class": coding(SYSTEM_ACT_CODE, encounter_class, ENCOUNTER_CLASSES[encounter_class]),
        "subject": builder.subject(),
        "period": period,
        "serviceProvider": organisation_reference(hospital.org_number, hospital.name),
        "location": [{"location": {"display": department}}],
    }
    if reported_as_wrong:
        body["extension"] = [{"url": EXT_REPORTED_AS_WRONG, "valueBoolean": True}]
    return builder.add("Encounter", "enc", end or start, body)


def add_document(
    builder: RecordBuilder,
    type_code: str,
    when: dt.datetime,
    hospital: Hospital,
    *,
    title: str,
    content_type: str,
    content: bytes,
) -> Resource:
    """A document in a health trust's archive, with its content stored as a Binary."""
    binary = builder.add_binary(content_type, content, when)
    body: Resource = {
        "status": "current",
        "type": concept(SYSTEM_LOINC, type_code, DOCUMENT_TYPES[type_code]),
        "subject": builder.subject(),
        "date": instant(when),
        "description": title,
        "author": [organisation_reference(hospital.org_number, hospital.name)],
        "custodian": {"display": hospital.trust},
        "content": [
            {
                "attachment": {
                    "contentType": content_type,
                    "size": len(content),
                    "title": title,
                    "url": f"Binary/{binary.id}",
                }
            }
        ],
    }
    return builder.add("DocumentReference", "doc", when, body)


@dataclass(frozen=True, slots=True)
class ObservationValue:
    """One result: ``value`` is a Quantity, CodeableConcept or string as FHIR JSON."""

    loinc: str
    display: str
    value_key: str
    value: object
    interpretation: str | None
    reference_range: Resource | None = None


def add_lab_report(
    builder: RecordBuilder,
    code: str,
    display: str,
    laboratory: Laboratory,
    *,
    taken: dt.datetime,
    results: list[ObservationValue],
) -> Resource:
    """A DiagnosticReport with one Observation per result."""
    issued = taken + dt.timedelta(hours=6)
    references = []
    for result in results:
        body: Resource = {
            "status": "final",
            "code": concept(SYSTEM_LOINC, result.loinc, result.display),
            "subject": builder.subject(),
            "effectiveDateTime": instant(taken),
            "issued": instant(issued),
            result.value_key: result.value,
        }
        if result.interpretation is not None:
            body["interpretation"] = [concept(SYSTEM_INTERPRETATION, result.interpretation)]
        if result.reference_range is not None:
            body["referenceRange"] = [result.reference_range]
        observation = builder.add("Observation", "obs", issued, body)
        references.append({"reference": f"Observation/{observation['id']}"})
    report: Resource = {
        "status": "final",
        "category": [concept(SYSTEM_DIAGNOSTIC_SERVICE, "LAB", "Laboratory")],
        "code": concept(SYSTEM_LOINC, code, display),
        "subject": builder.subject(),
        "effectiveDateTime": instant(taken),
        "issued": instant(issued),
        "performer": [organisation_reference(laboratory.org_number, laboratory.name)],
        "result": references,
    }
    return builder.add("DiagnosticReport", "dr", issued, report)
