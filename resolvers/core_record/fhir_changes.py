"""The FHIR shapes of every change the gateway writes to the core record, built from typed
values. Raw JSON lives here and in ``writer.py``; nothing else sees it (docs/fhir-profile.md).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from gateway.access.actor import Actor
from gateway.identity import NationalIdentityNumber
from resolvers.common import ATC_SYSTEM, HPR_SYSTEM, ICD10_SYSTEM
from resolvers.core_record.critical_information import CATEGORY_SYSTEM, CRITICAL_INFORMATION

Resource = dict[str, Any]

TREATMENT_SYSTEM = "https://summary-gateway.example/fhir/CodeSystem/ongoing-treatment"
NEED_SYSTEM = "https://summary-gateway.example/fhir/CodeSystem/communication-need"
IDEMPOTENCY_SYSTEM = "https://summary-gateway.example/fhir/NamingSystem/idempotency-key"
CHANGE_KEY = "https://summary-gateway.example/fhir/StructureDefinition/change-key"
FINGERPRINT = "https://summary-gateway.example/fhir/StructureDefinition/change-fingerprint"
RETIRED = "https://summary-gateway.example/fhir/StructureDefinition/retired"
ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
HEALTH_CONCERN = "http://hl7.org/fhir/us/core/CodeSystem/condition-category"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"

# The ongoing treatments' names as the record writes them; older entries carry only the text.
TREATMENT_NAMES = {
    "dialysis": "Dialyse",
    "cytostatics": "Cytostatikabehandling",
    "radiotherapy": "Strålebehandling",
    "transplant-list": "Står på transplantasjonsliste",
    "other": "Annen pågående behandling",
}
_TREATMENT_BY_NAME = {name: code for code, name in TREATMENT_NAMES.items()}


class ChangeKey(NamedTuple):
    """An idempotency key as the registry stores it, with the fingerprint of the change made
    under it (``change_types.key_of``): a retry of that change is a replay, another change
    under the same key is refused."""

    key: str
    fingerprint: str


def concept(system: str, code: str, display: str | None = None) -> Resource:
    coding: Resource = {"system": system, "code": code}
    if display is not None:
        coding["display"] = display
    return {"coding": [coding]}


def _instant(moment: dt.datetime | dt.date) -> str:
    if isinstance(moment, dt.datetime):
        return moment.astimezone(dt.UTC).isoformat(timespec="seconds")
    return moment.isoformat()


def now() -> str:
    """Now, as a FHIR instant."""
    return _instant(dt.datetime.now(dt.UTC))


def subject(nin: NationalIdentityNumber) -> Resource:
    """The patient, by identity number, as the core record refers to patients."""
    return {"identifier": {"system": nin.fhir_system, "value": nin.value}}


def recorder(actor: Actor) -> Resource:
    """The health professional writing, by HPR number."""
    return {
        "identifier": {"system": HPR_SYSTEM, "value": actor.hpr_number or ""},
        "display": actor.name or "",
    }


def with_key(resource: Resource, key: ChangeKey | None, *, create: bool) -> Resource:
    """Stamp the change's idempotency key and the fingerprint of the change made under it: an
    identifier (found again by a conditional create) and an extension on a new resource, two
    extensions naming the last change on an updated one. An update always drops the previous
    change's key: a version made without a key must not pass for the replay of an older change."""
    others = [
        e for e in resource.get("extension") or () if e.get("url") not in (CHANGE_KEY, FINGERPRINT)
    ]
    if key is not None:
        if create:
            identifiers = resource.setdefault("identifier", [])
            identifiers.append({"system": IDEMPOTENCY_SYSTEM, "value": key.key})
        else:
            others.append({"url": CHANGE_KEY, "valueString": key.key})
        others.append({"url": FINGERPRINT, "valueString": key.fingerprint})
    if others:
        resource["extension"] = others
    else:
        resource.pop("extension", None)
    return resource


def _extension_string(resource: Mapping[str, Any], url: str) -> str | None:
    for extension in resource.get("extension") or ():
        if extension.get("url") == url:
            value = extension.get("valueString")
            return value if isinstance(value, str) else None
    return None


