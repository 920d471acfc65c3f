"""Which Patient a registry's answer must belong to, and the check that it does.

A standard FHIR R4 registry refers to patients by its own ids (``subject: {reference:
"Patient/123"}``), not by identity number. So before searching a registry the gateway *binds* the
identity number to that registry's Patient id(s) (``Patient?identifier=<system>|<nin>``) and
searches by reference (``subject=Patient/123``). Two older ways stay available per source:
the chained search ``subject:Patient.identifier=<system>|<nin>``, and the ``:identifier``
modifier (``subject:identifier=…``), which in R4 matches only an identifier written *inside*
the reference and so suits only registries known to write the number there.

Whatever the way, every resource that comes back is checked against the binding (``owned_by``):
its subject/patient must be one of the bound Patients, or carry the identity number. Anything
else is another patient's data, and the search fails with SOURCE_WRONG_PATIENT.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import SourceAmbiguousPatient

Resource = Mapping[str, Any]

request_bindings: contextvars.ContextVar[
    dict[tuple[str, str], asyncio.Future[PatientBinding]] | None
] = contextvars.ContextVar("request_bindings", default=None)
"""This request's bindings, by source and identity number (``gateway/upstream/fan_out.py`` sets
it): each source binds a patient once per request, however many searches need it and whatever
the cache."""


class BindingMode(enum.StrEnum):
    """How a source's searches name the patient (``sources.<name>.patient_binding``)."""

    AUTO = "auto"
    """Read the source's CapabilityStatement: ``reference`` when it can search Patient by
    identifier (or says nothing), else ``chained``."""
    REFERENCE = "reference"
    """Standard: the number resolved to the registry's Patient id, ``subject=Patient/<id>``."""
    CHAINED = "chained"
    """``subject:Patient.identifier=<token>``, with the Patient included to check the answer."""
    IDENTIFIER = "identifier"
    """``subject:identifier=<token>``: only for registries that write the number into references."""


# The element of each patient-compartment resource type that names its patient (FHIR R4). Types
# not listed (Practitioner, Organization, Medication, Location, ...) hold no patient's data.
_OWNER_ELEMENT: dict[str, str] = {
    "AllergyIntolerance": "patient",
    "Appointment": "participant",
    "CarePlan": "subject",
    "CareTeam": "subject",
    "ClinicalImpression": "subject",
    "Communication": "subject",
    "Composition": "subject",
    "Condition": "subject",
    "Consent": "patient",
    "Coverage": "beneficiary",
    "DetectedIssue": "patient",
    "DeviceRequest": "subject",
    "DeviceUseStatement": "subject",
    "DiagnosticReport": "subject",
    "DocumentReference": "subject",
    "Encounter": "subject",
    "EpisodeOfCare": "patient",
    "FamilyMemberHistory": "patient",
    "Flag": "subject",
    "Goal": "subject",
    "ImagingStudy": "subject",
    "Immunization": "patient",
    "List": "subject",
    "MedicationAdministration": "subject",
    "MedicationDispense": "subject",
    "MedicationRequest": "subject",
    "MedicationStatement": "subject",
    "NutritionOrder": "patient",
    "Observation": "subject",
    "Procedure": "subject",
    "QuestionnaireResponse": "subject",
    "RelatedPerson": "patient",
    "RiskAssessment": "subject",
    "ServiceRequest": "subject",
    "Specimen": "subject",
}


def holds_patient_data(resource_type: str) -> bool:
    """Whether resources of this type belong to one patient (and so must be checked)."""
    return resource_type == "Patient" or resource_type in _OWNER_ELEMENT


def reference_target(reference: str) -> tuple[str, str] | None:
    """``("Patient", "123")`` from ``Patient/123``, ``Patient/123/_history/2`` or an absolute
    URL ending so; None for a contained (``#x``), ``urn:`` or malformed reference."""
    path = reference.split("/_history/", 1)[0].rstrip("/")
    parts = path.split("/")
    if len(parts) < 2 or not parts[-1] or not parts[-2] or "#" in path or ":" in parts[-2]:
        return None
    return parts[-2], parts[-1]


