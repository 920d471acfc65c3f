"""The regular GP, from Fastlegeregisteret.

Standard route (the default): the patient's own ``Patient.generalPractitioner``
(``Patient?identifier=…&_include=Patient:general-practitioner``), whose references name a
PractitionerRole (the GP relation, with its period, practitioner and office), or a Practitioner
and an Organization. The Norwegian route (``sources.gp_registry.routes = "norwegian"``) asks
``PractitionerRole?patient:identifier=…``, a parameter only Fastlegeregisteret's dialect has.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import strawberry

from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, Page
from gateway.upstream.fhir import (
    FhirSource,
    SearchResult,
    first,
    identifier_value,
    parse_date,
    text,
)
from resolvers.common import HPR_SYSTEM, ORGANISATION_SYSTEM, newest_first

SOURCE = SourceName.GP_REGISTRY


@strawberry.type(description="A GP office.")
class GpOffice:
    name: str | None = strawberry.field(description="The office's name.")
    organization_number: str | None = strawberry.field(description="Organisation number.")
    address: str | None = strawberry.field(description="Street address, postcode and town.")
    phone: str | None = strawberry.field(description="The office's phone number.")


@strawberry.type(description="The patient's regular GP (fastlege) and the period of that relation.")
class RegularGp:
    hpr_number: str | None = strawberry.field(description="The GP's HPR number.")
    name: str | None = strawberry.field(description="The GP's full name.")
    phone: str | None = strawberry.field(description="The GP's phone number, where listed.")
    office: GpOffice | None = strawberry.field(description="The GP office.")
    since: dt.date | None = strawberry.field(description="First day of the GP relation.")
    until: dt.date | None = strawberry.field(description="Last day of the relation, if it ends.")


@strawberry.type(description="The regular GP from Fastlegeregisteret.")
class GeneralPractitionerSection(Section):
    _gp: strawberry.Private[Fetched[RegularGp | None]]

    @strawberry.field(
        description="The current regular GP. Null with status COMPLETE and emptyReason "
        "NONE_RECORDED when the patient has none; null with an error when the registry failed."
    )
    def regular_gp(self) -> RegularGp | None:
        return self._gp.unwrap()


def _phone(resource: Mapping[str, Any]) -> str | None:
    for telecom in resource.get("telecom") or ():
        if telecom.get("system") == "phone":
            return text(telecom.get("value"))
    return None


def _address(organization: Mapping[str, Any]) -> str | None:
    address = first(organization.get("address"))
    if not address:
        return None
    town = " ".join(filter(None, [text(address.get("postalCode")), text(address.get("city"))]))
    return ", ".join(filter(None, [*(address.get("line") or []), town])) or None


def _name(resource: Mapping[str, Any]) -> str | None:
    name = first(resource.get("name"))
    return " ".join([*(name.get("given") or []), name.get("family") or ""]).strip() or None


def _regular_gp(result: SearchResult) -> RegularGp | None:
    relations = []
    for role in result.matches:
        if role.get("active") is False:
            continue
        practitioner = result.resolve(role.get("practitioner")) or {}
        office = result.resolve(role.get("organization"))
        relations.append(_relation(practitioner, office, role.get("period") or {}))
    current = newest_first(relations, "since")
    return current[0] if current else None


def _relation(
    practitioner: Mapping[str, Any], office: Mapping[str, Any] | None, period: Mapping[str, Any]
) -> RegularGp:
    return RegularGp(
        hpr_number=identifier_value(practitioner, HPR_SYSTEM),
        name=_name(practitioner),
        phone=_phone(practitioner),
        office=GpOffice(
            name=text(office.get("name")),
            organization_number=identifier_value(office, ORGANISATION_SYSTEM),
            address=_address(office),
            phone=_phone(office),
        )
        if office
        else None,
        since=parse_date(period.get("start")),
        until=parse_date(period.get("end")),
    )


def _gp_of_patient(result: SearchResult) -> RegularGp | None:
    """The GP a Patient names in ``generalPractitioner``: a PractitionerRole (the relation), or
    a Practitioner with an Organization (the office). None when it names none."""
    if not result.matches:
        return None
    references = result.matches[0].get("generalPractitioner") or []
    targets = [result.resolve(r) for r in references]
    if any(t is None for t in targets):
        # A GP named but not included: showing "no GP" (or half of one) would be wrong.
        raise ValueError("a generalPractitioner reference that did not come along")
    roles = [t for t in targets if t and t.get("resourceType") == "PractitionerRole"]
    if roles:
        return _regular_gp(dataclasses.replace(result, matches=roles))
    practitioner = next((t for t in targets if t and t["resourceType"] == "Practitioner"), None)
    office = next((t for t in targets if t and t["resourceType"] == "Organization"), None)
    if practitioner is None and office is None:
        return None
    return _relation(practitioner or {}, office, {})


class GpRegistryClient:
    """Typed reads from the GP registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    @property
    def resource_type(self) -> str:
        """What the GP search searches: the patient (standard) or GP relations (Norwegian)."""
        return "PractitionerRole" if self._fhir.routes == "norwegian" else "Patient"

    async def regular_gp(self, nin: NationalIdentityNumber) -> Page[RegularGp | None]:
        """The patient's current regular GP, or None when they have none."""
        if self._fhir.routes == "norwegian":
            return await self._fhir.fetch(
                "PractitionerRole",
                [
                    ("_include", "PractitionerRole:practitioner"),
                    ("_include", "PractitionerRole:organization"),
                ],
                _regular_gp,
                patient=nin,
                by="patient",
            )
        result = await self._fhir.search(
            "Patient",
            [
                ("identifier", nin.fhir_token),
                ("_include", "Patient:general-practitioner"),
                ("_include:iterate", "PractitionerRole:practitioner"),
                ("_include:iterate", "PractitionerRole:organization"),
            ],
            patient=nin,
        )
        # A server that does not honour the includes (or only the first level, as many do not
        # ``:iterate``) has the GP, the relation or the office read by id: a GP shown without
        # a name would be a GP lost.
        named = [r for p in result.matches for r in p.get("generalPractitioner") or ()]
        result = await self._fhir.with_referenced(result, named, patient=nin)
        roles = [result.resolve(r) or {} for r in named]
        result = await self._fhir.with_referenced(
            result,
            [
                role.get(element)
                for role in roles
                if role.get("resourceType") == "PractitionerRole"
                for element in ("practitioner", "organization")
            ],
            patient=nin,
        )
        return self._fhir.page(result, _gp_of_patient)


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> tuple[asyncio.Future[Fetched[RegularGp | None]]]:
    """Start (or join) this request's search for the GP section."""
    client = ctx.clients.gp_registry
    return (
        ctx.fetches.search(
            SOURCE.value, client.resource_type, nin.value, lambda: client.regular_gp(nin)
        ),
    )


async def general_practitioner_section(
    ctx: Context, nin: NationalIdentityNumber
) -> GeneralPractitionerSection:
    """The GP section for ``nin``."""
    (gp,) = prefetch(ctx, nin)
    fetched = await gp
    return GeneralPractitionerSection(
        **section_fields(SOURCE, [fetched], 1 if fetched.value else 0), _gp=fetched
    )
