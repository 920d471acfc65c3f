"""Critical information: drug reactions and allergies, critical conditions, ongoing treatment,
implants and other warnings, registered by clinicians in the core record."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.context import Context
from gateway.fetch import Fetched, all_of
from gateway.fhir import first, parse_datetime, text
from gateway.identity import NationalIdentityNumber
from resolvers.common import Code, HealthPersonnel, code, health_personnel, note, version_of
from resolvers.core_record import shared_searches
from resolvers.section import Section, SourceName, count, section_fields

SOURCE = SourceName.CORE_RECORD


@strawberry.enum(description="How dangerous a reaction could be.")
class Criticality(Enum):
    LOW = "low"
    HIGH = "high"
    UNABLE_TO_ASSESS = "unable-to-assess"


@strawberry.enum(description="How certain the entry is.")
class VerificationStatus(Enum):
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    PRESUMED = "presumed"
    REFUTED = "refuted"
    ENTERED_IN_ERROR = "entered-in-error"


@strawberry.enum(description="Whether the entry still applies.")
class ClinicalStatus(Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    RESOLVED = "resolved"
    RECURRENCE = "recurrence"
    RELAPSE = "relapse"
    REMISSION = "remission"


@strawberry.type(description="A drug reaction or other allergy.")
class Allergy:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    agent: Code = strawberry.field(description="What the patient reacts to (ATC code for drugs).")
    kind: str | None = strawberry.field(description="allergy or intolerance.")
    categories: list[str] = strawberry.field(description="medication, food, environment…")
    criticality: Criticality | None = strawberry.field(description="Low, high, unable to assess.")
    verification: VerificationStatus | None = strawberry.field(description="How certain it is.")
    clinical_status: ClinicalStatus | None = strawberry.field(description="Whether it applies.")
    reaction: str | None = strawberry.field(description="The reaction seen.")
    severity: str | None = strawberry.field(description="mild, moderate or severe.")
    recorded_at: dt.datetime | None = strawberry.field(description="When it was registered.")
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(description="A critical medical condition (often a rare disease), ICD-10 coded.")
class CriticalCondition:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    condition: Code = strawberry.field(description="The condition, ICD-10.")
    clinical_status: ClinicalStatus | None = strawberry.field(description="Whether it applies.")
    verification: VerificationStatus | None = strawberry.field(description="How certain it is.")
    note: str | None = strawberry.field(description="What others must know.")
    recorded_at: dt.datetime | None = strawberry.field(description="When it was registered.")
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(
    description="Ongoing treatment (dialysis, cytostatics…) or another procedure change."
)
class Treatment:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    ongoing: bool = strawberry.field(
        description="Ongoing treatment; false for other procedure changes."
    )
    description: str | None = strawberry.field(description="The treatment, e.g. 'Dialyse'.")
    status: str | None = strawberry.field(description="in-progress, completed, stopped.")
    started: dt.datetime | None = strawberry.field(description="When it began.")
    note: str | None = strawberry.field(description="What others must know.")
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(description="An implant, such as a pacemaker.")
class Implant:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    device: str | None = strawberry.field(description="The implant.")
    implanted_at: dt.datetime | None = strawberry.field(description="When it was implanted.")
    note: str | None = strawberry.field(description="What others must know (e.g. MRI safety).")


@strawberry.type(
    description="Another critical warning: infection, anaesthesia complication, "
    "limits on life-prolonging treatment…"
)
class ClinicalWarning:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    category: str | None = strawberry.field(description="The kind of warning.")
    description: str | None = strawberry.field(description="The warning itself.")
    since: dt.datetime | None = strawberry.field(description="Since when it applies.")
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(description="Critical information from the core record.")
class CriticalInformationSection(Section):
    _allergies: strawberry.Private[Fetched[list[Allergy]]]
    _conditions: strawberry.Private[Fetched[Any]]
    _treatments: strawberry.Private[Fetched[list[Treatment]]]
    _implants: strawberry.Private[Fetched[list[Implant]]]
    _flags: strawberry.Private[Fetched[Any]]

    @strawberry.field(description="Drug reactions and other allergies. Null when unreadable.")
    def allergies(self) -> list[Allergy] | None:
        return self._allergies.unwrap()

    @strawberry.field(description="Critical medical conditions. Null when unreadable.")
    def critical_conditions(self) -> list[CriticalCondition] | None:
        conditions: list[CriticalCondition] = self._conditions.unwrap().critical
        return conditions

    @strawberry.field(description="Ongoing treatment and procedure changes. Null when unreadable.")
    def treatments(self) -> list[Treatment] | None:
        return self._treatments.unwrap()

    @strawberry.field(description="Implants. Null when unreadable.")
    def implants(self) -> list[Implant] | None:
        return self._implants.unwrap()

    @strawberry.field(description="Other critical warnings. Null when unreadable.")
    def warnings(self) -> list[ClinicalWarning] | None:
        warnings: list[ClinicalWarning] = self._flags.unwrap().warnings
        return warnings


def _enum(kind: type[Any], value: Any) -> Any:
    try:
        return kind(value) if value is not None else None
    except ValueError:
        return None


def _status_code(concept: Any) -> Any:
    if not isinstance(concept, Mapping):
        return None
    return first(concept.get("coding")).get("code")


def allergy(resource: Mapping[str, Any]) -> Allergy:
    """Map an AllergyIntolerance."""
    reaction = first(resource.get("reaction"))
    return Allergy(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        agent=code(resource.get("code")),
        kind=text(resource.get("type")),
        categories=[c for c in resource.get("category") or () if isinstance(c, str)],
        criticality=_enum(Criticality, resource.get("criticality")),
        verification=_enum(VerificationStatus, _status_code(resource.get("verificationStatus"))),
        clinical_status=_enum(ClinicalStatus, _status_code(resource.get("clinicalStatus"))),
        reaction=text(first(reaction.get("manifestation")).get("text")),
        severity=text(reaction.get("severity")),
        recorded_at=parse_datetime(resource.get("recordedDate")),
        recorded_by=health_personnel(resource.get("recorder")),
    )


def critical_condition(resource: Mapping[str, Any]) -> CriticalCondition:
    """Map a clinician's Condition (category problem-list-item)."""
    return CriticalCondition(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        condition=code(resource.get("code")),
        clinical_status=_enum(ClinicalStatus, _status_code(resource.get("clinicalStatus"))),
        verification=_enum(VerificationStatus, _status_code(resource.get("verificationStatus"))),
        note=note(resource),
        recorded_at=parse_datetime(resource.get("recordedDate")),
        recorded_by=health_personnel(resource.get("recorder")),
    )


