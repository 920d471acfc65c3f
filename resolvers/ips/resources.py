"""One FHIR R4 resource per summary item, made from the GraphQL types the summary already holds.

The document is built from the mapped summary, not from the registries' raw answers: what a
GraphQL client sees and what the IPS document holds are the same items, read once, checked once
(patient binding, categories, entered-in-error left out). Codes keep the systems the source
gave; a status outside the R4 value set the element requires is left out (or ``unknown`` where
the element is required), never guessed.
"""

from __future__ import annotations

from typing import Any

from gateway.identity import NationalIdentityNumber
from gateway.ips.profile import BASE
from resolvers.common import HPR_SYSTEM, ORGANISATION_SYSTEM, Code
from resolvers.core_record.critical_information import (
    Allergy,
    ClinicalWarning,
    CriticalCondition,
    Implant,
    Treatment,
)
from resolvers.core_record.demographics import Language, PersonDetails
from resolvers.core_record.own_registrations import (
    CommunicationNeed,
    NextOfKin,
    SelfReportedCondition,
)
from resolvers.documents import Document
from resolvers.gp_registry import RegularGp
from resolvers.ips.datatypes import (
    compact,
    compacted,
    concept,
    date_only,
    date_time,
    instant,
    organisation,
    party,
    person,
    quantity,
    registry_identifier,
    text_concept,
)
from resolvers.lab_results import Interpretation, LabReport, LabResult, ReferenceRange
from resolvers.medication_list import MedicationRow
from resolvers.prescriptions import Dispensing, Medication, Prescription, PrescriptionStatus
from resolvers.visit_history import Visit, VisitKind

Reference = dict[str, Any]
Resource = dict[str, Any]

TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
_ALLERGY_CLINICAL = {"active", "inactive", "resolved"}
_ALLERGY_VERIFICATION = {"unconfirmed", "confirmed", "refuted", "entered-in-error"}
_ALLERGY_CATEGORIES = {"food", "medication", "environment", "biologic"}
_CONDITION_VERIFICATION = {"unconfirmed", "confirmed", "refuted", "entered-in-error"}
_EVENT_STATUSES = {
    "preparation",
    "in-progress",
    "not-done",
    "on-hold",
    "stopped",
    "completed",
    "entered-in-error",
    "unknown",
}
_OBSERVATION_STATUSES = {
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
}
_REPORT_STATUSES = _OBSERVATION_STATUSES | {"partial", "appended"}
_REQUEST_STATUSES = {
    PrescriptionStatus.ACTIVE: "active",
    PrescriptionStatus.COMPLETED: "completed",
    PrescriptionStatus.WITHDRAWN: "stopped",
    PrescriptionStatus.OTHER: "unknown",
}
_ENCOUNTER_CLASSES = {
    VisitKind.OUTPATIENT: ("AMB", "ambulatory"),
    VisitKind.ADMISSION: ("IMP", "inpatient encounter"),
    VisitKind.DAY_TREATMENT: ("SS", "short stay"),
    VisitKind.EMERGENCY: ("EMER", "emergency"),
}
_INTERPRETATION_CODES = {
    Interpretation.NORMAL: ("N", "Normal"),
    Interpretation.HIGH: ("H", "High"),
    Interpretation.LOW: ("L", "Low"),
    Interpretation.ABNORMAL: ("A", "Abnormal"),
    Interpretation.POSITIVE: ("POS", "Positive"),
    Interpretation.NEGATIVE: ("NEG", "Negative"),
}
REPORTED_AS_WRONG = f"{BASE}/StructureDefinition/reported-as-wrong"
MEDICATION_FLAG = f"{BASE}/StructureDefinition/medication-flag"
MEDICATION_FLAG_SYSTEM = f"{BASE}/CodeSystem/medication-flag"


def _status(system: str, value: str | None, allowed: set[str]) -> dict[str, Any] | None:
    if value is None or value not in allowed:
        return None
    return {"coding": [{"system": f"{TERMINOLOGY}/{system}", "code": value}]}


def _code(value: Code | None, text: str | None = None) -> dict[str, Any] | None:
    return concept([value] if value is not None and value.code else [], text or _words(value))


