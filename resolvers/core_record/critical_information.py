"""Critical information: drug reactions and allergies, critical conditions, ongoing treatment,
implants and other warnings, registered by clinicians in the core record."""

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
from gateway.upstream.fan_out import Fetched, all_of
from gateway.upstream.fhir import first, text
from resolvers.common import (
    ATC_SYSTEM,
    ICD10_NO_SYSTEM,
    ICD10_SYSTEM,
    Code,
    Coding,
    HealthPersonnel,
    codings,
    health_personnel,
    note,
    version_of,
)
from resolvers.core_record import shared_searches

SOURCE = SourceName.CORE_RECORD

CATEGORY_SYSTEM = "https://summary-gateway.example/fhir/CodeSystem/critical-info-category"
"""The core record's own code system for the kinds of critical information (``infection``,
``ongoing-treatment``, ``procedure-change``…) and the marker below."""

CRITICAL_INFORMATION = "critical-information"
"""The marker: a category coding ``CATEGORY_SYSTEM`` | ``critical-information`` is how the
core record says a Condition, Procedure or Flag *is* critical information (kritisk informasjon),
as opposed to the rest of a patient's problem list, procedure history and flags that a FHIR
server may hold. Only entries that carry it are shown as critical information; the rest are not
errors, just not critical information. On a Condition and a Flag it is a ``category`` entry of
its own; on a Procedure (whose ``category`` is one concept in R4) a second coding of it, next to
the kind (``ongoing-treatment`` or ``procedure-change``). docs/fhir-profile.md, "Core record"."""

ATC_SYSTEMS = frozenset({ATC_SYSTEM})
ICD10_SYSTEMS = frozenset({ICD10_SYSTEM, ICD10_NO_SYSTEM})
"""ICD-10, as HL7 names it and as the Norwegian Directorate of eHealth's OID (volven 7110)."""

# Condition clinical statuses that are "active" (recurrence and relapse are kinds of active in
# the condition-clinical hierarchy); inactive, remission and resolved are not.
_ACTIVE_CONDITION = frozenset({"active", "recurrence", "relapse"})
# Procedure statuses in which a procedure change still applies; an ongoing treatment is shown
# only in-progress. not-done (refuted) and entered-in-error never are.
_PROCEDURE_CHANGE_SHOWN = frozenset({"completed", "in-progress", "stopped"})
_SEVERITY_ORDER = ("mild", "moderate", "severe")


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
    agent: Code | None = strawberry.field(
        description="What the patient reacts to: the ATC coding for drugs when there is one, "
        "else the first coding; display is the record's text for the substance, else the "
        "coding's display. Falls back to the first reaction's substance. Null when not stated."
    )
    agent_codings: list[Coding] = strawberry.field(
        description="Every coding of the substance, with its code system's name."
    )
    kind: str | None = strawberry.field(description="allergy or intolerance.")
    categories: list[str] = strawberry.field(description="medication, food, environment…")
    criticality: Criticality | None = strawberry.field(description="Low, high, unable to assess.")
    verification: VerificationStatus | None = strawberry.field(description="How certain it is.")
    clinical_status: ClinicalStatus | None = strawberry.field(description="Whether it applies.")
    reaction: str | None = strawberry.field(
        description="The reactions seen (each manifestation's text, else its coding's display; "
        "several joined by '; ')."
    )
    severity: str | None = strawberry.field(
        description="mild, moderate or severe: the most severe of the reactions."
    )
    onset: FhirDateTime | None = strawberry.field(
        description="When it began, at the precision recorded (may be a year)."
    )
    recorded_at: FhirDateTime | None = strawberry.field(
        description="When it was registered, at the precision recorded."
    )
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(
    description="A critical medical condition (often a rare disease), marked as critical "
    "information in the core record and active."
)
class CriticalCondition:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    condition: Code | None = strawberry.field(
        description="The condition's ICD-10 coding; null when the record did not code it in "
        "ICD-10 (see codings)."
    )
    description: str | None = strawberry.field(
        description="The condition in words: the record's text, else a coding's display."
    )
    codings: list[Coding] = strawberry.field(
        description="Every coding of the condition (ICD-10, SNOMED CT…), with its system's name."
    )
    clinical_status: ClinicalStatus | None = strawberry.field(description="Whether it applies.")
    verification: VerificationStatus | None = strawberry.field(description="How certain it is.")
    note: str | None = strawberry.field(description="What others must know.")
    recorded_at: FhirDateTime | None = strawberry.field(
        description="When it was registered, at the precision recorded."
    )
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(
    description="Ongoing treatment (dialysis, cytostatics…) or another procedure change, "
    "marked as critical information in the core record."
)
class Treatment:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    ongoing: bool = strawberry.field(
        description="Ongoing treatment (in progress); false for other procedure changes."
    )
    description: str | None = strawberry.field(
        description="The treatment, e.g. 'Dialyse': the record's text, else a coding's display."
    )
    status: str | None = strawberry.field(description="in-progress, completed, stopped.")
    started: FhirDateTime | None = strawberry.field(
        description="When it began, at the precision recorded."
    )
    note: str | None = strawberry.field(description="What others must know.")
    recorded_by: HealthPersonnel | None = strawberry.field(description="Who registered it.")


