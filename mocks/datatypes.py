"""FHIR datatypes, code systems and the fixed clock the synthetic data is dated against.

Every date in the mocks is computed from ``REFERENCE_DATE``, never from today, so the same seed
gives byte-identical resources on every run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

Resource: TypeAlias = dict[str, Any]
"""A FHIR resource (or datatype) as JSON: the mocks are a FHIR server and speak plain JSON."""

OSLO = ZoneInfo("Europe/Oslo")
REFERENCE_DATE = dt.date(2026, 11, 1)
REFERENCE_TIME = dt.datetime(2026, 11, 1, 8, 0, tzinfo=OSLO)

OID_HPR = "urn:oid:2.16.578.1.12.4.1.4.4"
OID_ORGANISATION = "urn:oid:2.16.578.1.12.4.1.4.101"

SYSTEM_ATC = "http://www.whocc.no/atc"
SYSTEM_LOINC = "http://loinc.org"
SYSTEM_ICD10 = "http://hl7.org/fhir/sid/icd-10"
SYSTEM_SNOMED = "http://snomed.info/sct"
SYSTEM_BCP47 = "urn:ietf:bcp:47"
SYSTEM_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
SYSTEM_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
SYSTEM_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
SYSTEM_CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
SYSTEM_US_CORE_CONDITION_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
SYSTEM_CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
SYSTEM_CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
SYSTEM_ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
SYSTEM_ALLERGY_VERIFICATION = (
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
)
SYSTEM_DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
SYSTEM_CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
SYSTEM_PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
SYSTEM_CRITICAL_INFO = "https://summary-gateway.example/fhir/CodeSystem/critical-info-category"
CRITICAL_INFORMATION = "critical-information"
"""The core record's marker of critical information (a ``SYSTEM_CRITICAL_INFO`` category coding)
on the Conditions, Procedures and Flags clinicians registered as such (docs/fhir-profile.md)."""
SYSTEM_PRIVACY = "https://summary-gateway.example/fhir/CodeSystem/privacy"

EXT_STATUS_CHANGED = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationRequest.statusChanged"
)
EXT_REPORTED_AS_WRONG = "https://summary-gateway.example/fhir/StructureDefinition/reported-as-wrong"
EXT_MUNICIPALITY_CODE = "https://summary-gateway.example/fhir/StructureDefinition/municipality-code"
EXT_INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"


def at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    """``day`` at a wall-clock time in Norway."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)


def instant(moment: dt.datetime) -> str:
    """A FHIR ``instant``/``dateTime`` with seconds and the Norwegian offset of that day."""
    return moment.astimezone(OSLO).isoformat(timespec="seconds")


def fhir_date(day: dt.date) -> str:
    """A FHIR ``date``."""
    return day.isoformat()


def coding(system: str, code: str, display: str | None = None) -> Resource:
    """A ``Coding``."""
    result: Resource = {"system": system, "code": code}
    if display is not None:
        result["display"] = display
    return result


def concept(
    system: str, code: str, display: str | None = None, text: str | None = None
) -> Resource:
    """A ``CodeableConcept`` with one coding."""
    result: Resource = {"coding": [coding(system, code, display)]}
    if text is not None:
        result["text"] = text
    return result


def text_concept(text: str) -> Resource:
    """A ``CodeableConcept`` that is text only."""
    return {"text": text}


def identifier_reference(system: str, value: str, display: str | None = None) -> Resource:
    """A ``Reference`` by business identifier, as registries that share no ids refer to things."""
    result: Resource = {"identifier": {"system": system, "value": value}}
    if display is not None:
        result["display"] = display
    return result


def hpr_reference(hpr_number: str, display: str) -> Resource:
    """A health professional, by HPR number."""
    return identifier_reference(OID_HPR, hpr_number, display)


def organisation_reference(org_number: str, display: str) -> Resource:
    """An organisation, by organisation number."""
    return identifier_reference(OID_ORGANISATION, org_number, display)


def quantity(value: float, unit: str) -> Resource:
    """A ``Quantity``; whole numbers stay integers so the JSON reads naturally."""
    number: float | int = int(value) if float(value).is_integer() else value
    return {"value": number, "unit": unit}