def _words(value: Code | None) -> str | None:
    return value.display if value is not None else None


def _note(text: str | None) -> list[dict[str, str]] | None:
    return [{"text": text}] if text else None


# Patient and the people around them


def patient(
    nin: NationalIdentityNumber,
    details: PersonDetails | None,
    languages: list[Language],
    interpreter_required: bool | None,
    general_practitioners: list[Reference],
) -> Resource:
    """The subject. Without its demographics (withheld, unavailable) it is the identity number
    the caller asked for, nothing more."""
    resource: Resource = {
        "resourceType": "Patient",
        "identifier": [{"system": nin.fhir_system, "value": nin.value}],
        "communication": [
            compact(
                {
                    "language": compact(
                        {
                            "coding": [{"system": "urn:ietf:bcp:47", "code": language.code}]
                            if language.code
                            else [],
                            "text": language.name or language.code,
                        }
                    ),
                    "preferred": language.preferred or None,
                }
            )
            for language in languages
            if language.code or language.name
        ],
        "generalPractitioner": general_practitioners,
    }
    if interpreter_required is not None:
        resource["extension"] = [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired",
                "valueBoolean": interpreter_required,
            }
        ]
    if details is not None:
        given = details.given_name.split() if details.given_name else []
        resource |= {
            "name": [
                compact({"text": details.full_name, "family": details.family_name, "given": given})
            ],
            "gender": details.gender.value if details.gender else None,
            "birthDate": date_only(details.birth_date),
        }
        if details.deceased_at is not None:
            resource["deceasedDateTime"] = date_time(details.deceased_at)
        elif details.deceased:
            resource["deceasedBoolean"] = True
        if details.municipality is not None:
            name, number = details.municipality.name, details.municipality.number
            resource["address"] = [
                compact(
                    {
                        "district": name,
                        "text": f"{name} ({number})" if name and number else name or number,
                    }
                )
            ]
    return compacted(resource)


def related_person(item: NextOfKin, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "RelatedPerson",
            "identifier": [registry_identifier("core_record", "RelatedPerson", str(item.id))],
            "patient": subject,
            "relationship": [
                concept(item.relationship_codings, item.relationship_display or item.relationship)
            ],
            "name": [{"text": item.name}] if item.name else None,
            "telecom": [{"system": "phone", "value": item.phone}] if item.phone else None,
        }
    )


def practitioner(gp: RegularGp) -> Resource:
    return compacted(
        {
            "resourceType": "Practitioner",
            "identifier": [{"system": HPR_SYSTEM, "value": gp.hpr_number}]
            if gp.hpr_number
            else None,
            "name": [{"text": gp.name}] if gp.name else None,
            "telecom": [{"system": "phone", "value": gp.phone}] if gp.phone else None,
        }
    )


def gp_office(gp: RegularGp) -> Resource | None:
    office = gp.office
    if office is None:
        return None
    return compacted(
        {
            "resourceType": "Organization",
            "identifier": [{"system": ORGANISATION_SYSTEM, "value": office.organization_number}]
            if office.organization_number
            else None,
            "name": office.name,
            "telecom": [{"system": "phone", "value": office.phone}] if office.phone else None,
            "address": [{"text": office.address}] if office.address else None,
        }
    )


def gp_role(gp: RegularGp, doctor: Reference, office: Reference | None) -> Resource:
    return compacted(
        {
            "resourceType": "PractitionerRole",
            "active": True,
            "practitioner": doctor,
            "organization": office,
            "code": [{"text": "Regular general practitioner (fastlege)"}],
            "period": {
                "start": gp.since.isoformat() if gp.since else None,
                "end": gp.until.isoformat() if gp.until else None,
            },
        }
    )


# Critical information