@dataclass(frozen=True, slots=True)
class PatientBinding:
    """One patient in one registry: the identity number and, once known, its Patient ids."""

    mode: BindingMode
    system: str
    value: str
    patient_ids: frozenset[str] = frozenset()
    """The registry's ids of this patient's Patient resources (reference mode; in the other
    modes, learnt from the Patients included with the answer)."""

    @property
    def token(self) -> str:
        """The identity number as a FHIR token, ``system|value``."""
        return f"{self.system}|{self.value}"

    @property
    def unknown_here(self) -> bool:
        """The registry has no Patient with the number: nothing is recorded there."""
        return self.mode is BindingMode.REFERENCE and not self.patient_ids

    def params(self, resource_type: str, by: str) -> list[tuple[str, str]]:
        """The search parameters naming the patient on a search of ``resource_type`` by the
        reference parameter ``by`` (``subject`` or ``patient``)."""
        if self.mode is BindingMode.REFERENCE:
            ids = ",".join(f"Patient/{patient_id}" for patient_id in sorted(self.patient_ids))
            return [(by, ids)]
        if self.mode is BindingMode.CHAINED:
            # The Patient comes along so that the answer can be checked against its identifier.
            return [(f"{by}:Patient.identifier", self.token), ("_include", f"{resource_type}:{by}")]
        return [(f"{by}:identifier", self.token)]

    def carries_number(self, resource_or_reference: Mapping[str, Any]) -> bool:
        """Whether a Patient or a reference carries this identity number as an identifier."""
        identifiers = resource_or_reference.get("identifier")
        if isinstance(identifiers, Mapping):
            identifiers = [identifiers]
        if not isinstance(identifiers, list):
            return False
        return any(
            isinstance(i, Mapping)
            and i.get("system") == self.system
            and i.get("value") == self.value
            for i in identifiers
        )

    def names_patient(self, reference: Any, patient_ids: frozenset[str]) -> bool:
        """Whether a Reference names this patient: a literal reference to one of
        ``patient_ids``, or (with no literal reference, or no ids known to compare it with) one
        carrying the identity number."""
        if not isinstance(reference, Mapping):
            return False
        literal = reference.get("reference")
        if isinstance(literal, str):
            target = reference_target(literal)
            if target is not None and target[0] == "Patient" and target[1] in patient_ids:
                return True
            if target is not None and patient_ids:
                return False  # a literal reference to anyone else wins over any identifier
        return self.carries_number(reference)

    def owned_by(self, resource: Resource, patient_ids: frozenset[str]) -> bool:
        """Whether ``resource`` is this patient's (resources of no patient are always fine)."""
        resource_type = resource.get("resourceType")
        if resource_type == "Patient":
            return resource.get("id") in patient_ids or self.carries_number(resource)
        element = _OWNER_ELEMENT.get(str(resource_type))
        if element is None:
            return True
        owner = resource.get(element)
        if element == "participant":  # Appointment: one of its participants' actors
            return any(
                isinstance(p, Mapping) and self.names_patient(p.get("actor"), patient_ids)
                for p in owner or ()
            )
        return self.names_patient(owner, patient_ids)


def bound_patient_ids(source: str, patients: Iterable[Resource]) -> frozenset[str]:
    """The ids of the Patients a ``Patient?identifier=`` search found for ``binding``.

    One Patient: its id. Several: only when ``Patient.link`` ties them together as records of
    the same person (``replaced-by``/``replaces``/``refer``/``seealso``, FHIR R4) are they all
    bound, and a ``replaced-by`` target is followed even when it did not match itself; otherwise
    SourceAmbiguousPatient, never a silent pick. The caller has already checked that each one
    carries the number.
    """
    found = {str(p["id"]): p for p in patients if isinstance(p.get("id"), str)}
    if len(found) <= 1:
        return frozenset(found)
    linked: dict[str, set[str]] = {patient_id: set() for patient_id in found}
    for patient_id, patient in found.items():
        for link in patient.get("link") or ():
            other = (
                (link.get("other") or {}).get("reference") if isinstance(link, Mapping) else None
            )
            target = reference_target(other) if isinstance(other, str) else None
            if target is None or target[0] != "Patient":
                continue
            linked[patient_id].add(target[1])
            linked.setdefault(target[1], set()).add(patient_id)
    # Every Patient found must be reachable from the first through links.
    first = next(iter(found))
    reached, frontier = {first}, [first]
    while frontier:
        for other in linked.get(frontier.pop(), ()):
            if other not in reached:
                reached.add(other)
                frontier.append(other)
    if not set(found) <= reached:
        raise SourceAmbiguousPatient(
            source,
            f"the {source.replace('_', ' ')} registry has several Patients with the identity "
            "number, and no Patient.link ties them",
        )
    return frozenset(reached)