@strawberry.type(description="An implant, such as a pacemaker.")
class Implant:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    device: str | None = strawberry.field(description="The implant.")
    implanted_at: FhirDateTime | None = strawberry.field(
        description="When it was implanted, at the precision recorded."
    )
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
    since: FhirDateTime | None = strawberry.field(
        description="Since when it applies, at the precision recorded."
    )
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


def _category_concepts(resource: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """``category`` as a list of concepts (a Procedure has one, a Condition or Flag several)."""
    category = resource.get("category")
    concepts = category if isinstance(category, list) else [category]
    return [c for c in concepts if isinstance(c, Mapping)]


def _category_codes(resource: Mapping[str, Any]) -> list[str]:
    """The codes of ``CATEGORY_SYSTEM`` among a resource's categories, in order."""
    return [
        coding["code"]
        for concept in _category_concepts(resource)
        for coding in concept.get("coding") or ()
        if isinstance(coding, Mapping)
        and coding.get("system") == CATEGORY_SYSTEM
        and isinstance(coding.get("code"), str)
    ]


def is_critical_information(resource: Mapping[str, Any]) -> bool:
    """Whether the record marks the entry as critical information (``CRITICAL_INFORMATION``)."""
    return CRITICAL_INFORMATION in _category_codes(resource)


def kind_of(resource: Mapping[str, Any]) -> str | None:
    """The kind of critical information (``infection``, ``ongoing-treatment``…): the first
    code of ``CATEGORY_SYSTEM`` that is not the marker."""
    return next((c for c in _category_codes(resource) if c != CRITICAL_INFORMATION), None)


def shown_condition(resource: Mapping[str, Any]) -> bool:
    """A clinician's Condition is a critical condition when marked and clinically active."""
    status = _status_code(resource.get("clinicalStatus"))
    return is_critical_information(resource) and status in _ACTIVE_CONDITION


def shown_treatment(resource: Mapping[str, Any]) -> bool:
    """A marked Procedure: an ongoing treatment while in progress, a procedure change while
    it still applies."""
    if not is_critical_information(resource):
        return False
    status = resource.get("status")
    if kind_of(resource) == "ongoing-treatment":
        return status == "in-progress"
    return status in _PROCEDURE_CHANGE_SHOWN


def shown_warning(resource: Mapping[str, Any]) -> bool:
    """A Flag is a critical warning when marked and active."""
    return is_critical_information(resource) and resource.get("status") == "active"


def _words(concept: Any) -> str | None:
    """A concept in words: its text, else the first coding's display."""
    if not isinstance(concept, Mapping):
        return None
    codings_ = [c for c in concept.get("coding") or () if isinstance(c, Mapping)]
    displays = (text(c.get("display")) for c in codings_)
    return text(concept.get("text")) or next((d for d in displays if d), None)


def _coded(concept: Any, systems: frozenset[str] | None = None) -> Code | None:
    """A concept's coding from ``systems`` (None: the first coding) with its display, else the
    concept's words; None when there is no such coding and (for any system) no words."""
    if not isinstance(concept, Mapping):
        return None
    found = [
        c
        for c in concept.get("coding") or ()
        if isinstance(c, Mapping) and (systems is None or c.get("system") in systems)
    ]
    if systems is not None and not found:
        return None
    chosen = found[0] if found else {}
    result = Code(
        system=text(chosen.get("system")),
        code=text(chosen.get("code")),
        display=text(chosen.get("display")) or text(concept.get("text")),
    )
    return None if result.system is None and result.code is None and not result.display else result


def _personnel(reference: Any) -> HealthPersonnel | None:
    """Who registered an entry; None when the reference names nobody we can show (an id-only
    ``Practitioner/x`` reference has no HPR number or name here)."""
    person = health_personnel(reference)
    if person is None or (person.hpr_number is None and person.name is None):
        return None
    return person


def _date(value: Any) -> FhirDateTime | None:
    """A FHIR date or dateTime at its own precision (a year is a date, not an error)."""
    return FhirDateTime.parse(value)


def _agent(resource: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The substance: ``code``, else the first reaction's ``substance`` (R4 allows either)."""
    for concept in (resource.get("code"), first(resource.get("reaction")).get("substance")):
        if isinstance(concept, Mapping) and (concept.get("coding") or concept.get("text")):
            return concept
    return None


def _agent_code(concept: Mapping[str, Any] | None) -> Code | None:
    """The ATC coding of a drug when there is one, else the first; in the record's words."""
    if concept is None:
        return None
    coded = _coded(concept, ATC_SYSTEMS) or _coded(concept)
    if coded is None:
        return None
    return Code(system=coded.system, code=coded.code, display=_words(concept))


def _reactions(resource: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """Every reaction's manifestations in words (joined, without repeats) and the most severe
    severity. A manifestation is coded (SNOMED "Anaphylactic reaction") or text; both count."""
    seen: list[str] = []
    severities: list[str] = []
    for reaction in resource.get("reaction") or ():
        if not isinstance(reaction, Mapping):
            continue
        for manifestation in reaction.get("manifestation") or ():
            words = _words(manifestation)
            if words and words not in seen:
                seen.append(words)
        severity = text(reaction.get("severity"))
        if severity is not None:
            severities.append(severity)
    known = [s for s in severities if s in _SEVERITY_ORDER]
    worst = max(known, key=_SEVERITY_ORDER.index) if known else next(iter(severities), None)
    return ("; ".join(seen) or None), worst


def allergy(resource: Mapping[str, Any]) -> Allergy:
    """Map an AllergyIntolerance."""
    agent = _agent(resource)
    reaction, severity = _reactions(resource)
    return Allergy(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        agent=_agent_code(agent),
        agent_codings=codings(agent),
        kind=text(resource.get("type")),
        categories=[c for c in resource.get("category") or () if isinstance(c, str)],
        criticality=_enum(Criticality, resource.get("criticality")),
        verification=_enum(VerificationStatus, _status_code(resource.get("verificationStatus"))),
        clinical_status=_enum(ClinicalStatus, _status_code(resource.get("clinicalStatus"))),
        reaction=reaction,
        severity=severity,
        onset=_date(resource.get("onsetDateTime")),
        recorded_at=_date(resource.get("recordedDate")),
        recorded_by=_personnel(resource.get("recorder")),
    )


def critical_condition(resource: Mapping[str, Any]) -> CriticalCondition:
    """Map a clinician's Condition that ``shown_condition`` lets through."""
    concept = resource.get("code")
    return CriticalCondition(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        condition=_coded(concept, ICD10_SYSTEMS),
        description=_words(concept),
        codings=codings(concept),
        clinical_status=_enum(ClinicalStatus, _status_code(resource.get("clinicalStatus"))),
        verification=_enum(VerificationStatus, _status_code(resource.get("verificationStatus"))),
        note=note(resource),
        recorded_at=_date(resource.get("recordedDate")),
        recorded_by=_personnel(resource.get("recorder")),
    )


def treatment(resource: Mapping[str, Any]) -> Treatment:
    """Map a Procedure that ``shown_treatment`` lets through."""
    started = (resource.get("performedPeriod") or {}).get("start")
    status = text(resource.get("status"))
    return Treatment(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        ongoing=kind_of(resource) == "ongoing-treatment" and status == "in-progress",
        description=_words(resource.get("code")),
        status=status,
        started=_date(started if started is not None else resource.get("performedDateTime")),
        note=note(resource),
        recorded_by=_personnel(resource.get("recorder")),
    )


def implant(resource: Mapping[str, Any]) -> Implant:
    """Map a DeviceUseStatement."""
    return Implant(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        # R4 names the device by reference; its display is the implant's name.
        device=text((resource.get("device") or {}).get("display")),
        implanted_at=_date(resource.get("timingDateTime")),
        note=note(resource),
    )


def warning(resource: Mapping[str, Any]) -> ClinicalWarning:
    """Map a clinician's Flag that ``shown_warning`` lets through."""
    return ClinicalWarning(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        category=kind_of(resource),
        description=_words(resource.get("code")),
        since=_date((resource.get("period") or {}).get("start")),
        recorded_by=_personnel(resource.get("author")),
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
