"""The patient's own registrations: next of kin, communication needs, self-reported diseases."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import strawberry

from gateway.fhir_date import FhirDateTime
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, count, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, all_of
from gateway.upstream.fhir import first, text
from resolvers.common import Coding, codings, version_of
from resolvers.core_record import shared_searches
from resolvers.core_record.demographics import CorePatient, Language
from resolvers.core_record.demographics import prefetch as prefetch_patient

SOURCE = SourceName.CORE_RECORD


@strawberry.type(description="A next of kin or other contact the patient has registered.")
class NextOfKin:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    name: str | None = strawberry.field(description="Full name.")
    relationship: str | None = strawberry.field(
        description="The relationship's v3 RoleCode code (SPS, WIFE, CHILD…); null when the "
        "record gives none in that system (see relationshipCodings)."
    )
    relationship_display: str | None = strawberry.field(
        description="The relationship in words: the record's text, else a coding's display, "
        "else the readable name of a known code (v3 RoleCode, HL7 v2 table 0131)."
    )
    relationship_codings: list[Coding] = strawberry.field(
        description="Every coding of the relationship, with its code system's name."
    )
    phone: str | None = strawberry.field(description="Phone number.")


@strawberry.type(description="A special need when communicating with the patient.")
class CommunicationNeed:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    description: str | None = strawberry.field(description="e.g. 'Nedsatt hørsel'.")
    since: FhirDateTime | None = strawberry.field(
        description="Since when it applies, at the precision recorded."
    )


@strawberry.type(description="How to communicate with the patient.")
class CommunicationNeeds:
    interpreter_required: bool | None = strawberry.field(
        description="The patient needs an interpreter; null when not stated."
    )
    languages: list[Language] = strawberry.field(description="Languages the patient uses.")
    needs: list[CommunicationNeed] = strawberry.field(
        description="Hearing, sight and other needs the patient has registered."
    )


@strawberry.type(description="A disease the patient has reported themself (up to 30).")
class SelfReportedCondition:
    id: strawberry.ID = strawberry.field(description="The record's id for the entry.")
    version: str = strawberry.field(description="Its version: the baseVersion of a change to it.")
    description: str | None = strawberry.field(description="In the patient's own words.")
    recorded_at: FhirDateTime | None = strawberry.field(
        description="When it was registered, at the precision recorded."
    )


@strawberry.type(description="What the patient has registered about themself.")
class OwnRegistrationsSection(Section):
    _patient: strawberry.Private[Fetched[CorePatient | None]]
    _related: strawberry.Private[Fetched[list[NextOfKin]]]
    _conditions: strawberry.Private[Fetched[Any]]
    _flags: strawberry.Private[Fetched[Any]]

    @strawberry.field(description="Next of kin and contacts. Null when unreadable.")
    def next_of_kin(self) -> list[NextOfKin] | None:
        return self._related.unwrap()

    @strawberry.field(description="Interpreter, languages and other needs. Null when unreadable.")
    def communication_needs(self) -> CommunicationNeeds | None:
        patient = self._patient.unwrap()
        needs: list[CommunicationNeed] = self._flags.unwrap().communication_needs
        return CommunicationNeeds(
            interpreter_required=patient.interpreter_required if patient else None,
            languages=patient.languages if patient else [],
            needs=needs,
        )

    @strawberry.field(description="Self-reported disease history. Null when unreadable.")
    def self_reported_conditions(self) -> list[SelfReportedCondition] | None:
        conditions: list[SelfReportedCondition] = self._conditions.unwrap().self_reported
        return conditions


ROLE_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CONTACT_ROLE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v2-0131"

# Readable names of the relationship codes a record is likely to send without a display.
RELATIONSHIP_NAMES = {
    ROLE_CODE_SYSTEM: {
        "SPS": "spouse",
        "WIFE": "wife",
        "HUSB": "husband",
        "DOMPART": "domestic partner",
        "SIGOTHR": "significant other",
        "PRN": "parent",
        "MTH": "mother",
        "FTH": "father",
        "CHILD": "child",
        "DAU": "daughter",
        "SON": "son",
        "SIB": "sibling",
        "SIS": "sister",
        "BRO": "brother",
        "GRPRN": "grandparent",
        "GRNDCHILD": "grandchild",
        "FAMMEMB": "family member",
        "FRND": "unrelated friend",
        "NBOR": "neighbor",
        "GUARD": "guardian",
    },
    CONTACT_ROLE_SYSTEM: {
        "BP": "Billing contact person",
        "C": "Emergency contact",
        "CP": "Contact person",
        "E": "Employer",
        "EP": "Emergency contact person",
        "F": "Federal agency",
        "I": "Insurance company",
        "N": "Next-of-kin",
        "O": "Other",
        "PR": "Person preparing referral",
        "S": "State agency",
        "U": "Unknown",
    },
}


def _relationship_words(concepts: list[Mapping[str, Any]]) -> str | None:
    """The relationship in words: a text, else a coding's display, else a known code's name."""
    all_codings = [c for concept in concepts for c in concept.get("coding") or ()]
    for candidate in (
        *(concept.get("text") for concept in concepts),
        *(coding.get("display") for coding in all_codings),
        *(
            RELATIONSHIP_NAMES.get(coding.get("system"), {}).get(coding.get("code"))
            for coding in all_codings
        ),
    ):
        if words := text(candidate):
            return words
    return None


def next_of_kin(resource: Mapping[str, Any]) -> NextOfKin:
    """Map a RelatedPerson."""
    name = first(resource.get("name"))
    concepts = [c for c in resource.get("relationship") or () if isinstance(c, Mapping)]
    role: Mapping[str, Any] = next(
        (
            coding
            for concept in concepts
            for coding in concept.get("coding") or ()
            if coding.get("system") == ROLE_CODE_SYSTEM
        ),
        {},
    )
    phones = [t for t in resource.get("telecom") or () if t.get("system") == "phone"]
    phone = phones[0] if phones else {}
    return NextOfKin(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        name=" ".join([*(name.get("given") or []), name.get("family") or ""]).strip() or None,
        relationship=text(role.get("code")),
        relationship_display=_relationship_words(concepts),
        relationship_codings=[c for concept in concepts for c in codings(concept)],
        phone=text(phone.get("value")),
    )


def self_reported_condition(resource: Mapping[str, Any]) -> SelfReportedCondition:
    """Map a Condition the patient asserted."""
    return SelfReportedCondition(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        description=text((resource.get("code") or {}).get("text")),
        recorded_at=FhirDateTime.parse(resource.get("recordedDate")),
    )


def communication_need(resource: Mapping[str, Any]) -> CommunicationNeed:
    """Map the patient's communication-need Flag."""
    return CommunicationNeed(
        id=strawberry.ID(resource["id"]),
        version=version_of(resource),
        description=text((resource.get("code") or {}).get("text")),
        since=FhirDateTime.parse((resource.get("period") or {}).get("start")),
    )


def prefetch(ctx: Context, nin: NationalIdentityNumber) -> list[asyncio.Future[Fetched[Any]]]:
    """Start (or join) this request's searches for the patient's own registrations."""
    core = ctx.clients.core_record
    key = nin.value
    return [
        prefetch_patient(ctx, nin),
        ctx.fetches.search(SOURCE.value, "RelatedPerson", key, lambda: core.next_of_kin(nin)),
        shared_searches.conditions(ctx, nin),
        shared_searches.flags(ctx, nin),
    ]


async def own_registrations_section(
    ctx: Context, nin: NationalIdentityNumber
) -> OwnRegistrationsSection:
    """The patient's own registrations for ``nin``."""
    patient, related, conditions, flags = await all_of(*prefetch(ctx, nin))
    entries = count(related)
    entries += len(conditions.value.self_reported) if conditions.value else 0
    entries += len(flags.value.communication_needs) if flags.value else 0
    if patient.value and (patient.value.languages or patient.value.interpreter_required):
        entries += 1
    return OwnRegistrationsSection(
        **section_fields(SOURCE, [patient, related, conditions, flags], entries),
        _patient=patient,
        _related=related,
        _conditions=conditions,
        _flags=flags,
    )
