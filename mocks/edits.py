"""What clients wrote to the core record: created and updated resources, laid over the seeded ones.

Generated records live in a bounded cache and are rebuilt from their seed when evicted, so a
write cannot be stored in them. Writes live here instead, keyed by patient; ``Population.record``
lays them over the record it built. Each written resource carries ``meta.versionId``; a seeded
resource is version 1 until it is first updated.

A create may be conditional (FHIR ``If-None-Exist: identifier=system|value``): when the
patient's resources of that type already hold that identifier, nothing is created and the
existing resource is the answer. The gateway uses this for its idempotency keys.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from dataclasses import dataclass, replace

from mocks.datatypes import Resource, instant
from mocks.record import FIELD_BY_RESOURCE_TYPE, PatientRecord

WRITABLE_TYPES = frozenset(
    {
        "AllergyIntolerance",
        "Condition",
        "Procedure",
        "DeviceUseStatement",
        "Flag",
        "RelatedPerson",
        "Consent",
    }
)


class VersionMismatch(Exception):
    """The update was based on another version than the current one."""

    def __init__(self, current: str) -> None:
        super().__init__(current)
        self.current = current


def version_of(resource: Resource) -> str:
    """A resource's ``meta.versionId``; seeded resources are version 1."""
    return str((resource.get("meta") or {}).get("versionId") or "1")


@dataclass(frozen=True, slots=True)
class Created:
    """The outcome of a create: the resource, and whether it is new (False: it existed)."""

    resource: Resource
    new: bool


class RecordEdits:
    """Every resource written, per patient id, per type, by id (the newest version only)."""

    def __init__(self) -> None:
        self._by_patient: dict[str, dict[str, dict[str, Resource]]] = {}
        self._counter = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(ids) for types in self._by_patient.values() for ids in types.values())

    def clear(self) -> None:
        """Forget every write (tests start from the seeded records)."""
        with self._lock:
            self._by_patient.clear()

    def overlay(self, record: PatientRecord) -> PatientRecord:
        """``record`` with this patient's writes in place: updated resources replace their
        seeded versions, new ones come first (the lists are newest first)."""
        written = self._by_patient.get(record.patient_id)
        if not written:
            return record
        changes: dict[str, list[Resource]] = {}
        for resource_type, by_id in written.items():
            seeded = record.of_type(resource_type)
            seeded_ids = {r["id"] for r in seeded}
            # Insertion order is creation order; the newest first, as the seeded lists are.
            new = [r for r in reversed(by_id.values()) if r["id"] not in seeded_ids]
            changes[FIELD_BY_RESOURCE_TYPE[resource_type]] = new + [
                by_id.get(r["id"], r) for r in seeded
            ]
        return replace(record, **changes)  # type: ignore[arg-type]

    def create(
        self,
        record: PatientRecord,
        resource: Resource,
        if_none_exist: tuple[str, str] | None,
    ) -> Created:
        """Store ``resource`` as a new resource of ``record``'s patient (a fresh id, version 1),
        unless ``if_none_exist`` (system, value) names an identifier one already has."""
        resource_type = resource["resourceType"]
        with self._lock:
            if if_none_exist is not None:
                current = self.overlay(record).of_type(resource_type)
                for existing in current:
                    if _has_identifier(existing, *if_none_exist):
                        return Created(existing, new=False)
            self._counter += 1
            stored = copy.deepcopy(resource)
            stored["id"] = f"{record.patient_id}-w{self._counter}"
            stored["meta"] = {"versionId": "1", "lastUpdated": _now()}
            self._types(record.patient_id, resource_type)[stored["id"]] = stored
            return Created(stored, new=True)

    def update(
        self, record: PatientRecord, resource: Resource, expected_version: str | None
    ) -> Resource | None:
        """Replace the resource with ``resource``'s id; None when there is none. Raises
        ``VersionMismatch`` when ``expected_version`` is not the current version."""
        resource_type, resource_id = resource["resourceType"], resource["id"]
        with self._lock:
            current = self.overlay(record).resolve(f"{resource_type}/{resource_id}")
            if current is None:
                return None
            version = version_of(current)
            if expected_version is not None and expected_version != version:
                raise VersionMismatch(version)
            stored = copy.deepcopy(resource)
            stored["meta"] = {"versionId": str(int(version) + 1), "lastUpdated": _now()}
            self._types(record.patient_id, resource_type)[resource_id] = stored
            return stored

    def _types(self, patient_id: str, resource_type: str) -> dict[str, Resource]:
        return self._by_patient.setdefault(patient_id, {}).setdefault(resource_type, {})


def _has_identifier(resource: Resource, system: str, value: str) -> bool:
    return any(
        isinstance(identifier, dict)
        and identifier.get("system") == system
        and identifier.get("value") == value
        for identifier in resource.get("identifier") or ()
    )


def _now() -> str:
    return instant(dt.datetime.now(dt.UTC))
