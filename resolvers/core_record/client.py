"""Typed reads from the core record's FHIR server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.access.policy import PrivacySettings
from gateway.errors import PrivacySettingsUnknown, SourceBadResponse
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Page
from gateway.upstream.fhir import FhirSource, SearchResult
from resolvers.common import still_current
from resolvers.core_record import critical_information as critical
from resolvers.core_record import own_registrations as own
from resolvers.core_record.demographics import CorePatient, core_patient
from resolvers.core_record.privacy import (
    ConsentNotUnderstood,
    consent_params,
    privacy_settings,
)


@dataclass(frozen=True, slots=True)
class Conditions:
    """One Condition search serves two sections: the clinicians' and the patient's own."""

    critical: list[critical.CriticalCondition]
    self_reported: list[own.SelfReportedCondition]


@dataclass(frozen=True, slots=True)
class Flags:
    """One Flag search serves two sections: clinical warnings and communication needs."""

    warnings: list[critical.ClinicalWarning]
    communication_needs: list[own.CommunicationNeed]


def _asserted_by_patient(resource: Mapping[str, Any]) -> bool:
    reference = (resource.get("asserter") or {}).get("reference")
    return isinstance(reference, str) and reference.startswith("Patient/")


def _current(result: SearchResult) -> list[Mapping[str, Any]]:
    """The entries still in force: retired and removed ones stay in the record, unseen."""
    return [r for r in result.matches if still_current(r)]


def _conditions(result: SearchResult) -> Conditions:
    current = _current(result)
    mine = [r for r in current if _asserted_by_patient(r)]
    clinical = [r for r in current if not _asserted_by_patient(r)]
    return Conditions(
        # A problem list holds more than critical information: only what the record marks as
        # such, and only while active (a resolved sinusitis is no warning to anyone).
        critical=[critical.critical_condition(r) for r in clinical if critical.shown_condition(r)],
        self_reported=[own.self_reported_condition(r) for r in mine],
    )


def _treatments(result: SearchResult) -> list[critical.Treatment]:
    # Procedure history holds more than critical information ("Medication Reconciliation"):
    # only marked entries, an ongoing treatment only while in progress.
    return [critical.treatment(r) for r in _current(result) if critical.shown_treatment(r)]


def _flags(result: SearchResult) -> Flags:
    warnings, needs = [], []
    for flag in _current(result):
        if critical.kind_of(flag) == "communication-need":
            needs.append(own.communication_need(flag))
        elif critical.shown_warning(flag):
            warnings.append(critical.warning(flag))
    return Flags(warnings, needs)


class CoreRecordClient:
    """Reads the patient, critical information and own registrations from the core record."""

    def __init__(self, fhir: FhirSource, privacy_enforced_by: str | None = None) -> None:
        """``privacy_enforced_by``: set for a registry without Consent support, where the
        deployment enforces privacy settings elsewhere; none are then read here."""
        self._fhir = fhir
        self.privacy_enforced_by = privacy_enforced_by

    @property
    def privacy_source(self) -> str:
        """Where the patients' privacy settings come from, as ``sourceHealth`` says it."""
        if self.privacy_enforced_by is not None:
            return f"enforced elsewhere: {self.privacy_enforced_by}"
        return "read from the core record's Consent resources"

    async def patient(self, nin: NationalIdentityNumber) -> Page[CorePatient | None]:
        """The patient resource, or None when the core record does not know the number."""
        return await self._fhir.fetch(
            "Patient",
            [("identifier", nin.fhir_token)],
            lambda result: core_patient(result.matches[0]) if result.matches else None,
            patient=nin,
        )

    async def privacy(self, nin: NationalIdentityNumber) -> Page[PrivacySettings]:
        """The patient's reservation, restrictions and blocks: asked of the registry on every
        request, never cached, so a new block or restriction holds at once. Active Consents
        only, every page of them (``whole``): a read cut short fails closed, never open.
        Where the deployment enforces them elsewhere, none are read and none apply here."""
        if self.privacy_enforced_by is not None:
            return Page(PrivacySettings(), pages=0)
        try:
            return await self._fhir.fetch(
                "Consent",
                consent_params(nin),
                privacy_settings,
                patient=nin,
                by="patient",
                cacheable=False,
                whole=True,
            )
        except SourceBadResponse as exc:
            # The registry answered; a setting the gateway does not understand is its own code.
            if isinstance(exc.__cause__, ConsentNotUnderstood):
                raise PrivacySettingsUnknown(
                    exc.source, f"privacy settings not understood: {exc.__cause__}"
                ) from exc
            raise

    async def allergies(self, nin: NationalIdentityNumber) -> Page[list[critical.Allergy]]:
        """Drug reactions and other allergies."""
        return await self._fhir.fetch(
            "AllergyIntolerance",
            [],
            lambda result: [critical.allergy(r) for r in _current(result)],
            patient=nin,
            by="patient",
        )

    async def conditions(self, nin: NationalIdentityNumber) -> Page[Conditions]:
        """Critical conditions and self-reported diseases."""
        return await self._fhir.fetch("Condition", [], _conditions, patient=nin, by="subject")

    async def treatments(self, nin: NationalIdentityNumber) -> Page[list[critical.Treatment]]:
        """Ongoing treatment and other procedure changes."""
        return await self._fhir.fetch(
            "Procedure",
            [],
            _treatments,
            patient=nin,
            by="subject",
        )

    async def implants(self, nin: NationalIdentityNumber) -> Page[list[critical.Implant]]:
        """Implants."""
        return await self._fhir.fetch(
            "DeviceUseStatement",
            [],
            lambda result: [critical.implant(r) for r in _current(result)],
            patient=nin,
            by="subject",
        )

    async def flags(self, nin: NationalIdentityNumber) -> Page[Flags]:
        """Clinical warnings and communication needs."""
        return await self._fhir.fetch("Flag", [], _flags, patient=nin, by="subject")

    async def next_of_kin(self, nin: NationalIdentityNumber) -> Page[list[own.NextOfKin]]:
        """Next of kin and contacts."""
        return await self._fhir.fetch(
            "RelatedPerson",
            [],
            lambda result: [own.next_of_kin(r) for r in _current(result)],
            patient=nin,
            by="patient",
        )