def treatment(resource: Mapping[str, Any]) -> Treatment:
    """Map a Procedure (ongoing treatment or procedure change)."""
    return Treatment(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        ongoing=_status_code(resource.get("category")) == "ongoing-treatment",
        description=text((resource.get("code") or {}).get("text")),
        status=text(resource.get("status")),
        started=parse_datetime((resource.get("performedPeriod") or {}).get("start")),
        note=note(resource),
        recorded_by=health_personnel(resource.get("recorder")),
    )


def implant(resource: Mapping[str, Any]) -> Implant:
    """Map a DeviceUseStatement."""
    return Implant(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        # R4 names the device by reference; its display is the implant's name.
        device=text((resource.get("device") or {}).get("display")),
        implanted_at=parse_datetime(resource.get("timingDateTime")),
        note=note(resource),
    )


def warning(resource: Mapping[str, Any], category: str | None) -> ClinicalWarning:
    """Map a clinician's Flag."""
    return ClinicalWarning(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        category=category,
        description=text((resource.get("code") or {}).get("text")),
        since=parse_datetime((resource.get("period") or {}).get("start")),
        recorded_by=health_personnel(resource.get("author")),
    )


def prefetch(ctx: Context, nin: NationalIdentityNumber) -> list[asyncio.Future[Fetched[Any]]]:
    """Start (or join) this request's searches for critical information."""
    core = ctx.clients.core_record
    key = nin.value
    return [
        ctx.fetches.search(SOURCE.value, "AllergyIntolerance", key, lambda: core.allergies(nin)),
        shared_searches.conditions(ctx, nin),
        ctx.fetches.search(SOURCE.value, "Procedure", key, lambda: core.treatments(nin)),
        ctx.fetches.search(SOURCE.value, "DeviceUseStatement", key, lambda: core.implants(nin)),
        shared_searches.flags(ctx, nin),
    ]


async def critical_information_section(
    ctx: Context, nin: NationalIdentityNumber
) -> CriticalInformationSection:
    """The critical information section for ``nin``."""
    allergies, conditions, treatments, implants, flags = await all_of(*prefetch(ctx, nin))
    entries = count(allergies, treatments, implants)
    entries += len(conditions.value.critical) if conditions.value else 0
    entries += len(flags.value.warnings) if flags.value else 0
    return CriticalInformationSection(
        **section_fields(SOURCE, [allergies, conditions, treatments, implants, flags], entries),
        _allergies=allergies,
        _conditions=conditions,
        _treatments=treatments,
        _implants=implants,
        _flags=flags,
    )
