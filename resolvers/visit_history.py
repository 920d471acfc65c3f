"""Hospital visit history from Norsk pasientregister (NPR): time and place, never diagnoses."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.fhir_date import FhirDateTime
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SourceName, count, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, Page
from gateway.upstream.fhir import FhirSource, SearchResult, extension_value, first, text
from resolvers.common import Organization, newest_first, organization

SOURCE = SourceName.VISIT_HISTORY
REPORTED_AS_WRONG = "https://summary-gateway.example/fhir/StructureDefinition/reported-as-wrong"
# NPR holds visits since 2008; asking for the period keeps real registries from scanning history.
HISTORY_START = "2008-01-01"
# The same window, applied again to the answer: a server that ignores ``date`` must not show
# visits from before it.
_WINDOW_START = dt.datetime.fromisoformat(HISTORY_START).replace(tzinfo=dt.UTC)


@strawberry.enum(description="What kind of contact the visit was.")
class VisitKind(Enum):
    OUTPATIENT = strawberry.enum_value("OUTPATIENT", description="Outpatient consultation (AMB).")
    ADMISSION = strawberry.enum_value("ADMISSION", description="Inpatient admission (IMP).")
    DAY_TREATMENT = strawberry.enum_value("DAY_TREATMENT", description="Day treatment (SS).")
    EMERGENCY = strawberry.enum_value("EMERGENCY", description="Emergency contact (EMER).")
    OTHER = strawberry.enum_value("OTHER", description="Another kind of contact.")


_KINDS = {
    "AMB": VisitKind.OUTPATIENT,
    "IMP": VisitKind.ADMISSION,
    "SS": VisitKind.DAY_TREATMENT,
    "EMER": VisitKind.EMERGENCY,
}


@strawberry.type(description="One hospital visit: when and where, nothing about why.")
class Visit:
    id: strawberry.ID = strawberry.field(description="The registry's id for the visit.")
    kind: VisitKind = strawberry.field(description="Outpatient, admission, day treatment…")
    start: FhirDateTime | None = strawberry.field(description="When the visit began.")
    end: FhirDateTime | None = strawberry.field(description="When it ended; null if ongoing.")
    institution: Organization | None = strawberry.field(description="Hospital or health trust.")
    department: str | None = strawberry.field(description="The department.")
    reported_as_wrong: bool = strawberry.field(
        description="The patient has reported this visit as wrong."
    )


@strawberry.type(description="Hospital visits since 2008, from NPR.")
class VisitHistorySection(Section):
    _visits: strawberry.Private[Fetched[list[Visit]]]

    @strawberry.field(description="Visits, newest first. Null when they could not be read.")
    def visits(self) -> list[Visit] | None:
        return self._visits.unwrap()


def _visit(resource: Mapping[str, Any]) -> Visit:
    period = resource.get("period") or {}
    location = first(resource.get("location")).get("location") or {}
    return Visit(
        id=strawberry.ID(resource["id"]),
        kind=_KINDS.get((resource.get("class") or {}).get("code", ""), VisitKind.OTHER),
        start=FhirDateTime.parse(period.get("start")),
        end=FhirDateTime.parse(period.get("end")),
        institution=organization(resource.get("serviceProvider")),
        department=text(location.get("display")),
        reported_as_wrong=extension_value(resource, REPORTED_AS_WRONG, "valueBoolean") is True,
    )


def _in_window(visit: Visit) -> bool:
    """What ``date=ge2008-01-01`` matches (FHIR R4 search on ``Encounter.period``): a visit
    that may reach into the window. One that ended before it is dropped; an ongoing one (no end)
    is kept; one with no dates at all matches no date search and is dropped."""
    end = visit.end
    if end is None:
        return visit.start is not None
    return end.earliest >= _WINDOW_START or end.latest > _WINDOW_START


def build_visits(result: SearchResult) -> list[Visit]:
    """An Encounter search's visits within the history window, newest first."""
    visits = [_visit(r) for r in result.matches]
    return newest_first([v for v in visits if _in_window(v)], "start")


class VisitHistoryClient:
    """Typed reads from NPR."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def visits(self, nin: NationalIdentityNumber) -> Page[list[Visit]]:
        """Every visit since 2008, newest first."""
        return await self._fhir.fetch(
            "Encounter",
            [("date", f"ge{HISTORY_START}")],
            build_visits,
            patient=nin,
            by="subject",
        )


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> tuple[asyncio.Future[Fetched[list[Visit]]]]:
    """Start (or join) this request's search for the visit history."""
    client = ctx.clients.visit_history
    return (ctx.fetches.search(SOURCE.value, "Encounter", nin.value, lambda: client.visits(nin)),)


async def visit_history_section(ctx: Context, nin: NationalIdentityNumber) -> VisitHistorySection:
    """The visit history section for ``nin``."""
    visits = await prefetch(ctx, nin)[0]
    return VisitHistorySection(**section_fields(SOURCE, [visits], count(visits)), _visits=visits)