def allergy(item: Allergy, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "AllergyIntolerance",
            "identifier": [registry_identifier("core_record", "AllergyIntolerance", str(item.id))],
            "clinicalStatus": _status(
                "allergyintolerance-clinical",
                item.clinical_status.value if item.clinical_status else None,
                _ALLERGY_CLINICAL,
            ),
            "verificationStatus": _status(
                "allergyintolerance-verification",
                item.verification.value if item.verification else None,
                _ALLERGY_VERIFICATION,
            ),
            "type": item.kind if item.kind in ("allergy", "intolerance") else None,
            "category": [c for c in item.categories if c in _ALLERGY_CATEGORIES],
            "criticality": item.criticality.value if item.criticality else None,
            "code": concept(item.agent_codings, _words(item.agent)),
            "patient": subject,
            "onsetDateTime": date_time(item.onset),
            "recordedDate": date_time(item.recorded_at),
            "recorder": person(item.recorded_by),
            "reaction": [
                {
                    "manifestation": [{"text": item.reaction}],
                    "severity": item.severity
                    if item.severity in ("mild", "moderate", "severe")
                    else None,
                }
            ]
            if item.reaction
            else None,
        }
    )


def condition(item: CriticalCondition, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "Condition",
            "identifier": [registry_identifier("core_record", "Condition", str(item.id))],
            "clinicalStatus": _status(
                "condition-clinical",
                item.clinical_status.value if item.clinical_status else None,
                {"active", "recurrence", "relapse", "inactive", "remission", "resolved"},
            ),
            "verificationStatus": _status(
                "condition-ver-status",
                item.verification.value if item.verification else None,
                _CONDITION_VERIFICATION,
            ),
            "category": [
                {
                    "coding": [
                        {
                            "system": f"{TERMINOLOGY}/condition-category",
                            "code": "problem-list-item",
                        }
                    ]
                }
            ],
            "code": concept(item.codings, item.description or _words(item.condition)),
            "subject": subject,
            "recordedDate": date_time(item.recorded_at),
            "recorder": person(item.recorded_by),
            "note": _note(item.note),
        }
    )


def procedure(item: Treatment, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "Procedure",
            "identifier": [registry_identifier("core_record", "Procedure", str(item.id))],
            "status": item.status if item.status in _EVENT_STATUSES else "unknown",
            "code": text_concept(item.description),
            "subject": subject,
            "performedPeriod": {"start": date_time(item.started)},
            "recorder": person(item.recorded_by),
            "note": _note(item.note),
        }
    )


def device(item: Implant, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "Device",
            "identifier": [registry_identifier("core_record", "Device", str(item.id))],
            "deviceName": [{"name": item.device, "type": "user-friendly-name"}]
            if item.device
            else None,
            "patient": subject,
        }
    )


def device_use(item: Implant, subject: Reference, implant: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "DeviceUseStatement",
            "identifier": [registry_identifier("core_record", "DeviceUseStatement", str(item.id))],
            "status": "active",
            "subject": subject,
            "timingDateTime": date_time(item.implanted_at),
            "device": implant,
            "note": _note(item.note),
        }
    )


def flag(item: ClinicalWarning, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "Flag",
            "identifier": [registry_identifier("core_record", "Flag", str(item.id))],
            "status": "active",
            "category": [text_concept(item.category)],
            "code": text_concept(item.description) or {"text": item.category or "Warning"},
            "subject": subject,
            "period": {"start": date_time(item.since)},
            "author": person(item.recorded_by),
        }
    )


# The patient's own registrations


def self_reported(item: SelfReportedCondition, subject: Reference) -> Resource:
    """A disease the patient reported: asserted by the patient, never verified by a clinician."""
    return compacted(
        {
            "resourceType": "Condition",
            "identifier": [registry_identifier("core_record", "Condition", str(item.id))],
            "verificationStatus": _status(
                "condition-ver-status", "unconfirmed", _CONDITION_VERIFICATION
            ),
            "code": text_concept(item.description),
            "subject": subject,
            "recordedDate": date_time(item.recorded_at),
            "asserter": subject,
        }
    )


def communication_need(item: CommunicationNeed, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "Flag",
            "identifier": [registry_identifier("core_record", "Flag", str(item.id))],
            "status": "active",
            "category": [{"text": "Communication need"}],
            "code": text_concept(item.description) or {"text": "Communication need"},
            "subject": subject,
            "period": {"start": date_time(item.since)},
            "author": subject,
        }
    )


# Medicines


