"""Medications, from Reseptformidleren: prescriptions (MedicationRequest) and dispensings."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.fhir_date import FhirDateTime
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, count, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, Page, all_of
from gateway.upstream.fhir import (
    FhirSource,
    SearchResult,
    extension_value,
    first,
    text,
)
from resolvers.common import (
    ATC_SYSTEM,
    Coding,
    HealthPersonnel,
    Organization,
    Quantity,
    codings,
    health_personnel,
    newest_first,
    organization,
    quantity,
)
from resolvers.dosage import render_dosages
from resolvers.parties import Party, PartyKind, party, resolver_for

SOURCE = SourceName.PRESCRIPTIONS
STATUS_CHANGED = (
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-MedicationRequest.statusChanged"
)


@strawberry.enum(description="Where a prescription stands.")
class PrescriptionStatus(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Valid and not fully dispensed.")
    COMPLETED = strawberry.enum_value("COMPLETED", description="Fully dispensed, or expired.")
    WITHDRAWN = strawberry.enum_value("WITHDRAWN", description="Withdrawn by a prescriber.")
    OTHER = strawberry.enum_value("OTHER", description="Any other FHIR status (see source).")


_STATUS = {
    "active": PrescriptionStatus.ACTIVE,
    "completed": PrescriptionStatus.COMPLETED,
    "stopped": PrescriptionStatus.WITHDRAWN,
}


@strawberry.type(description="A medicinal product, with every code the source gave it.")
class Medication:
    atc_code: str | None = strawberry.field(
        description="ATC code, e.g. B01AC06; null when the source gave no ATC coding (other "
        "systems' codes are in codes, never here)."
    )
    substance: str | None = strawberry.field(
        description="The active substance (the ATC coding's display)."
    )
    product_name: str | None = strawberry.field(
        description="Product name with strength (the medication concept's text)."
    )
    name: str | None = strawberry.field(
        default=None,
        description="The name to show: the product name, else the first coding's display, else "
        "the display of a reference to a Medication the source did not send; null when the "
        "source names it nowhere.",
    )
    codes: list[Coding] = strawberry.field(
        default_factory=list,
        description="Every coding of the medicine, with its system (ATC, RxNorm, SNOMED CT…).",
    )


@strawberry.type(description="A prescription in the national e-prescription hub.")
class Prescription:
    id: strawberry.ID = strawberry.field(description="The registry's id for the prescription.")
    status: PrescriptionStatus = strawberry.field(description="Where the prescription stands.")
    medication: Medication = strawberry.field(description="What was prescribed.")
    dosage: str | None = strawberry.field(
        description="Dosage instructions: as written, else rendered from the structured dosage."
    )
    prescribed_at: FhirDateTime | None = strawberry.field(description="When it was written.")
    prescriber: HealthPersonnel | None = strawberry.field(description="Who wrote it.")
    valid_from: FhirDateTime | None = strawberry.field(description="First day it can be dispensed.")
    valid_until: FhirDateTime | None = strawberry.field(description="Last day it can be dispensed.")
    withdrawn_at: FhirDateTime | None = strawberry.field(description="When it was withdrawn.")
    withdrawal_reason: str | None = strawberry.field(description="Why it was withdrawn.")


@strawberry.type(description="A dispensing at a pharmacy: the medicine was taken out.")
class Dispensing:
    id: strawberry.ID = strawberry.field(description="The registry's id for the dispensing.")
    medication: Medication = strawberry.field(description="What was dispensed.")
    dispensed_at: FhirDateTime | None = strawberry.field(description="When it was handed over.")
    quantity: Quantity | None = strawberry.field(description="How much was handed over.")
    pharmacy: Organization | None = strawberry.field(
        description="The first dispenser known to be an organisation (see dispensedBy).",
        deprecation_reason="Use dispensedBy: a dispenser may be a person or an organisation.",
    )
    prescription_id: strawberry.ID | None = strawberry.field(
        description="The prescription it was dispensed on."
    )
    dosage: str | None = strawberry.field(
        description="Dosage instructions: as written, else rendered from the structured dosage."
    )
    dispensed_by: list[Party] = strawberry.field(
        default_factory=list,
        description="Who dispensed (MedicationDispense.performer), in the source's order.",
    )


@strawberry.type(description="Prescriptions and dispensings from Reseptformidleren.")
class MedicationsSection(Section):
    _prescriptions: strawberry.Private[Fetched[list[Prescription]]]
    _dispensings: strawberry.Private[Fetched[list[Dispensing]]]

    @strawberry.field(description="Prescriptions, newest first. Null when they could not be read.")
    def prescriptions(self) -> list[Prescription] | None:
        return self._prescriptions.unwrap()

    @strawberry.field(description="Dispensings, newest first. Null when they could not be read.")
    def dispensings(self) -> list[Dispensing] | None:
        return self._dispensings.unwrap()


def _medication(resource: Mapping[str, Any], result: SearchResult) -> Medication:
    """What a MedicationRequest/MedicationDispense names: its ``medicationCodeableConcept``, or
    the Medication its ``medicationReference`` points at (contained, or included in the search).
    A Medication that did not come along leaves only the reference's display: nothing is
    guessed."""
    concept = resource.get("medicationCodeableConcept")
    reference = resource.get("medicationReference")
    if not isinstance(concept, Mapping) and isinstance(reference, Mapping):
        target = resolver_for(resource, result.included)(reference)
        if target is None or target.get("resourceType") != "Medication":
            return Medication(
                atc_code=None, substance=None, product_name=None,
                name=text(reference.get("display")),
            )  # fmt: skip
        concept = target.get("code")
    return _medication_of(concept, reference if isinstance(reference, Mapping) else {})


def _medication_of(concept: Any, reference: Mapping[str, Any]) -> Medication:
    concept = concept if isinstance(concept, Mapping) else {}
    codes = codings(concept)
    atc = next((c for c in codes if c.system == ATC_SYSTEM), None)
    product_name = text(concept.get("text"))
    return Medication(
        atc_code=atc.code if atc else None,
        substance=atc.display if atc else None,
        product_name=product_name,
        name=product_name
        or next((c.display for c in codes if c.display), None)
        or text(reference.get("display")),
        codes=codes,
    )


def _prescription(resource: Mapping[str, Any], result: SearchResult) -> Prescription:
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    return Prescription(
        id=strawberry.ID(resource["id"]),
        status=_STATUS.get(resource.get("status", ""), PrescriptionStatus.OTHER),
        medication=_medication(resource, result),
        dosage=render_dosages(resource.get("dosageInstruction")),
        prescribed_at=FhirDateTime.parse(resource.get("authoredOn")),
        prescriber=health_personnel(resource.get("requester")),
        valid_from=FhirDateTime.parse(validity.get("start")),
        valid_until=FhirDateTime.parse(validity.get("end")),
        withdrawn_at=FhirDateTime.parse(extension_value(resource, STATUS_CHANGED, "valueDateTime")),
        withdrawal_reason=text((resource.get("statusReason") or {}).get("text")),
    )


def _dispensing(resource: Mapping[str, Any], result: SearchResult) -> Dispensing:
    reference = text(first(resource.get("authorizingPrescription")).get("reference"))
    performers = [
        (dispenser, actor)
        for performer in resource.get("performer") or ()
        if isinstance(performer, Mapping)
        for actor in [performer.get("actor")]
        if (dispenser := party(actor, resolver_for(resource, result.included))) is not None
    ]
    pharmacy = next(
        (organization(actor) for d, actor in performers if d.kind is PartyKind.ORGANISATION),
        None,
    )
    return Dispensing(
        id=strawberry.ID(resource["id"]),
        medication=_medication(resource, result),
        dispensed_at=FhirDateTime.parse(resource.get("whenHandedOver")),
        quantity=quantity(resource.get("quantity")),
        pharmacy=pharmacy,
        prescription_id=strawberry.ID(reference.split("/")[-1]) if reference else None,
        dosage=render_dosages(resource.get("dosageInstruction")),
        dispensed_by=[d for d, _ in performers],
    )


def build_prescriptions(result: SearchResult) -> list[Prescription]:
    """A MedicationRequest search's prescriptions, newest first."""
    return newest_first([_prescription(r, result) for r in result.matches], "prescribed_at")


