"""Typed writes to the core record: create once per idempotency key, update only the version
the change was based on, read the entries a change is about.

Where an idempotency key is remembered, and why there: in the registry itself, on the resource.
A create carries the key as an identifier and is sent as a FHIR conditional create
(``If-None-Exist: identifier=<system>|<key>``), so a retry finds the entry the first attempt
made instead of making a second, whichever gateway instance the retry reaches, and even after
the gateway's cache (memory or Redis) was emptied. An update records its key in an extension on
the version it makes; a retry whose ``If-Match`` is refused because that very change moved the
version on is recognised by the key and answered as a replay, with nothing written. A shared
cache would have been a second source of truth, lost with Redis and out of step with the
registry whenever one of the two writes failed.

The key a registry sees is a hash of the caller's subject and their key, so two callers who pick
the same key never collide and the caller's own string never reaches the registry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import EntryNotFound, IdempotencyKeyReused, VersionConflict
from gateway.identity import NationalIdentityNumber, parse
from gateway.upstream.binding import holds_patient_data
from gateway.upstream.fhir import FhirSource
from gateway.upstream.fhir_write import FhirWriter, Versioned
from resolvers.core_record import fhir_changes as changes
from resolvers.core_record.fhir_changes import IDEMPOTENCY_SYSTEM, ChangeKey, Resource
from resolvers.core_record.privacy import consent_params

_PATIENT_PARAM = {"AllergyIntolerance": "patient", "RelatedPerson": "patient"}


@dataclass(frozen=True, slots=True)
class Written:
    """One entry a change wrote (or found written by an earlier attempt with the same key)."""

    resource_type: str
    id: str
    version: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Entry:
    """An entry of the patient's record as it is now, to base a change on."""

    resource: Mapping[str, Any]
    version: str

    @property
    def resource_type(self) -> str:
        """Its FHIR resource type."""
        return str(self.resource["resourceType"])


def scoped_key(subject: str, key: str | None) -> str | None:
    """The key as the registry stores it: per caller, and not the caller's own string."""
    if key is None:
        return None
    return hashlib.sha256(f"{subject}\x00{key}".encode()).hexdigest()[:40]


class CoreRecordWriter:
    """Writes critical information, own registrations and privacy settings."""

    def __init__(self, writer: FhirWriter, reader: FhirSource) -> None:
        self._writer = writer
        self._reader = reader

    async def create(self, resource: Resource, key: ChangeKey | None) -> Written:
        """Create ``resource`` unless an earlier attempt with ``key`` did (then a replay, or
        IDEMPOTENCY_KEY_REUSED when that attempt made another change)."""
        condition = (IDEMPOTENCY_SYSTEM, key.key) if key is not None else None
        await self._refer_to_patient(resource)
        versioned = await self._writer.create(
            changes.with_key(resource, key, create=True), condition
        )
        if not versioned.created:
            _same_change(versioned.resource, key)
        return _written(versioned, replayed=not versioned.created)

    async def entry(self, nin: NationalIdentityNumber, resource_type: str, entry_id: str) -> Entry:
        """The entry ``entry_id`` if it is this patient's (another patient's: NOT_FOUND, so an
        id never tells whether it exists elsewhere)."""
        versioned = await self._writer.read(resource_type, entry_id)
        binding = await self._reader.binding(nin)
        if not (
            holds_patient_data(resource_type)
            and binding.owned_by(versioned.resource, binding.patient_ids)
        ):
            raise EntryNotFound("the patient's record holds no such entry")
        return Entry(versioned.resource, versioned.version)

    async def _refer_to_patient(self, resource: Resource) -> None:
        """Give a new entry's patient reference the registry's Patient id beside the identity
        number: a standard registry finds entries by ``subject=Patient/<id>``, and an entry
        known only by the number would never be found again."""
        for element in ("patient", "subject"):
            reference = resource.get(element)
            if not isinstance(reference, dict):
                continue
            number = changes.patient_of({element: reference})
            if number is None or "reference" in reference:
                return
            binding = await self._reader.binding(parse(number))
            if binding.patient_ids:
                reference["reference"] = f"Patient/{min(binding.patient_ids)}"
            return

    async def update(self, resource: Resource, base_version: str, key: ChangeKey | None) -> Written:
        """Write ``resource`` over version ``base_version``; VERSION_CONFLICT when the entry
        moved on, unless it was this very change (same key) that moved it: then a replay.
        IDEMPOTENCY_KEY_REUSED when the key made another change to the entry."""
        # ``resource`` was built from the entry as it is now: if the key made that version,
        # it must have made it with this very change.
        if key is not None and changes.last_change_key(resource) == key.key:
            _same_change(resource, key)
        try:
            versioned = await self._writer.update(
                changes.with_key(resource, key, create=False), base_version
            )
        except VersionConflict:
            if key is None:
                raise
            current = await self._writer.read(str(resource["resourceType"]), str(resource["id"]))
            if changes.last_change_key(current.resource) != key.key:
                raise
            _same_change(current.resource, key)
            return _written(current, replayed=True)
        return _written(versioned, replayed=False)

    async def current(self, nin: NationalIdentityNumber, resource_type: str) -> list[Entry]:
        """Every entry of ``resource_type`` the patient has now, asked of the registry (never
        the cache): what a set-style change (open sections, unblock, count) is based on."""
        if resource_type == "Consent":
            # The privacy settings in force, every page of them (as the reader asks them):
            # an unblock must find the block wherever it is.
            result = await self._reader.search(
                "Consent",
                consent_params(nin),
                patient=nin,
                by="patient",
                cacheable=False,
                whole=True,
            )
        else:
            result = await self._reader.search(
                resource_type,
                [],
                patient=nin,
                by=_PATIENT_PARAM.get(resource_type, "subject"),
                cacheable=False,
            )
        return [
            Entry(r, str((r.get("meta") or {}).get("versionId") or "1")) for r in result.matches
        ]

    async def patient_id(self, nin: NationalIdentityNumber) -> str | None:
        """The id of the patient's Patient resource (a self-reported entry's asserter)."""
        result = await self._reader.search("Patient", [("identifier", nin.fhir_token)], patient=nin)
        return str(result.matches[0]["id"]) if result.matches else None


def _same_change(made: Mapping[str, Any], key: ChangeKey | None) -> None:
    """Refuse when ``made``, found under ``key``, was made by another change. An entry written
    before fingerprints were kept has none: it is taken as the replay it was taken for then."""
    if key is None:
        return
    fingerprint = changes.change_fingerprint(made)
    if fingerprint is not None and fingerprint != key.fingerprint:
        raise IdempotencyKeyReused(
            "this idempotency key was used for another change; nothing was written (use a new "
            "key for a new change)"
        )


def _written(versioned: Versioned, *, replayed: bool) -> Written:
    resource = versioned.resource
    return Written(str(resource["resourceType"]), str(resource["id"]), versioned.version, replayed)