def medication_concept(medication: Medication) -> dict[str, Any]:
    return concept(medication.codes, medication.name or medication.substance) or {
        "text": "Unnamed medicine"
    }


def medication_request(item: Prescription, subject: Reference) -> Resource:
    return compacted(
        {
            "resourceType": "MedicationRequest",
            "identifier": [registry_identifier("prescriptions", "MedicationRequest", str(item.id))],
            "status": _REQUEST_STATUSES[item.status],
            "statusReason": text_concept(item.withdrawal_reason),
            "intent": "order",
            "medicationCodeableConcept": medication_concept(item.medication),
            "subject": subject,
            "authoredOn": date_time(item.prescribed_at),
            "requester": person(item.prescriber),
            "dosageInstruction": [{"text": item.dosage}] if item.dosage else None,
            "dispenseRequest": {
                "validityPeriod": {
                    "start": date_time(item.valid_from),
                    "end": date_time(item.valid_until),
                }
            },
        }
    )


def medication_dispense(
    item: Dispensing, subject: Reference, prescription: Reference | None
) -> Resource:
    return compacted(
        {
            "resourceType": "MedicationDispense",
            "identifier": [
                registry_identifier("prescriptions", "MedicationDispense", str(item.id))
            ],
            "status": "completed",
            "medicationCodeableConcept": medication_concept(item.medication),
            "subject": subject,
            "performer": [
                {"actor": reference} for reference in map(party, item.dispensed_by) if reference
            ],
            "authorizingPrescription": [prescription] if prescription else None,
            "quantity": quantity(item.quantity),
            "whenHandedOver": date_time(item.dispensed_at),
            "dosageInstruction": [{"text": item.dosage}] if item.dosage else None,
        }
    )


def medication_statement(
    row: MedicationRow, subject: Reference, derived_from: list[Reference]
) -> Resource:
    """One row of the medication list: a medicine the patient has, with what it was built
    from. Active while a prescription is valid; stopped when every prescription of it was
    withdrawn; otherwise the registry cannot say (``unknown``)."""
    if row.active_prescriptions:
        status = "active"
    elif row.withdrawals and not row.dispensing_ids:
        status = "stopped"
    else:
        status = "unknown"
    return compacted(
        {
            "resourceType": "MedicationStatement",
            "extension": [
                {
                    "url": MEDICATION_FLAG,
                    "valueCoding": {"system": MEDICATION_FLAG_SYSTEM, "code": marker.name},
                }
                for marker in row.flags
            ],
            "status": status,
            "medicationCodeableConcept": medication_concept(row.medication),
            "subject": subject,
            "effectiveDateTime": date_time(
                row.last_dispensing.dispensed_at if row.last_dispensing else None
            ),
            "derivedFrom": derived_from,
            "dosage": [{"text": p.dosage} for p in row.active_prescriptions[:1] if p.dosage],
        }
    )


# Results


def _reference_range(value: ReferenceRange | None) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    return [compact({"low": quantity(value.low), "high": quantity(value.high), "text": value.text})]


def _interpretation(value: Interpretation | None, text: str | None) -> list[dict[str, Any]]:
    if value is None and not text:
        return []
    codes = _INTERPRETATION_CODES.get(value) if value is not None else None
    coding = (
        [
            {
                "system": f"{TERMINOLOGY}/v3-ObservationInterpretation",
                "code": codes[0],
                "display": codes[1],
            }
        ]
        if codes
        else []
    )
    return [compact({"coding": coding, "text": text})]


def _value(item: LabResult) -> dict[str, Any]:
    """The result's ``value[x]``: exactly one of the kinds, as the source gave it."""
    if item.value is not None:
        return {"valueQuantity": quantity(item.value)}
    if item.value_boolean is not None:
        return {"valueBoolean": item.value_boolean}
    if item.value_range is not None:
        return {
            "valueRange": compact(
                {"low": quantity(item.value_range.low), "high": quantity(item.value_range.high)}
            )
        }
    if item.value_ratio is not None:
        return {
            "valueRatio": compact(
                {
                    "numerator": quantity(item.value_ratio.numerator),
                    "denominator": quantity(item.value_ratio.denominator),
                }
            )
        }
    if item.value_text:
        return {"valueString": item.value_text}
    return {}