def build_dispensings(result: SearchResult) -> list[Dispensing]:
    """A MedicationDispense search's dispensings, newest first."""
    return newest_first([_dispensing(r, result) for r in result.matches], "dispensed_at")


class PrescriptionsClient:
    """Typed reads from the prescription registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def prescriptions(self, nin: NationalIdentityNumber) -> Page[list[Prescription]]:
        """Every prescription the registry holds for the patient, newest first."""
        return await self._fhir.fetch(
            "MedicationRequest",
            # A Medication referenced rather than written inline comes along (a server that
            # does not include it leaves the reference's display, see _medication).
            [("_include", "MedicationRequest:medication")],
            build_prescriptions,
            patient=nin,
            by="subject",
        )

    async def dispensings(self, nin: NationalIdentityNumber) -> Page[list[Dispensing]]:
        """Every dispensing the registry holds for the patient, newest first."""
        return await self._fhir.fetch(
            "MedicationDispense",
            [("_include", "MedicationDispense:medication")],
            build_dispensings,
            patient=nin,
            by="subject",
        )


async def medications_section(ctx: Context, nin: NationalIdentityNumber) -> MedicationsSection:
    """The medications section for ``nin``, from this request's searches."""
    prescriptions, dispensings = await all_of(*prefetch(ctx, nin))
    return MedicationsSection(
        **section_fields(SOURCE, [prescriptions, dispensings], count(prescriptions, dispensings)),
        _prescriptions=prescriptions,
        _dispensings=dispensings,
    )


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> tuple[asyncio.Future[Fetched[list[Prescription]]], asyncio.Future[Fetched[list[Dispensing]]]]:
    """Start (or join) this request's searches for the medications section."""
    client = ctx.clients.prescriptions
    return (
        ctx.fetches.search(
            SOURCE.value, "MedicationRequest", nin.value, lambda: client.prescriptions(nin)
        ),
        ctx.fetches.search(
            SOURCE.value, "MedicationDispense", nin.value, lambda: client.dispensings(nin)
        ),
    )
