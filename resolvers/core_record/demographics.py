"""About the patient: name, birth date, gender, municipality, death (the FHIR ``Patient``)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import strawberry

from gateway.fhir_date import FhirDateTime
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, count, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched
from gateway.upstream.fhir import extension_value, first, text

SOURCE = SourceName.CORE_RECORD
MUNICIPALITY_CODE = "https://summary-gateway.example/fhir/StructureDefinition/municipality-code"
INTERPRETER_REQUIRED = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
LANGUAGE_SYSTEM = "urn:ietf:bcp:47"


@strawberry.enum(description="Administrative gender, as FHIR records it.")
class Gender(Enum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"
    UNKNOWN = "unknown"


@strawberry.type(description="A Norwegian municipality.")
class Municipality:
    name: str | None = strawberry.field(description="The municipality's name.")
    number: str | None = strawberry.field(description="The 4-digit municipality number.")


@strawberry.type(description="Who the patient is, as the core record has it.")
class PersonDetails:
    given_name: str | None = strawberry.field(description="Given name(s).")
    family_name: str | None = strawberry.field(description="Family name.")
    full_name: str | None = strawberry.field(description="Given and family name together.")
    birth_date: FhirDateTime | None = strawberry.field(
        description="Birth date, at the precision recorded (a year or month when that is all "
        "the record knows)."
    )
    gender: Gender | None = strawberry.field(description="Administrative gender.")
    deceased: bool = strawberry.field(description="The patient has died.")
    deceased_at: FhirDateTime | None = strawberry.field(
        description="When the patient died, at the precision recorded."
    )
    municipality: Municipality | None = strawberry.field(description="Home municipality.")


@strawberry.type(description="A language the patient uses.")
class Language:
    code: str | None = strawberry.field(description="BCP 47 language code, e.g. nb, se, ar.")
    name: str | None = strawberry.field(description="The language's name.")
    preferred: bool = strawberry.field(description="The patient's preferred language.")


@dataclass(frozen=True, slots=True)
class CorePatient:
    """What the core record's ``Patient`` resource gives two sections."""

    details: PersonDetails
    languages: list[Language]
    interpreter_required: bool | None


def core_patient(resource: Mapping[str, Any]) -> CorePatient:
    """Map the FHIR Patient."""
    name = first(resource.get("name"))
    given = " ".join(name.get("given") or []) or None
    family = text(name.get("family"))
    address = first(resource.get("address"))
    gender = resource.get("gender")
    deceased_at = FhirDateTime.parse(resource.get("deceasedDateTime"))
    municipality = Municipality(
        name=text(address.get("district")),
        number=extension_value(address, MUNICIPALITY_CODE, "valueString"),
    )
    details = PersonDetails(
        given_name=given,
        family_name=family,
        full_name=" ".join(filter(None, [given, family])) or None,
        birth_date=FhirDateTime.parse(resource.get("birthDate")),
        gender=Gender(gender) if gender else None,
        deceased=deceased_at is not None or resource.get("deceasedBoolean") is True,
        deceased_at=deceased_at,
        # An address without a district or municipality number (a street address only) is no
        # municipality: null, not an object of nulls.
        municipality=municipality if municipality.name or municipality.number else None,
    )
    languages = []
    for communication in resource.get("communication") or ():
        language = communication.get("language") or {}
        coding = first(language.get("coding"))
        code = text(coding.get("code"))
        called = text(coding.get("display")) or text(language.get("text"))
        if code is None and called is None:
            continue  # a language nobody named is no language
        languages.append(
            Language(code=code, name=called, preferred=communication.get("preferred") is True)
        )
    interpreter = extension_value(resource, INTERPRETER_REQUIRED, "valueBoolean")
    return CorePatient(details, languages, interpreter if isinstance(interpreter, bool) else None)


@strawberry.type(description="About the patient, from the core record.")
class DemographicsSection(Section):
    _patient: strawberry.Private[Fetched[CorePatient | None]]

    @strawberry.field(description="Name, birth date, gender, municipality. Null when unavailable.")
    def details(self) -> PersonDetails | None:
        patient = self._patient.unwrap()
        return patient.details if patient else None


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> asyncio.Future[Fetched[CorePatient | None]]:
    """Start (or join) this request's search for the patient resource."""
    client = ctx.clients.core_record
    return ctx.fetches.search(SOURCE.value, "Patient", nin.value, lambda: client.patient(nin))


async def demographics_section(ctx: Context, nin: NationalIdentityNumber) -> DemographicsSection:
    """The demographics section for ``nin``."""
    patient = await prefetch(ctx, nin)
    return DemographicsSection(
        **section_fields(SOURCE, [patient], count(patient)), _patient=patient
    )
