"""FHIR R4 datatypes made from the summary's own value types (codes, dates, people, amounts).

Every builder leaves out what it does not know: FHIR forbids empty elements (``{}``, ``[]``,
``""``), so ``compact`` drops them, and a receiving system never reads an absent value as "none".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gateway.fhir_date import FhirDateTime, Precision
from gateway.ips.profile import BASE
from resolvers.common import HPR_SYSTEM, ORGANISATION_SYSTEM, Code, Coding, HealthPersonnel
from resolvers.common import Organization as OrganisationValue
from resolvers.common import Quantity as QuantityValue
from resolvers.parties import Party, PartyKind

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def compact(value: Any) -> Any:
    """``value`` without empty strings, lists and objects, or None, at any depth."""
    if isinstance(value, Mapping):
        kept = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [compact(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


def compacted(value: Mapping[str, Any]) -> dict[str, Any]:
    """An element or resource without its empty parts (``compact`` of an object)."""
    result: dict[str, Any] = compact(value)
    return result


def coding(system: str | None, code: str | None, display: str | None = None) -> dict[str, Any]:
    return {k: v for k, v in {"system": system, "code": code, "display": display}.items() if v}


def concept(
    codings: Iterable[Coding | Code] = (), text: str | None = None
) -> dict[str, Any] | None:
    """A CodeableConcept from the codings the source gave, with ``text`` as the words to show."""
    result: dict[str, Any] = compact(
        {"coding": [coding(c.system, c.code, c.display) for c in codings], "text": text}
    )
    return result or None


def text_concept(text: str | None) -> dict[str, Any] | None:
    return {"text": text} if text else None


def date_time(value: FhirDateTime | None) -> str | None:
    """A FHIR ``dateTime`` at the precision the source recorded (a year stays a year)."""
    return value.text if value is not None else None


def date_only(value: FhirDateTime | None) -> str | None:
    """A FHIR ``date``: the date part of a dateTime (a birth date recorded with a time)."""
    if value is None:
        return None
    return value.text if value.precision is not Precision.TIME else value.text[:10]


def instant(value: FhirDateTime | None) -> str | None:
    """A FHIR ``instant`` (``issued``, ``DocumentReference.date``) needs a full timestamp with
    a zone: a less precise value is left out rather than invented."""
    # A FHIR dateTime with a time always has a zone (FhirDateTime's pattern requires one).
    return value.text if value is not None and value.precision is Precision.TIME else None


def quantity(value: QuantityValue | None) -> dict[str, Any] | None:
    if value is None or value.value is None:
        return None
    return compacted({"value": value.value, "unit": value.unit})


def identifier(system: str, value: str | None) -> dict[str, Any] | None:
    return {"system": system, "value": value} if value else None


def registry_identifier(source: str, resource_type: str, source_id: str) -> dict[str, Any]:
    """Where an entry came from: the registry, and its own id there (the GraphQL ``id``), so a
    receiver can match the document to the registry and to the GraphQL summary."""
    return {"system": f"{BASE}/sid/{source}", "value": f"{resource_type}/{source_id}"}


def person(personnel: HealthPersonnel | None) -> dict[str, Any] | None:
    """A logical reference to a health professional: HPR number and name, no resource (the
    registries give no more than that, and a document must not point outside itself)."""
    if personnel is None:
        return None
    return (
        compact(
            {
                "type": "Practitioner",
                "identifier": identifier(HPR_SYSTEM, personnel.hpr_number),
                "display": personnel.name,
            }
        )
        or None
    )


def organisation(value: OrganisationValue | None) -> dict[str, Any] | None:
    """A logical reference to an organisation: organisation number and name."""
    if value is None:
        return None
    return (
        compact(
            {
                "type": "Organization",
                "identifier": identifier(ORGANISATION_SYSTEM, value.organization_number),
                "display": value.name,
            }
        )
        or None
    )


_PARTY_TYPES = {PartyKind.PERSON: "Practitioner", PartyKind.ORGANISATION: "Organization"}


def party(value: Party) -> dict[str, Any] | None:
    """A logical reference to a person or an organisation, typed as the source typed it."""
    number = identifier(HPR_SYSTEM, value.hpr_number) or identifier(
        ORGANISATION_SYSTEM, value.organization_number
    )
    return (
        compact({"type": _PARTY_TYPES.get(value.kind), "identifier": number, "display": value.name})
        or None
    )


def narrative_text(div: str) -> dict[str, str]:
    return {"status": "generated", "div": div}