def last_change_key(resource: Mapping[str, Any]) -> str | None:
    """The idempotency key of the change that made this version."""
    return _extension_string(resource, CHANGE_KEY)


def change_fingerprint(resource: Mapping[str, Any]) -> str | None:
    """The fingerprint of the keyed change that made this version (None: made without a key,
    or before fingerprints were kept)."""
    return _extension_string(resource, FINGERPRINT)


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """The identity number a core-record resource belongs to."""
    for name in ("patient", "subject"):
        reference = resource.get(name)
        if isinstance(reference, Mapping):
            identifier = reference.get("identifier")
            if isinstance(identifier, Mapping) and isinstance(identifier.get("value"), str):
                return str(identifier["value"])
    return None


def code_of(concept: Any) -> str | None:
    if not isinstance(concept, Mapping):
        return None
    coding = (concept.get("coding") or [{}])[0]
    code = coding.get("code") if isinstance(coding, Mapping) else None
    return code if isinstance(code, str) else None


def category(resource: Mapping[str, Any]) -> str | None:
    """A Procedure's or Flag's critical-information category code."""
    value = resource.get("category")
    return code_of(value[0] if isinstance(value, list) and value else value)


def treatment_type(resource: Mapping[str, Any]) -> str | None:
    """An ongoing treatment's type (dialysis, cytostatics…), by code or by its written name."""
    coded = code_of(resource.get("code"))
    if coded in TREATMENT_NAMES:
        return coded
    written = (resource.get("code") or {}).get("text")
    return _TREATMENT_BY_NAME.get(written) if isinstance(written, str) else None


def asserted_by_patient(resource: Mapping[str, Any]) -> bool:
    """A Condition the patient registered (its asserter is the Patient)."""
    reference = (resource.get("asserter") or {}).get("reference")
    return isinstance(reference, str) and reference.startswith("Patient/")


# Critical information -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AllergyFields:
    """A drug reaction or other allergy, as the writer gives it."""

    agent: str
    atc_code: str | None
    category: str  # medication, food, environment, biologic
    reaction: str
    severity: str | None  # mild, moderate, severe
    criticality: str  # low, high, unable-to-assess
    verification: str  # confirmed, unconfirmed, presumed


def allergy(nin: NationalIdentityNumber, actor: Actor, fields: AllergyFields) -> Resource:
    """A new AllergyIntolerance."""
    code = (
        {**concept(ATC_SYSTEM, fields.atc_code, fields.agent), "text": fields.agent}
        if fields.atc_code
        else {"text": fields.agent}
    )
    reaction: Resource = {"manifestation": [{"text": fields.reaction}]}
    if fields.severity:
        reaction["severity"] = fields.severity
    return {
        "resourceType": "AllergyIntolerance",
        "clinicalStatus": concept(ALLERGY_CLINICAL, "active"),
        "verificationStatus": concept(ALLERGY_VERIFICATION, fields.verification),
        "type": "allergy",
        "category": [fields.category],
        "criticality": fields.criticality,
        "code": code,
        "patient": subject(nin),
        "recordedDate": now(),
        "recorder": recorder(actor),
        "reaction": [reaction],
    }


def critical_condition(
    nin: NationalIdentityNumber, actor: Actor, icd10: str, display: str, note: str
) -> Resource:
    """A new critical condition (a clinician's Condition, ICD-10)."""
    return {
        "resourceType": "Condition",
        "clinicalStatus": concept(CONDITION_CLINICAL, "active"),
        "verificationStatus": concept(CONDITION_VERIFICATION, "confirmed"),
        "category": [
            concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item"),
            concept(CATEGORY_SYSTEM, CRITICAL_INFORMATION),
        ],
        "code": concept(ICD10_SYSTEM, icd10, display),
        "subject": subject(nin),
        "recordedDate": now(),
        "recorder": recorder(actor),
        "note": [{"text": note}],
    }


