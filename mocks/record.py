"""One patient's data across all six registries, and the builder that assembles it.

A ``PatientRecord`` holds FHIR resources as JSON, one list per resource type, newest first (by
``meta.lastUpdated``). Resource ids are ``<patient id>-<kind><n>``: unique across the population
and stable for a seed, and the owner of any id (a ``Binary`` asked for by id) is its prefix.
Practitioners and organisations are shared (``hpr-<number>``, ``org-<number>``) as in reality.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mocks.datatypes import Resource, identifier_reference, instant
from mocks.identity_numbers import number


@dataclass(frozen=True, slots=True)
class BinaryContent:
    """A document's content, served by ``GET Binary/<id>``."""

    id: str
    content_type: str
    data: bytes
    last_updated: str


@dataclass(slots=True)
class PatientRecord:
    """Everything the mock registries hold about one patient."""

    nin: str
    patient_id: str
    fixture_key: str | None = None
    patient: list[Resource] = field(default_factory=list)
    medication_requests: list[Resource] = field(default_factory=list)
    medication_dispenses: list[Resource] = field(default_factory=list)
    practitioner_roles: list[Resource] = field(default_factory=list)
    practitioners: list[Resource] = field(default_factory=list)
    organizations: list[Resource] = field(default_factory=list)
    encounters: list[Resource] = field(default_factory=list)
    document_references: list[Resource] = field(default_factory=list)
    diagnostic_reports: list[Resource] = field(default_factory=list)
    observations: list[Resource] = field(default_factory=list)
    allergy_intolerances: list[Resource] = field(default_factory=list)
    conditions: list[Resource] = field(default_factory=list)
    procedures: list[Resource] = field(default_factory=list)
    device_use_statements: list[Resource] = field(default_factory=list)
    flags: list[Resource] = field(default_factory=list)
    related_persons: list[Resource] = field(default_factory=list)
    consents: list[Resource] = field(default_factory=list)
    binaries: dict[str, BinaryContent] = field(default_factory=dict)

    def of_type(self, resource_type: str) -> list[Resource]:
        """The resources of ``resource_type`` (empty for types the record does not hold)."""
        name = FIELD_BY_RESOURCE_TYPE.get(resource_type)
        if name is None:
            return []
        resources: list[Resource] = getattr(self, name)
        return resources

    def resolve(self, reference: str) -> Resource | None:
        """The resource a literal reference (``Type/id``) in this record points to."""
        resource_type, _, resource_id = reference.partition("/")
        for resource in self.of_type(resource_type):
            if resource["id"] == resource_id:
                return resource
        return None

    def all_resources(self) -> list[Resource]:
        """Every resource in the record, type by type."""
        return [r for name in FIELD_BY_RESOURCE_TYPE.values() for r in getattr(self, name)]


FIELD_BY_RESOURCE_TYPE: dict[str, str] = {
    "Patient": "patient",
    "MedicationRequest": "medication_requests",
    "MedicationDispense": "medication_dispenses",
    "PractitionerRole": "practitioner_roles",
    "Practitioner": "practitioners",
    "Organization": "organizations",
    "Encounter": "encounters",
    "DocumentReference": "document_references",
    "DiagnosticReport": "diagnostic_reports",
    "Observation": "observations",
    "AllergyIntolerance": "allergy_intolerances",
    "Condition": "conditions",
    "Procedure": "procedures",
    "DeviceUseStatement": "device_use_statements",
    "Flag": "flags",
    "RelatedPerson": "related_persons",
    "Consent": "consents",
}


def owner_of(resource_id: str) -> str:
    """The patient id a record-owned resource id (``<patient id>-<kind><n>``) belongs to."""
    return resource_id.rpartition("-")[0]


class RecordBuilder:
    """Adds resources to a new record with ids, ``meta`` and the patient reference filled in."""

    def __init__(self, nin: str, patient_id: str, fixture_key: str | None = None) -> None:
        self.nin = nin
        self.patient_id = patient_id
        self.system = number(nin).system
        self._record = PatientRecord(nin=nin, patient_id=patient_id, fixture_key=fixture_key)
        self._counters: dict[str, int] = {}

    def new_id(self, kind: str) -> str:
        """A fresh id for a resource of this patient; ``kind`` is a short letters-only tag."""
        self._counters[kind] = self._counters.get(kind, 0) + 1
        return f"{self.patient_id}-{kind}{self._counters[kind]}"

    def subject(self) -> Resource:
        """A reference to the patient by identity number, as registries refer to patients."""
        return identifier_reference(self.system, self.nin)

    def patient_reference(self) -> Resource:
        """A literal reference to the core record's Patient resource."""
        return {"reference": f"Patient/{self.patient_id}"}

    def add(self, resource_type: str, kind: str, updated: dt.datetime, body: Resource) -> Resource:
        """Add a resource built from ``body``, with ``resourceType``, ``id`` and ``meta`` set."""
        resource_id = self.patient_id if resource_type == "Patient" else self.new_id(kind)
        return self.add_shared(resource_type, resource_id, updated, body)

    def add_shared(
        self, resource_type: str, resource_id: str, updated: dt.datetime, body: Resource
    ) -> Resource:
        """Add a resource with a given id (shared ones like practitioners); once per id."""
        existing = self._record.resolve(f"{resource_type}/{resource_id}")
        if existing is not None:
            return existing
        resource: Resource = {
            "resourceType": resource_type,
            "id": resource_id,
            "meta": {"lastUpdated": instant(updated)},
            **body,
        }
        self._record.of_type(resource_type).append(resource)
        return resource

    def add_binary(self, content_type: str, data: bytes, updated: dt.datetime) -> BinaryContent:
        """Store a document's content and return it (its id goes in the attachment URL)."""
        binary = BinaryContent(self.new_id("bin"), content_type, data, instant(updated))
        self._record.binaries[binary.id] = binary
        return binary

    def build(self) -> PatientRecord:
        """The finished record, each resource list sorted newest first."""
        for name in FIELD_BY_RESOURCE_TYPE.values():
            resources: list[Resource] = getattr(self._record, name)
            resources.sort(key=_last_updated, reverse=True)
        return self._record


def _last_updated(resource: Resource) -> dt.datetime:
    return dt.datetime.fromisoformat(resource["meta"]["lastUpdated"])
