"""Laboratory results (DiagnosticReport with its Observations), Covid-19 tests among them."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from enum import Enum
from typing import Any

import strawberry

from gateway.context import Context
from gateway.fetch import Fetched, Page
from gateway.fhir import FhirSource, SearchResult, first, parse_datetime, text
from gateway.identity import NationalIdentityNumber
from resolvers.common import (
    Code,
    Organization,
    Quantity,
    code,
    newest_first,
    organization,
    quantity,
)
from resolvers.section import Section, SourceName, count, section_fields

SOURCE = SourceName.LAB_RESULTS
# LOINC codes of SARS-CoV-2 tests the MSIS laboratory database reports.
COVID19_TESTS = frozenset({"94500-6", "94309-2", "94558-4", "94531-1", "95209-3"})


@strawberry.enum(description="How the laboratory judged the result.")
class Interpretation(Enum):
    NORMAL = strawberry.enum_value("NORMAL", description="Within the reference range (N).")
    HIGH = strawberry.enum_value("HIGH", description="Above the reference range (H).")
    LOW = strawberry.enum_value("LOW", description="Below the reference range (L).")
    ABNORMAL = strawberry.enum_value("ABNORMAL", description="Abnormal (A).")
    POSITIVE = strawberry.enum_value("POSITIVE", description="Detected / positive (POS).")
    NEGATIVE = strawberry.enum_value("NEGATIVE", description="Not detected / negative (NEG).")


_INTERPRETATIONS = {
    "N": Interpretation.NORMAL,
    "H": Interpretation.HIGH,
    "HH": Interpretation.HIGH,
    "L": Interpretation.LOW,
    "LL": Interpretation.LOW,
    "A": Interpretation.ABNORMAL,
    "AA": Interpretation.ABNORMAL,
    "POS": Interpretation.POSITIVE,
    "DET": Interpretation.POSITIVE,
    "NEG": Interpretation.NEGATIVE,
    "ND": Interpretation.NEGATIVE,
}


@strawberry.type(description="The range a result is judged against.")
class ReferenceRange:
    low: Quantity | None = strawberry.field(description="Lower limit.")
    high: Quantity | None = strawberry.field(description="Upper limit.")
    text: str | None = strawberry.field(description="The range as text, when given so.")


@strawberry.type(description="One test result.")
class LabResult:
    id: strawberry.ID = strawberry.field(description="The registry's id for the result.")
    test: Code = strawberry.field(description="The test (LOINC or NLK code).")
    value: Quantity | None = strawberry.field(description="A numeric result with its unit.")
    value_text: str | None = strawberry.field(
        description="A result given as text or code, e.g. 'Not detected'."
    )
    reference_range: ReferenceRange | None = strawberry.field(description="The reference range.")
    interpretation: Interpretation | None = strawberry.field(description="The lab's judgement.")
    effective_at: dt.datetime | None = strawberry.field(description="When the sample was taken.")
    is_covid19_test: bool = strawberry.field(description="A SARS-CoV-2 (Covid-19) test.")


@strawberry.type(description="A laboratory report: one ordered test or panel and its results.")
class LabReport:
    id: strawberry.ID = strawberry.field(description="The registry's id for the report.")
    test: Code = strawberry.field(description="The panel or test reported.")
    effective_at: dt.datetime | None = strawberry.field(description="When the sample was taken.")
    issued_at: dt.datetime | None = strawberry.field(description="When the report was issued.")
    laboratory: Organization | None = strawberry.field(description="The performing laboratory.")
    results: list[LabResult] = strawberry.field(description="The report's results.")


@strawberry.type(description="Laboratory results.")
class LabResultsSection(Section):
    _reports: strawberry.Private[Fetched[list[LabReport]]]

    @strawberry.field(description="Reports, newest first. Null when they could not be read.")
    def reports(self) -> list[LabReport] | None:
        return self._reports.unwrap()


def _reference_range(observation: Mapping[str, Any]) -> ReferenceRange | None:
    ranges = first(observation.get("referenceRange"))
    if not ranges:
        return None
    return ReferenceRange(
        low=quantity(ranges.get("low")),
        high=quantity(ranges.get("high")),
        text=text(ranges.get("text")),
    )


def _result(observation: Mapping[str, Any]) -> LabResult:
    test = code(observation.get("code"))
    concept = observation.get("valueCodeableConcept")
    value_text = text(observation.get("valueString"))
    if isinstance(concept, Mapping):
        value_text = text(concept.get("text")) or text(first(concept.get("coding")).get("display"))
    flag = first(first(observation.get("interpretation")).get("coding")).get("code")
    return LabResult(
        id=strawberry.ID(observation["id"]),
        test=test,
        value=quantity(observation.get("valueQuantity")),
        value_text=value_text,
        reference_range=_reference_range(observation),
        interpretation=_INTERPRETATIONS.get(flag) if isinstance(flag, str) else None,
        effective_at=parse_datetime(observation.get("effectiveDateTime")),
        is_covid19_test=test.code in COVID19_TESTS,
    )


def _reports(result: SearchResult) -> list[LabReport]:
    reports = []
    for report in result.matches:
        observations = (result.resolve(ref) for ref in report.get("result") or ())
        reports.append(
            LabReport(
                id=strawberry.ID(report["id"]),
                test=code(report.get("code")),
                effective_at=parse_datetime(report.get("effectiveDateTime")),
                issued_at=parse_datetime(report.get("issued")),
                laboratory=organization(first(report.get("performer"))),
                results=[_result(o) for o in observations if o is not None],
            )
        )
    return newest_first(reports, "effective_at")


class LabResultsClient:
    """Typed reads from the laboratory results registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def reports(self, nin: NationalIdentityNumber) -> Page[list[LabReport]]:
        """Every report with its results, newest first."""
        return await self._fhir.fetch(
            "DiagnosticReport",
            [("_include", "DiagnosticReport:result")],
            _reports,
            patient=nin,
            by="subject",
        )


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> tuple[asyncio.Future[Fetched[list[LabReport]]]]:
    """Start (or join) this request's search for the lab results section."""
    client = ctx.clients.lab_results
    return (
        ctx.fetches.search(
            SOURCE.value, "DiagnosticReport", nin.value, lambda: client.reports(nin)
        ),
    )


async def lab_results_section(ctx: Context, nin: NationalIdentityNumber) -> LabResultsSection:
    """The lab results section for ``nin``."""
    reports = await prefetch(ctx, nin)[0]
    return LabResultsSection(**section_fields(SOURCE, [reports], count(reports)), _reports=reports)
