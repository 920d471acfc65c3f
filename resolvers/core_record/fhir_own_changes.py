"""The FHIR shapes of the patient's own registrations and privacy settings (next of kin,
communication needs, self-reported diseases, restrictions and blocks), built from typed values.
Raw JSON lives here, in ``fhir_changes.py`` and in ``writer.py``; nothing else sees it."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from gateway.access.hpr import canonical_hpr
from gateway.identity import NationalIdentityNumber
from resolvers.common import HPR_SYSTEM
from resolvers.core_record import fhir_changes as fhir
from resolvers.core_record.critical_information import CATEGORY_SYSTEM
from resolvers.core_record.fhir_changes import (
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    CONSENT_SCOPE,
    HEALTH_CONCERN,
    NEED_SYSTEM,
    ROLE_SYSTEM,
    Resource,
    asserted_by_patient,
    is_entered_in_error,
    now,
    subject,
)
from resolvers.core_record.privacy import PRIVACY_SYSTEM


def next_of_kin(
    nin: NationalIdentityNumber, given: str, family: str, relation: tuple[str, str], phone: str
) -> Resource:
    """A new next of kin (RelatedPerson)."""
    return {
        "resourceType": "RelatedPerson",
        "active": True,
        "patient": subject(nin),
        "relationship": [fhir.concept(ROLE_SYSTEM, *relation)],
        "name": [{"family": family, "given": [given]}],
        "telecom": [{"system": "phone", "value": phone}],
    }


def changed_next_of_kin(
    current: Mapping[str, Any], given: str, family: str, relation: tuple[str, str], phone: str
) -> Resource:
    """``current`` with a new name, relation and phone."""
    resource: Resource = copy.deepcopy(dict(current))
    resource["relationship"] = [fhir.concept(ROLE_SYSTEM, *relation)]
    resource["name"] = [{"family": family, "given": [given]}]
    resource["telecom"] = [{"system": "phone", "value": phone}]
    return resource


def deactivated(current: Mapping[str, Any]) -> Resource:
    """A next of kin (``active``) or a communication need (``status``) the patient removed."""
    resource: Resource = copy.deepcopy(dict(current))
    if resource["resourceType"] == "RelatedPerson":
        resource["active"] = False
    else:
        resource["status"] = "inactive"
    return resource


def communication_need(
    nin: NationalIdentityNumber, patient_id: str | None, need: str, description: str
) -> Resource:
    """A new communication need (Flag, authored by the patient)."""
    author = {"reference": f"Patient/{patient_id}"} if patient_id else subject(nin)
    return {
        "resourceType": "Flag",
        "status": "active",
        "category": [fhir.concept(CATEGORY_SYSTEM, "communication-need")],
        "code": {**fhir.concept(NEED_SYSTEM, need), "text": description},
        "subject": subject(nin),
        "period": {"start": now()},
        "author": author,
    }


def self_reported_condition(
    nin: NationalIdentityNumber, patient_id: str | None, description: str
) -> Resource:
    """A new self-reported disease (Condition asserted by the patient)."""
    return {
        "resourceType": "Condition",
        "clinicalStatus": fhir.concept(CONDITION_CLINICAL, "active"),
        "category": [fhir.concept(HEALTH_CONCERN, "health-concern", "Health Concern")],
        "code": {"text": description},
        "subject": subject(nin),
        "recordedDate": now(),
        "asserter": {"reference": f"Patient/{patient_id or ''}"},
    }


def consent(
    nin: NationalIdentityNumber,
    kind: str,  # restriction or block
    sections: tuple[str, ...] = (),
    hpr_numbers: tuple[str, ...] = (),
) -> Resource:
    """A new privacy setting (Consent): a restriction of sections or a block of HPR numbers."""
    resource: Resource = {
        "resourceType": "Consent",
        "status": "active",
        "scope": fhir.concept(CONSENT_SCOPE, "patient-privacy", "Privacy Consent"),
        "category": [fhir.concept(PRIVACY_SYSTEM, kind)],
        "patient": subject(nin),
        "dateTime": now(),
        "policyRule": {"text": f"Kjernejournalforskriften: {kind}"},
    }
    if kind == "restriction":
        resource["provision"] = {
            "type": "deny",
            "code": [fhir.concept(PRIVACY_SYSTEM, section) for section in sections],
        }
    else:
        resource["provision"] = {
            "type": "deny",
            "actor": [
                {
                    "role": fhir.concept(
                        "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PRCP"
                    ),
                    "reference": {"identifier": {"system": HPR_SYSTEM, "value": number}},
                }
                for number in hpr_numbers
            ],
        }
    return resource


def _privacy_kind(consent: Mapping[str, Any]) -> str | None:
    for concept in consent.get("category") or ():
        for coding in concept.get("coding") or ():
            if coding.get("system") == PRIVACY_SYSTEM:
                code = coding.get("code")
                return code if isinstance(code, str) else None
    return None


def opened(
    consent: Mapping[str, Any], sections: frozenset[str], every_section: frozenset[str]
) -> Resource | None:
    """An active restriction with ``sections`` taken out of it (inactive when none is left);
    None when it restricts none of them. A restriction naming no section restricts them all."""
    if consent.get("status") != "active" or _privacy_kind(consent) != "restriction":
        return None
    provision = consent.get("provision") or {}
    named = {code for code in map(fhir.code_of, provision.get("code") or ()) if code is not None}
    # As the reader does (privacy.py): unless every code names a section, all are restricted.
    restricted = named if named and named <= every_section else every_section
    if not restricted & sections:
        return None
    left = sorted(restricted - sections)
    resource: Resource = copy.deepcopy(dict(consent))
    if left:
        resource["provision"] = {
            **provision,
            "code": [fhir.concept(PRIVACY_SYSTEM, section) for section in left],
        }
    else:
        resource["status"] = "inactive"
    return resource


def unblocked(consent: Mapping[str, Any], hpr_number: str) -> Resource | None:
    """An active block without ``hpr_number`` (inactive when nobody is left blocked in it);
    None when it does not block that number."""
    if consent.get("status") != "active" or _privacy_kind(consent) != "block":
        return None
    provision = consent.get("provision") or {}
    actors = list(provision.get("actor") or ())

    def blocks(actor: Mapping[str, Any]) -> bool:
        identifier = (actor.get("reference") or {}).get("identifier") or {}
        value = identifier.get("value")
        # Compared in the one spelling: a block another system wrote as 09144901 is lifted too.
        spelled = canonical_hpr(value) if isinstance(value, str) else None
        return identifier.get("system") == HPR_SYSTEM and spelled == hpr_number

    left = [actor for actor in actors if not blocks(actor)]
    if len(left) == len(actors):
        return None
    resource: Resource = copy.deepcopy(dict(consent))
    if left:
        resource["provision"] = {**provision, "actor": left}
    else:
        resource["status"] = "inactive"
    return resource


def counts_as_self_reported(resource: Mapping[str, Any]) -> bool:
    """A self-reported disease still registered (not removed)."""
    return (
        resource.get("resourceType") == "Condition"
        and asserted_by_patient(resource)
        and not is_entered_in_error(resource)
    )


def removed_self_reported(current: Mapping[str, Any]) -> Resource:
    """A self-reported disease the patient removed: entered in error, kept in the record."""
    resource: Resource = copy.deepcopy(dict(current))
    resource["verificationStatus"] = fhir.concept(CONDITION_VERIFICATION, "entered-in-error")
    resource.pop("clinicalStatus", None)
    return resource
