"""Medications, from Reseptformidleren: prescriptions (MedicationRequest) and dispensings."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.context import Context
from gateway.fetch import Fetched, Page, all_of
from gateway.fhir import FhirSource, extension_value, first, parse_date, parse_datetime, text
from gateway.identity import NationalIdentityNumber
from resolvers.common import (
    HealthPersonnel,
    Organization,
    Quantity,
    health_personnel,
    newest_first,
    organization,
    quantity,
)
from resolvers.section import Section, SourceName, count, section_fields

SOURCE = SourceName.PRESCRIPTIONS
ATC_SYSTEM = "http://www.whocc.no/atc"
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


@strawberry.type(description="A medicinal product, coded with ATC.")
class Medication:
    atc_code: str | None = strawberry.field(description="ATC code, e.g. B01AC06.")
    substance: str | None = strawberry.field(description="The active substance (ATC display).")
    product_name: str | None = strawberry.field(description="Product name with strength.")


@strawberry.type(description="A prescription in the national e-prescription hub.")
class Prescription:
    id: strawberry.ID = strawberry.field(description="The registry's id for the prescription.")
    status: PrescriptionStatus = strawberry.field(description="Where the prescription stands.")
    medication: Medication = strawberry.field(description="What was prescribed.")
    dosage: str | None = strawberry.field(description="Dosage instructions, as written.")
    prescribed_at: dt.datetime | None = strawberry.field(description="When it was written.")
    prescriber: HealthPersonnel | None = strawberry.field(description="Who wrote it.")
    valid_from: dt.date | None = strawberry.field(description="First day it can be dispensed.")
    valid_until: dt.date | None = strawberry.field(description="Last day it can be dispensed.")
    withdrawn_at: dt.datetime | None = strawberry.field(description="When it was withdrawn.")
    withdrawal_reason: str | None = strawberry.field(description="Why it was withdrawn.")


@strawberry.type(description="A dispensing at a pharmacy: the medicine was taken out.")
class Dispensing:
    id: strawberry.ID = strawberry.field(description="The registry's id for the dispensing.")
    medication: Medication = strawberry.field(description="What was dispensed.")
    dispensed_at: dt.datetime | None = strawberry.field(description="When it was handed over.")
    quantity: Quantity | None = strawberry.field(description="How much was handed over.")
    pharmacy: Organization | None = strawberry.field(description="Which pharmacy dispensed it.")
    prescription_id: strawberry.ID | None = strawberry.field(
        description="The prescription it was dispensed on."
    )
    dosage: str | None = strawberry.field(description="Dosage instructions, as written.")


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


def _medication(concept: Any) -> Medication:
    concept = concept if isinstance(concept, Mapping) else {}
    atc = next(
        (c for c in concept.get("coding") or () if c.get("system") == ATC_SYSTEM),
        first(concept.get("coding")),
    )
    return Medication(
        atc_code=text(atc.get("code")),
        substance=text(atc.get("display")),
        product_name=text(concept.get("text")),
    )


def _prescription(resource: Mapping[str, Any]) -> Prescription:
    validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
    return Prescription(
        id=strawberry.ID(resource["id"]),
        status=_STATUS.get(resource.get("status", ""), PrescriptionStatus.OTHER),
        medication=_medication(resource.get("medicationCodeableConcept")),
        dosage=text(first(resource.get("dosageInstruction")).get("text")),
        prescribed_at=parse_datetime(resource.get("authoredOn")),
        prescriber=health_personnel(resource.get("requester")),
        valid_from=parse_date(validity.get("start")),
        valid_until=parse_date(validity.get("end")),
        withdrawn_at=parse_datetime(extension_value(resource, STATUS_CHANGED, "valueDateTime")),
        withdrawal_reason=text((resource.get("statusReason") or {}).get("text")),
    )


def _dispensing(resource: Mapping[str, Any]) -> Dispensing:
    reference = text(first(resource.get("authorizingPrescription")).get("reference"))
    return Dispensing(
        id=strawberry.ID(resource["id"]),
        medication=_medication(resource.get("medicationCodeableConcept")),
        dispensed_at=parse_datetime(resource.get("whenHandedOver")),
        quantity=quantity(resource.get("quantity")),
        pharmacy=organization(first(resource.get("performer")).get("actor")),
        prescription_id=strawberry.ID(reference.split("/")[-1]) if reference else None,
        dosage=text(first(resource.get("dosageInstruction")).get("text")),
    )


class PrescriptionsClient:
    """Typed reads from the prescription registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def prescriptions(self, nin: NationalIdentityNumber) -> Page[list[Prescription]]:
        """Every prescription the registry holds for the patient, newest first."""
        return await self._fhir.fetch(
            "MedicationRequest",
            [],
            lambda result: newest_first(
                [_prescription(r) for r in result.matches], "prescribed_at"
            ),
            patient=nin,
            by="subject",
        )

    async def dispensings(self, nin: NationalIdentityNumber) -> Page[list[Dispensing]]:
        """Every dispensing the registry holds for the patient, newest first."""
        return await self._fhir.fetch(
            "MedicationDispense",
            [],
            lambda result: newest_first([_dispensing(r) for r in result.matches], "dispensed_at"),
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
