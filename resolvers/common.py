"""Small value types several registries share, and their FHIR readers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry

from gateway.fhir_date import sort_key
from gateway.upstream.fhir import first, identifier_value, text

HPR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.4"
ORGANISATION_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.101"

ATC_SYSTEM = "http://www.whocc.no/atc"
SNOMED_SYSTEM = "http://snomed.info/sct"
RXNORM_SYSTEM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
ICD10_NO_SYSTEM = "urn:oid:2.16.578.1.12.4.1.1.7110"  # ICD-10 as Volven 7110 publishes it
LOINC_SYSTEM = "http://loinc.org"

# Readable names of the code systems a reader is likely to recognise; any other system is shown
# by its URI alone (systemName null), never guessed.
_SYSTEM_NAMES = {
    ATC_SYSTEM: "ATC",
    SNOMED_SYSTEM: "SNOMED CT",
    RXNORM_SYSTEM: "RxNorm",
    ICD10_SYSTEM: "ICD-10",
    ICD10_NO_SYSTEM: "ICD-10",
    LOINC_SYSTEM: "LOINC",
}


@strawberry.type(description="A health professional, named in the health personnel register.")
class HealthPersonnel:
    hpr_number: str | None = strawberry.field(description="HPR number.")
    name: str | None = strawberry.field(description="Full name as the source gives it.")


@strawberry.type(description="An organisation: a hospital, pharmacy, laboratory or GP office.")
class Organization:
    name: str | None = strawberry.field(description="The organisation's name.")
    organization_number: str | None = strawberry.field(
        description="Norwegian organisation number (Enhetsregisteret)."
    )


@strawberry.type(description="A coded concept: a code from a code system, with its display text.")
class Code:
    system: str | None = strawberry.field(description="The code system (URI or OID).")
    code: str | None = strawberry.field(description="The code.")
    display: str | None = strawberry.field(description="Human-readable text for the code.")


@strawberry.type(description="One coding of a concept: a code in a named code system.")
class Coding:
    system: str | None = strawberry.field(description="The code system's URI or OID.")
    system_name: str | None = strawberry.field(
        description='A readable name of the code system ("ATC", "RxNorm", "SNOMED CT", '
        '"ICD-10", "LOINC"); null for a system the gateway does not name.'
    )
    code: str | None = strawberry.field(description="The code.")
    display: str | None = strawberry.field(description="The source's text for the code.")


@strawberry.type(description="A measured amount.")
class Quantity:
    value: float | None = strawberry.field(description="The number.")
    unit: str | None = strawberry.field(description="The unit, as the source writes it.")


def health_personnel(reference: Any) -> HealthPersonnel | None:
    """A person from a FHIR reference with an HPR identifier and a display name."""
    if not isinstance(reference, Mapping) or not reference:
        return None
    return HealthPersonnel(
        hpr_number=identifier_value(reference, HPR_SYSTEM), name=text(reference.get("display"))
    )


def organization(reference: Any) -> Organization | None:
    """An organisation from a FHIR reference with an organisation-number identifier."""
    if not isinstance(reference, Mapping) or not reference:
        return None
    return Organization(
        name=text(reference.get("display")),
        organization_number=identifier_value(reference, ORGANISATION_SYSTEM),
    )


def code(concept: Any) -> Code:
    """The first coding of a CodeableConcept (its text when it has no display)."""
    concept = concept if isinstance(concept, Mapping) else {}
    coding = first(concept.get("coding"))
    return Code(
        system=text(coding.get("system")),
        code=text(coding.get("code")),
        display=text(coding.get("display")) or text(concept.get("text")),
    )


def codings(concept: Any) -> list[Coding]:
    """Every coding of a CodeableConcept, each with its system, in the source's order (codings
    with neither a code nor a display carry nothing and are left out)."""
    if not isinstance(concept, Mapping):
        return []
    found = []
    for coding in concept.get("coding") or ():
        if not isinstance(coding, Mapping):
            continue
        system, value, display = (
            text(coding.get("system")),
            text(coding.get("code")),
            text(coding.get("display")),
        )
        if value is None and display is None:
            continue
        found.append(
            Coding(
                system=system,
                system_name=_SYSTEM_NAMES.get(system or ""),
                code=value,
                display=display,
            )
        )
    return found


def quantity(value: Any) -> Quantity | None:
    """A FHIR Quantity, or None."""
    if not isinstance(value, Mapping):
        return None
    number = value.get("value")
    if number is not None and not isinstance(number, int | float):
        raise TypeError("Quantity.value is not a number")
    return Quantity(value=None if number is None else float(number), unit=text(value.get("unit")))


def note(resource: Mapping[str, Any]) -> str | None:
    """The first note's text."""
    return text(first(resource.get("note")).get("text"))


def newest_first(items: list[Any], key: str) -> list[Any]:
    """Sort by a date, datetime or ``FhirDateTime`` attribute, newest first, undated last."""

    return sorted(items, key=lambda item: sort_key(getattr(item, key)), reverse=True)


def version_of(resource: Mapping[str, Any]) -> str:
    """An entry's version (``meta.versionId``; an entry never changed is version 1): what a
    change to it is based on."""
    version = (resource.get("meta") or {}).get("versionId")
    return str(version) if version is not None else "1"


def still_current(resource: Mapping[str, Any]) -> bool:
    """Whether an entry is still in force for a reader: not entered in error, not an inactive
    next of kin or communication need. Retired entries stay in the record, unseen."""
    if (
        resource.get("status") in ("entered-in-error", "inactive")
        or resource.get("active") is False
    ):
        return False
    verification = first((resource.get("verificationStatus") or {}).get("coding")).get("code")
    return verification != "entered-in-error"