def observation(item: LabResult, subject: Reference) -> Resource:
    absent = {"dataAbsentReason": text_concept(item.data_absent_reason)}
    return compacted(
        {
            "resourceType": "Observation",
            "identifier": [registry_identifier("lab_results", "Observation", str(item.id))],
            "status": item.status if item.status in _OBSERVATION_STATUSES else "unknown",
            "category": [
                {
                    "coding": [
                        {
                            "system": f"{TERMINOLOGY}/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": _code(item.test) or {"text": "Unnamed test"},
            "subject": subject,
            "effectiveDateTime": date_time(item.effective_at),
            "performer": [p for p in map(party, item.performers) if p],
            **_value(item),
            **absent,
            "interpretation": _interpretation(item.interpretation, item.interpretation_text),
            "referenceRange": _reference_range(item.reference_range),
            "component": [
                compact(
                    {
                        "code": _code(part.test) or {"text": "Unnamed part"},
                        **(
                            {"valueQuantity": quantity(part.value)}
                            if part.value is not None
                            else {"valueString": part.value_text}
                        ),
                        "interpretation": _interpretation(
                            part.interpretation, part.interpretation_text
                        ),
                        "referenceRange": _reference_range(part.reference_range),
                    }
                )
                for part in item.components
            ],
        }
    )


def diagnostic_report(item: LabReport, subject: Reference, results: list[Reference]) -> Resource:
    performers = [organisation(item.laboratory), *map(party, item.performers)]
    return compacted(
        {
            "resourceType": "DiagnosticReport",
            "identifier": [registry_identifier("lab_results", "DiagnosticReport", str(item.id))],
            "status": item.status if item.status in _REPORT_STATUSES else "unknown",
            "category": [
                {"coding": [{"system": f"{TERMINOLOGY}/v2-0074", "code": "LAB"}]},
            ],
            "code": _code(item.test) or {"text": "Unnamed report"},
            "subject": subject,
            "effectiveDateTime": date_time(item.effective_at),
            "issued": instant(item.issued_at),
            "performer": [p for p in performers if p],
            "result": results,
            "conclusion": item.conclusion,
        }
    )


# Visits and documents


def encounter(item: Visit, subject: Reference) -> Resource:
    klass = _ENCOUNTER_CLASSES.get(item.kind)
    return compacted(
        {
            "resourceType": "Encounter",
            "identifier": [registry_identifier("visit_history", "Encounter", str(item.id))],
            "extension": [{"url": REPORTED_AS_WRONG, "valueBoolean": True}]
            if item.reported_as_wrong
            else None,
            "status": "finished" if item.end is not None else "in-progress",
            # Encounter.class is required: a kind the registry did not name is said so.
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": klass[0],
                "display": klass[1],
            }
            if klass
            else {
                "system": "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
                "code": "UNK",
                "display": "unknown",
            },
            "serviceType": text_concept(item.department),
            "subject": subject,
            "period": {"start": date_time(item.start), "end": date_time(item.end)},
            "serviceProvider": organisation(item.institution),
        }
    )


def document_reference(item: Document, subject: Reference) -> Resource:
    """A document's metadata. Its content is not in the summary: opening it is a separate,
    separately logged read (GraphQL ``document(id)``, with the id in ``identifier``)."""
    return compacted(
        {
            "resourceType": "DocumentReference",
            "identifier": [registry_identifier("documents", "DocumentReference", str(item.id))],
            "status": item.status.name.lower(),
            "docStatus": item.doc_status.name.lower() if item.doc_status else None,
            "type": text_concept(item.type_display),
            "subject": subject,
            "date": instant(item.date),
            "author": [p for p in map(party, item.authors) if p],
            "custodian": {"display": item.custodian} if item.custodian else None,
            "description": item.title,
            "content": [
                {
                    "attachment": compact(
                        {
                            "contentType": item.content_type,
                            "size": item.size_bytes,
                            "title": item.title,
                        }
                    )
                    # Attachment may not be empty: a document with nothing known says so.
                    or {"title": "Untitled document"}
                }
            ],
        }
    )