def procedure(  # noqa: PLR0917 - one of each part of a Procedure
    nin: NationalIdentityNumber,
    actor: Actor,
    kind: str,  # ongoing-treatment or procedure-change
    code: Resource,
    note: str,
    started: dt.date,
) -> Resource:
    """A new ongoing treatment or procedure change."""
    return {
        "resourceType": "Procedure",
        "status": "in-progress" if kind == "ongoing-treatment" else "completed",
        # The kind, and the marker as a second coding (R4 gives a Procedure one category).
        "category": {
            "coding": [
                {"system": CATEGORY_SYSTEM, "code": kind},
                {"system": CATEGORY_SYSTEM, "code": CRITICAL_INFORMATION},
            ]
        },
        "code": code,
        "subject": subject(nin),
        "performedPeriod": {"start": _instant(started)},
        "recorder": recorder(actor),
        "note": [{"text": note}],
    }


def treatment_code(treatment: str, description: str | None) -> Resource:
    """An ongoing treatment's code: the type, and its name (or the writer's words)."""
    return {
        **concept(TREATMENT_SYSTEM, treatment, TREATMENT_NAMES[treatment]),
        "text": description or TREATMENT_NAMES[treatment],
    }


def implant(nin: NationalIdentityNumber, device: str, note: str, implanted: dt.date) -> Resource:
    """A new implant (DeviceUseStatement)."""
    return {
        "resourceType": "DeviceUseStatement",
        "status": "active",
        "subject": subject(nin),
        "device": {"display": device},
        "timingDateTime": _instant(implanted),
        "note": [{"text": note}],
    }


@dataclass(frozen=True, slots=True)
class CriticalUpdate:
    """What an update may change; None leaves a field as it is."""

    note: str | None = None
    criticality: str | None = None
    verification: str | None = None
    reaction: str | None = None
    severity: str | None = None
    status: str | None = None  # a treatment's: in-progress, completed, stopped


def updated(current: Mapping[str, Any], change: CriticalUpdate) -> Resource:
    """``current`` with ``change`` applied (the caller has checked what applies to the kind)."""
    resource: Resource = copy.deepcopy(dict(current))
    if change.note is not None:
        resource["note"] = [{"text": change.note}]
    if change.criticality is not None:
        resource["criticality"] = change.criticality
    if change.verification is not None:
        system = ALLERGY_VERIFICATION
        if resource["resourceType"] == "Condition":
            system = CONDITION_VERIFICATION
        resource["verificationStatus"] = concept(system, change.verification)
    if change.reaction is not None or change.severity is not None:
        reaction = dict((resource.get("reaction") or [{}])[0])
        if change.reaction is not None:
            reaction["manifestation"] = [{"text": change.reaction}]
        if change.severity is not None:
            reaction["severity"] = change.severity
        resource["reaction"] = [reaction]
    if change.status is not None:
        resource["status"] = change.status
    return resource


def retired(current: Mapping[str, Any], reason: str, explanation: str) -> Resource:
    """``current`` retired as ``entered-in-error`` or ``refuted``, with the reason; the entry
    stays in the record (nothing is deleted)."""
    resource: Resource = copy.deepcopy(dict(current))
    resource_type = resource["resourceType"]
    if resource_type in ("AllergyIntolerance", "Condition"):
        system = (
            ALLERGY_VERIFICATION
            if resource_type == "AllergyIntolerance"
            else (CONDITION_VERIFICATION)
        )
        resource["verificationStatus"] = concept(system, reason)
        if reason == "entered-in-error":
            # FHIR: an entry entered in error has no clinical status.
            resource.pop("clinicalStatus", None)
    elif reason == "entered-in-error":
        resource["status"] = "entered-in-error"
    else:
        resource["status"] = "not-done" if resource_type == "Procedure" else "stopped"
    others = [e for e in resource.get("extension") or () if e.get("url") != RETIRED]
    resource["extension"] = [
        *others,
        {
            "url": RETIRED,
            "valueCodeableConcept": {**concept(RETIRED, reason), "text": explanation},
        },
    ]
    return resource


def is_entered_in_error(resource: Mapping[str, Any]) -> bool:
    """A retired entry that was never true: readers leave it out (it stays in the record)."""
    if resource.get("status") == "entered-in-error":
        return True
    return code_of(resource.get("verificationStatus")) == "entered-in-error"
