"""Who performed or wrote something: a person (a doctor, a nurse) or an organisation (a laboratory,
a hospital). FHIR says which through the reference's target type; a summary that showed a doctor
as "the laboratory" would mislead the reader about who stands behind a result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.upstream.binding import reference_target as literal_target
from gateway.upstream.fhir import first, identifier_value, text
from resolvers.common import HPR_SYSTEM, ORGANISATION_SYSTEM


@strawberry.enum(description="Whether a party is a person or an organisation.")
class PartyKind(Enum):
    PERSON = strawberry.enum_value(
        "PERSON",
        description="A person: Practitioner, PractitionerRole, Patient or RelatedPerson.",
    )
    ORGANISATION = strawberry.enum_value(
        "ORGANISATION", description="An organisation (Organization): a laboratory, a hospital."
    )
    OTHER = strawberry.enum_value("OTHER", description="A device or a care team.")
    UNKNOWN = strawberry.enum_value(
        "UNKNOWN", description="The source did not say what kind of party it is."
    )


_KINDS = {
    "Practitioner": PartyKind.PERSON,
    "PractitionerRole": PartyKind.PERSON,
    "Patient": PartyKind.PERSON,
    "RelatedPerson": PartyKind.PERSON,
    "Organization": PartyKind.ORGANISATION,
    "Device": PartyKind.OTHER,
    "CareTeam": PartyKind.OTHER,
}

Resolver = Callable[[Mapping[str, Any]], Mapping[str, Any] | None]
"""Finds the resource a reference points at among those that came with the answer, if any."""


@strawberry.type(description="A person or an organisation that performed or wrote something.")
class Party:
    kind: PartyKind = strawberry.field(description="Person or organisation.")
    name: str | None = strawberry.field(description="The name as the source gives it.")
    hpr_number: str | None = strawberry.field(
        description="HPR number, for a person in the health personnel register."
    )
    organization_number: str | None = strawberry.field(
        description="Norwegian organisation number (Enhetsregisteret), for an organisation."
    )


def reference_target(reference: Mapping[str, Any]) -> tuple[str, str] | None:
    """(type, id) of a literal reference (``Organization/x``, also absolute or versioned)."""
    ref = text(reference.get("reference"))
    return literal_target(ref) if ref else None


def contained_in(resource: Mapping[str, Any]) -> Resolver:
    """Resolves ``#id`` references among ``resource.contained``."""

    def resolve(reference: Mapping[str, Any]) -> Mapping[str, Any] | None:
        local = text(reference.get("reference"))
        if local is None or not local.startswith("#"):
            return None
        return next(
            (
                c
                for c in resource.get("contained") or ()
                if isinstance(c, Mapping) and f"#{c.get('id')}" == local
            ),
            None,
        )

    return resolve


def resolver_for(resource: Mapping[str, Any], included: Mapping[str, Any]) -> Resolver:
    """Resolves a reference among ``resource``'s contained resources (``#id``) and those that
    came ``included`` with the answer (keyed ``Type/id``)."""
    contained = contained_in(resource)

    def resolve(reference: Mapping[str, Any]) -> Mapping[str, Any] | None:
        target = reference_target(reference)
        if target is None:
            return contained(reference)
        found = included.get(f"{target[0]}/{target[1]}")
        return found if isinstance(found, Mapping) else None

    return resolve


def party(reference: Any, resolve: Resolver | None = None) -> Party | None:
    """The party a FHIR ``Reference`` names. Its kind comes from the reference's ``type``, its
    target type, the resource it resolves to, or else its identifier's system (an HPR number is
    a person's, an organisation number an organisation's)."""
    if not isinstance(reference, Mapping) or not reference:
        return None
    target = resolve(reference) if resolve is not None else None
    target = target if isinstance(target, Mapping) else {}
    resource_type = (
        text(reference.get("type"))
        or (reference_target(reference) or (None, None))[0]
        or text(target.get("resourceType"))
    )
    hpr = identifier_value(reference, HPR_SYSTEM) or identifier_value(target, HPR_SYSTEM)
    org = identifier_value(reference, ORGANISATION_SYSTEM) or identifier_value(
        target, ORGANISATION_SYSTEM
    )
    if resource_type is not None:
        kind = _KINDS.get(resource_type, PartyKind.OTHER)
    elif hpr is not None:
        kind = PartyKind.PERSON
    elif org is not None:
        kind = PartyKind.ORGANISATION
    else:
        kind = PartyKind.UNKNOWN
    return Party(
        kind=kind,
        name=text(reference.get("display")) or _name(target),
        hpr_number=hpr,
        organization_number=org,
    )


def _name(resource: Mapping[str, Any]) -> str | None:
    """An Organization's ``name``, or a person's first ``HumanName`` (its text, else its parts)."""
    name = resource.get("name")
    if isinstance(name, str):
        return text(name)
    human = first(name)
    if not human:
        return None
    given = [g for g in human.get("given") or () if isinstance(g, str)]
    parts = [*given, text(human.get("family")) or ""]
    return text(human.get("text")) or text(" ".join(p for p in parts if p))
