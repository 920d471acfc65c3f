"""Resources of the core record (kjernejournal) itself, shaped as docs/fhir-profile.md.

The patient, critical information recorded by clinicians, the patient's own registrations, and the
privacy settings (consents) the gateway enforces.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from mocks.clinical_codes import AllergyAgent, Diagnosis, Language, Relation
from mocks.datatypes import (
    CRITICAL_INFORMATION,
    EXT_INTERPRETER_REQUIRED,
    EXT_MUNICIPALITY_CODE,
    OID_HPR,
    REFERENCE_TIME,
    SYSTEM_ALLERGY_CLINICAL,
    SYSTEM_ALLERGY_VERIFICATION,
    SYSTEM_ATC,
    SYSTEM_BCP47,
    SYSTEM_CONDITION_CATEGORY,
    SYSTEM_CONDITION_CLINICAL,
    SYSTEM_CONDITION_VERIFICATION,
    SYSTEM_CONSENT_SCOPE,
    SYSTEM_CRITICAL_INFO,
    SYSTEM_ICD10,
    SYSTEM_PARTICIPATION_TYPE,
    SYSTEM_PRIVACY,
    SYSTEM_ROLE_CODE,
    SYSTEM_US_CORE_CONDITION_CATEGORY,
    Resource,
    at,
    coding,
    concept,
    fhir_date,
    hpr_reference,
    instant,
    text_concept,
)
from mocks.record import RecordBuilder
from mocks.vocabulary import Clinician, Municipality

POPULATION_REGISTER_UPDATE = dt.date(2025, 1, 6)

PRIVACY_SECTIONS = (
    "criticalInformation",
    "medications",
    "documents",
    "labResults",
    "visitHistory",
    "ownRegistrations",
    "generalPractitioner",
)


@dataclass(frozen=True, slots=True)
class Person:
    """Who the patient is, as the population register knows them."""

    given: tuple[str, ...]
    family: str
    gender: str
    birth_date: dt.date
    municipality: Municipality
    deceased: dt.datetime | None = None
    language: Language | None = None
    interpreter_required: bool | None = None


def add_patient(builder: RecordBuilder, person: Person) -> Resource:
    """The Patient resource, identified by the number the record was built for."""
    body: Resource = {
        "identifier": [{"system": builder.system, "value": builder.nin}],
        "name": [{"use": "official", "family": person.family, "given": list(person.given)}],
        "gender": person.gender,
        "birthDate": fhir_date(person.birth_date),
        "address": [
            {
                "extension": [
                    {"url": EXT_MUNICIPALITY_CODE, "valueString": person.municipality.number}
                ],
                "use": "home",
                "district": person.municipality.name,
                "city": person.municipality.city,
                "postalCode": person.municipality.postal_code,
            }
        ],
    }
    if person.deceased is not None:
        body["deceasedDateTime"] = instant(person.deceased)
    if person.language is not None:
        language = person.language
        body["communication"] = [
            {
                "language": {"coding": [coding(SYSTEM_BCP47, language.code, language.display)]},
                "preferred": True,
            }
        ]
    if person.interpreter_required is not None:
        body["extension"] = [
            {"url": EXT_INTERPRETER_REQUIRED, "valueBoolean": person.interpreter_required}
        ]
    registered = at(max(person.birth_date + dt.timedelta(days=3), POPULATION_REGISTER_UPDATE))
    updated = person.deceased or min(registered, REFERENCE_TIME - dt.timedelta(hours=1))
    return builder.add("Patient", "pat", updated, body)


def add_allergy(
    builder: RecordBuilder,
    agent: AllergyAgent,
    recorded: dt.datetime,
    recorder: Clinician,
    criticality: str,
    *,
    reaction: tuple[str, str],
    verification: str = "confirmed",
    clinical_status: str = "active",
    allergy_type: str = "allergy",
) -> Resource:
    """A drug reaction or other allergy; ``reaction`` is (manifestation, severity)."""
    code = (
        concept(SYSTEM_ATC, agent.atc, agent.text, text=agent.text)
        if agent.atc
        else text_concept(agent.text)
    )
    body: Resource = {
        "clinicalStatus": concept(SYSTEM_ALLERGY_CLINICAL, clinical_status),
        "verificationStatus": concept(SYSTEM_ALLERGY_VERIFICATION, verification),
        "type": allergy_type,
        "category": [agent.category],
        "criticality": criticality,
        "code": code,
        "patient": builder.subject(),
        "recordedDate": instant(recorded),
        "recorder": hpr_reference(recorder.hpr_number, recorder.display),
        "reaction": [{"manifestation": [text_concept(reaction[0])], "severity": reaction[1]}],
    }
    return builder.add("AllergyIntolerance", "alg", recorded, body)


def add_critical_condition(
    builder: RecordBuilder,
    diagnosis: Diagnosis,
    recorded: dt.datetime,
    recorder: Clinician,
    verification: str = "confirmed",
) -> Resource:
    """A critical medical condition recorded by a clinician (ICD-10)."""
    body: Resource = {
        "clinicalStatus": concept(SYSTEM_CONDITION_CLINICAL, "active"),
        "verificationStatus": concept(SYSTEM_CONDITION_VERIFICATION, verification),
        "category": [
            concept(SYSTEM_CONDITION_CATEGORY, "problem-list-item", "Problem List Item"),
            concept(SYSTEM_CRITICAL_INFO, CRITICAL_INFORMATION, "Critical information"),
        ],
        "code": concept(SYSTEM_ICD10, diagnosis.icd10, diagnosis.display),
        "subject": builder.subject(),
        "recordedDate": instant(recorded),
        "recorder": hpr_reference(recorder.hpr_number, recorder.display),
        "note": [{"text": diagnosis.note}],
    }
    return builder.add("Condition", "cond", recorded, body)


def add_self_reported_condition(
    builder: RecordBuilder, category: str, recorded: dt.datetime
) -> Resource:
    """A disease the patient registered on the citizen portal, in one of the fixed categories."""
    body: Resource = {
        "clinicalStatus": concept(SYSTEM_CONDITION_CLINICAL, "active"),
        "category": [
            concept(SYSTEM_US_CORE_CONDITION_CATEGORY, "health-concern", "Health Concern")
        ],
        "code": text_concept(category),
        "subject": builder.subject(),
        "recordedDate": instant(recorded),
        "asserter": builder.patient_reference(),
    }
    return builder.add("Condition", "cond", recorded, body)


def add_procedure(
    builder: RecordBuilder,
    category: str,
    text: str,
    *,
    note: str,
    start: dt.datetime,
    recorder: Clinician,
    status: str = "in-progress",
) -> Resource:
    """Ongoing treatment (``ongoing-treatment``) or a change after a procedure."""
    body: Resource = {
        "status": status,
        # R4 gives a Procedure one category: the kind, and the marker as a second coding.
        "category": {
            "coding": [
                coding(SYSTEM_CRITICAL_INFO, category),
                coding(SYSTEM_CRITICAL_INFO, CRITICAL_INFORMATION, "Critical information"),
            ]
        },
        "code": text_concept(text),
        "subject": builder.subject(),
        "performedPeriod": {"start": instant(start)},
        "recorder": hpr_reference(recorder.hpr_number, recorder.display),
        "note": [{"text": note}],
    }
    return builder.add("Procedure", "proc", start, body)


def add_implant(builder: RecordBuilder, device: str, note: str, implanted: dt.datetime) -> Resource:
    """An implant, named in ``device.display`` (R4 has no ``deviceCodeableConcept``)."""
    body: Resource = {
        "status": "active",
        "subject": builder.subject(),
        "device": {"display": device},
        "timingDateTime": instant(implanted),
        "note": [{"text": note}],
    }
    return builder.add("DeviceUseStatement", "dev", implanted, body)


def add_flag(
    builder: RecordBuilder,
    category: str,
    text: str,
    start: dt.datetime,
    author: Clinician | None,
) -> Resource:
    """Critical information (clinician as author, marked as such) or a communication need
    (``author`` None)."""
    categories = [concept(SYSTEM_CRITICAL_INFO, category)]
    if author is not None:
        categories.append(
            concept(SYSTEM_CRITICAL_INFO, CRITICAL_INFORMATION, "Critical information")
        )
    body: Resource = {
        "status": "active",
        "category": categories,
        "code": text_concept(text),
        "subject": builder.subject(),
        "period": {"start": instant(start)},
        "author": (
            hpr_reference(author.hpr_number, author.display)
            if author is not None
            else builder.patient_reference()
        ),
    }
    return builder.add("Flag", "flag", start, body)


def add_related_person(
    builder: RecordBuilder,
    relation: Relation,
    given: str,
    family: str,
    *,
    phone: str,
    registered: dt.datetime,
) -> Resource:
    """A next of kin the patient registered."""
    body: Resource = {
        "active": True,
        "patient": builder.subject(),
        "relationship": [concept(SYSTEM_ROLE_CODE, relation.code, relation.display)],
        "name": [{"family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone}],
    }
    return builder.add("RelatedPerson", "rel", registered, body)


def add_consent(
    builder: RecordBuilder,
    category: str,
    when: dt.datetime,
    sections: Sequence[str] = (),
    blocked_hpr_numbers: Sequence[str] = (),
) -> Resource:
    """A privacy setting: ``reservation``, ``restriction`` of sections, or ``block`` of HPRs."""
    body: Resource = {
        "status": "active",
        "scope": concept(SYSTEM_CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [concept(SYSTEM_PRIVACY, category)],
        "patient": builder.subject(),
        "dateTime": instant(when),
        "policyRule": text_concept(f"Kjernejournalforskriften: {category}"),
    }
    if category == "restriction":
        body["provision"] = {
            "type": "deny",
            "code": [concept(SYSTEM_PRIVACY, section) for section in sections],
        }
    elif category == "block":
        body["provision"] = {
            "type": "deny",
            "actor": [
                {
                    "role": concept(
                        SYSTEM_PARTICIPATION_TYPE, "PRCP", "primary information recipient"
                    ),
                    "reference": {"identifier": {"system": OID_HPR, "value": number}},
                }
                for number in blocked_hpr_numbers
            ],
        }
    return builder.add("Consent", "cons", when, body)
