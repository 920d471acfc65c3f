"""Laboratory results: laboratory reports (DiagnosticReport, category LAB) with their
Observations, and laboratory Observations no report names. Covid-19 tests are among them.

Two searches run at once: ``DiagnosticReport?category=LAB&_include=DiagnosticReport:result`` and
``Observation?category=laboratory``. Both filters are applied here again, since a server may
ignore a parameter: a clinical note or an imaging report is not a laboratory report, a blood
pressure is not a laboratory result. A result a report names that did not come with it (the
server did not honour ``_include``) is looked for among the laboratory Observations, then read
by id (``Observation?_id=…``, bound to the patient); what still cannot be read is counted on its
report (``missingResults``) and makes the section PARTIAL, never COMPLETE with fewer results.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import Any

import strawberry

from gateway.errors import SourceError
from gateway.fhir_date import FhirDateTime
from gateway.graphql.context import Context
from gateway.graphql.section import Section, SectionStatus, SourceName, section_fields
from gateway.identity import NationalIdentityNumber
from gateway.upstream.fan_out import Fetched, Page, all_of
from gateway.upstream.fhir import FhirSource, SearchResult, first, text
from resolvers.common import Code, Organization, Quantity, code, newest_first, quantity
from resolvers.parties import Party, PartyKind, Resolver, party, reference_target, resolver_for

SOURCE = SourceName.LAB_RESULTS
log = logging.getLogger("resolvers.lab_results")

# LOINC codes of SARS-CoV-2 tests the MSIS laboratory database reports.
COVID19_TESTS = frozenset({"94500-6", "94309-2", "94558-4", "94531-1", "95209-3"})
REPORT_CATEGORY = "http://terminology.hl7.org/CodeSystem/v2-0074"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
LAB_REPORTS = f"{REPORT_CATEGORY}|LAB"
LAB_OBSERVATIONS = f"{OBSERVATION_CATEGORY}|laboratory"
# Ids per ``Observation?_id=`` read: keeps the URL well under common 8 KiB limits.
IDS_PER_READ = 50
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


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
    "HU": Interpretation.HIGH,
    "L": Interpretation.LOW,
    "LL": Interpretation.LOW,
    "LU": Interpretation.LOW,
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
    text: str | None = strawberry.field(
        description="The range as text: the source's own text, else made from low and high "
        "('3.5-10 10*9/L', '>= 60 mL/min', '<= 5 mg/L')."
    )


@strawberry.type(description="A range of amounts (valueRange), e.g. '< 5' given as 0 to 5.")
class Range:
    low: Quantity | None = strawberry.field(description="Lower bound.")
    high: Quantity | None = strawberry.field(description="Upper bound.")


@strawberry.type(description="A ratio (valueRatio), e.g. a titre 1:128.")
class Ratio:
    numerator: Quantity | None = strawberry.field(description="Numerator.")
    denominator: Quantity | None = strawberry.field(description="Denominator.")


@strawberry.type(description="One part of a result measured in parts (a blood pressure).")
class ResultComponent:
    test: Code = strawberry.field(description="What the part measures (systolic, diastolic…).")
    value: Quantity | None = strawberry.field(description="A numeric value with its unit.")
    value_text: str | None = strawberry.field(
        description="The value as text, for every kind of value but a plain quantity."
    )
    interpretation: Interpretation | None = strawberry.field(description="The lab's judgement.")
    interpretation_text: str | None = strawberry.field(
        description="The judgement as the source words it ('High', 'Low')."
    )
    reference_range: ReferenceRange | None = strawberry.field(description="The reference range.")


@strawberry.type(description="One test result.")
class LabResult:
    id: strawberry.ID = strawberry.field(description="The registry's id for the result.")
    test: Code = strawberry.field(description="The test (LOINC or NLK code).")
    status: str | None = strawberry.field(
        description="FHIR status: preliminary, final, amended, corrected… (entered-in-error and "
        "cancelled results are not shown)."
    )
    value: Quantity | None = strawberry.field(
        description="A numeric result with its unit (valueQuantity; valueInteger has no unit)."
    )
    value_text: str | None = strawberry.field(
        description="The result as text for every kind of value but a plain quantity: a code's "
        "text or display ('Not detected'), a string, 'true'/'false', an integer, a range "
        "('0-5 mg/L'), a ratio ('1:128'), a time or a period. Null for a quantity."
    )
    value_boolean: bool | None = strawberry.field(description="A yes/no result (valueBoolean).")
    value_range: Range | None = strawberry.field(description="A result given as a range.")
    value_ratio: Ratio | None = strawberry.field(description="A result given as a ratio.")
    data_absent_reason: str | None = strawberry.field(
        description="Why there is no value ('Not performed', 'Error'), when the source says."
    )
    components: list[ResultComponent] = strawberry.field(
        description="The result's parts, each with its own code and value (a blood pressure's "
        "systolic and diastolic). Empty for a single-valued result."
    )
    reference_range: ReferenceRange | None = strawberry.field(description="The reference range.")
    interpretation: Interpretation | None = strawberry.field(description="The lab's judgement.")
    interpretation_text: str | None = strawberry.field(
        description="The judgement as the source words it ('High', 'Low', 'Critical high')."
    )
    effective_at: FhirDateTime | None = strawberry.field(
        description="When the sample was taken, at the precision the source recorded."
    )
    performers: list[Party] = strawberry.field(
        description="Who performed the test: a laboratory (ORGANISATION) or a person."
    )
    is_covid19_test: bool = strawberry.field(description="A SARS-CoV-2 (Covid-19) test.")


@strawberry.type(description="A laboratory report: one ordered test or panel and its results.")
class LabReport:
    id: strawberry.ID = strawberry.field(description="The registry's id for the report.")
    test: Code = strawberry.field(description="The panel or test reported.")
    status: str | None = strawberry.field(
        description="FHIR status: registered, partial, preliminary, final, amended, corrected… "
        "(entered-in-error reports are not shown)."
    )
    effective_at: FhirDateTime | None = strawberry.field(
        description="When the sample was taken, at the precision the source recorded."
    )
    issued_at: FhirDateTime | None = strawberry.field(description="When the report was issued.")
    laboratory: Organization | None = strawberry.field(
        description="The performing laboratory: the first performer that is an organisation. "
        "Null when only persons are named (see performers)."
    )
    performers: list[Party] = strawberry.field(
        description="Everyone the report names as performer, each a person or an organisation."
    )
    conclusion: str | None = strawberry.field(description="The report's conclusion, if any.")
    results: list[LabResult] = strawberry.field(description="The report's results, in its order.")
    missing_results: int = strawberry.field(
        description="Results the report names that could not be read. Non-zero makes the "
        "section PARTIAL: the report has more results than are shown."
    )
    _order: strawberry.Private[tuple[str, ...]] = ()
    _missing_ids: strawberry.Private[tuple[str, ...]] = ()
    """Ids of named Observations not yet found, that can be read by id."""


@strawberry.type(description="Laboratory results.")
class LabResultsSection(Section):
    _reports: strawberry.Private[Fetched[list[LabReport]]]
    _unreported: strawberry.Private[Fetched[list[LabResult]]]

    @strawberry.field(description="Reports, newest first. Null when they could not be read.")
    def reports(self) -> list[LabReport] | None:
        return self._reports.unwrap()

    @strawberry.field(
        description="Laboratory results that belong to no report (Observations of category "
        "laboratory that no report names, e.g. point-of-care tests), newest first. Kept apart "
        "rather than put in a made-up report: no panel, laboratory or issue date is invented. "
        "Null when these or the reports could not be read (without the reports it is not known "
        "which results are unreported)."
    )
    def unreported_results(self) -> list[LabResult] | None:
        self._reports.unwrap()
        return self._unreported.unwrap()


# --- values -----------------------------------------------------------------------------------


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _quantity_text(q: Quantity | None) -> str:
    if q is None:
        return ""
    return " ".join(part for part in (_number(q.value), q.unit or "") if part)


def _range_text(low: Quantity | None, high: Quantity | None) -> str | None:
    """'3.5-10 10*9/L' (one unit written once), '>= 60 mL/min', '<= 5 mg/L'; None when empty."""
    has_low = low is not None and low.value is not None
    has_high = high is not None and high.value is not None
    if has_low and has_high:
        assert low is not None and high is not None
        if low.unit == high.unit:
            bounds = f"{_number(low.value)}-{_number(high.value)}"
            return f"{bounds} {high.unit}" if high.unit else bounds
        return f"{_quantity_text(low)} - {_quantity_text(high)}"
    if has_low:
        return f">= {_quantity_text(low)}"
    if has_high:
        return f"<= {_quantity_text(high)}"
    return None


def _concept_text(concept: Any) -> str | None:
    """A CodeableConcept's text, else the first coding display (else its code)."""
    if not isinstance(concept, Mapping):
        return None
    codings = [c for c in concept.get("coding") or () if isinstance(c, Mapping)]
    return (
        text(concept.get("text"))
        or next((text(c.get("display")) for c in codings if text(c.get("display"))), None)
        or next((text(c.get("code")) for c in codings if text(c.get("code"))), None)
    )


def _date_text(value: Any) -> str | None:
    parsed = FhirDateTime.parse(value)
    return None if parsed is None else parsed.text


@dataclasses.dataclass(frozen=True, slots=True)
class _Value:
    quantity: Quantity | None = None
    text: str | None = None
    boolean: bool | None = None
    range: Range | None = None
    ratio: Ratio | None = None


def _boolean(value: Any) -> _Value:
    if not isinstance(value, bool):
        raise TypeError("valueBoolean is not a boolean")
    return _Value(text="true" if value else "false", boolean=value)


def _integer(value: Any) -> _Value:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("valueInteger is not an integer")
    return _Value(quantity=Quantity(value=float(value), unit=None), text=str(value))


def _range(value: Any) -> _Value:
    given = value if isinstance(value, Mapping) else {}
    low, high = quantity(given.get("low")), quantity(given.get("high"))
    return _Value(text=_range_text(low, high), range=Range(low=low, high=high))


def _ratio(value: Any) -> _Value:
    given = value if isinstance(value, Mapping) else {}
    numerator, denominator = quantity(given.get("numerator")), quantity(given.get("denominator"))
    shown = f"{_quantity_text(numerator)}:{_quantity_text(denominator)}"
    return _Value(
        text=shown if shown != ":" else None,
        ratio=Ratio(numerator=numerator, denominator=denominator),
    )


def _period(value: Any) -> _Value:
    given = value if isinstance(value, Mapping) else {}
    start, end = _date_text(given.get("start")), _date_text(given.get("end"))
    if start is None and end is None:
        return _Value()
    return _Value(text=f"{start or ''} - {end or ''}".strip())


_VALUES: dict[str, Callable[[Any], _Value]] = {
    "valueQuantity": lambda v: _Value(quantity=quantity(v)),
    "valueCodeableConcept": lambda v: _Value(text=_concept_text(v)),
    "valueString": lambda v: _Value(text=text(v)),
    "valueBoolean": _boolean,
    "valueInteger": _integer,
    "valueRange": _range,
    "valueRatio": _ratio,
    "valuePeriod": _period,
    "valueDateTime": lambda v: _Value(text=_date_text(v)),
    "valueTime": lambda v: _Value(text=text(v)),
}


def _value(element: Mapping[str, Any]) -> _Value:
    """``value[x]`` of an Observation or a component, every R4 type but SampledData."""
    for key, read in _VALUES.items():
        if key in element:
            return read(element[key])
    return _Value()


def _reference_range(element: Mapping[str, Any]) -> ReferenceRange | None:
    ranges = first(element.get("referenceRange"))
    if not ranges:
        return None
    low, high = quantity(ranges.get("low")), quantity(ranges.get("high"))
    return ReferenceRange(
        low=low, high=high, text=text(ranges.get("text")) or _range_text(low, high)
    )


def _interpretation(element: Mapping[str, Any]) -> tuple[Interpretation | None, str | None]:
    """The judgement from the first interpretation's codings, and its words."""
    concept = first(element.get("interpretation"))
    flag = next(
        (
            _INTERPRETATIONS[c["code"]]
            for c in concept.get("coding") or ()
            if isinstance(c, Mapping) and c.get("code") in _INTERPRETATIONS
        ),
        None,
    )
    return flag, _concept_text(concept) if concept else None


def _component(element: Mapping[str, Any]) -> ResultComponent:
    value = _value(element)
    flag, words = _interpretation(element)
    return ResultComponent(
        test=code(element.get("code")),
        value=value.quantity,
        value_text=value.text,
        interpretation=flag,
        interpretation_text=words,
        reference_range=_reference_range(element),
    )


def _effective(resource: Mapping[str, Any]) -> FhirDateTime | None:
    """``effective[x]``: a dateTime, an instant, or a period's start."""
    if "effectiveDateTime" in resource:
        return FhirDateTime.parse(resource["effectiveDateTime"])
    if "effectiveInstant" in resource:
        return FhirDateTime.parse(resource["effectiveInstant"])
    period = resource.get("effectivePeriod")
    if isinstance(period, Mapping):
        return FhirDateTime.parse(period.get("start"))
    return None


def _shown(resource: Mapping[str, Any]) -> bool:
    """Entered in error or cancelled: not a result anyone may act on."""
    return resource.get("status") not in ("entered-in-error", "cancelled")


def _result(observation: Mapping[str, Any], included: Mapping[str, Any] | None = None) -> LabResult:
    test = code(observation.get("code"))
    value = _value(observation)
    flag, words = _interpretation(observation)
    return LabResult(
        id=strawberry.ID(observation["id"]),
        test=test,
        status=text(observation.get("status")),
        value=value.quantity,
        value_text=value.text,
        value_boolean=value.boolean,
        value_range=value.range,
        value_ratio=value.ratio,
        data_absent_reason=_concept_text(observation.get("dataAbsentReason")),
        components=[
            _component(c) for c in observation.get("component") or () if isinstance(c, Mapping)
        ],
        reference_range=_reference_range(observation),
        interpretation=flag,
        interpretation_text=words,
        effective_at=_effective(observation),
        performers=_parties(
            observation.get("performer"), resolver_for(observation, included or {})
        ),
        is_covid19_test=test.code in COVID19_TESTS,
    )


def _parties(references: Any, resolve: Resolver | None = None) -> list[Party]:
    found = (party(r, resolve) for r in references or () if isinstance(r, Mapping))
    return [p for p in found if p is not None]


# --- reports ----------------------------------------------------------------------------------


def _has_category(resource: Mapping[str, Any], system: str, wanted: str) -> bool:
    """Whether a ``category`` coding is ``system|wanted`` (a code without a system counts)."""
    return any(
        isinstance(c, Mapping) and c.get("code") == wanted and c.get("system") in (system, None)
        for concept in resource.get("category") or ()
        if isinstance(concept, Mapping)
        for c in concept.get("coding") or ()
    )


def is_lab_report(report: Mapping[str, Any]) -> bool:
    """A laboratory report (category v2-0074 LAB), not a note or an imaging report."""
    return _has_category(report, REPORT_CATEGORY, "LAB")


def is_lab_observation(observation: Mapping[str, Any]) -> bool:
    """A laboratory result (category observation-category laboratory), not a vital sign."""
    return _has_category(observation, OBSERVATION_CATEGORY, "laboratory")


def _report(report: Mapping[str, Any], result: SearchResult) -> LabReport:
    order: list[str] = []
    found: list[LabResult] = []
    missing_ids: list[str] = []
    missing = 0

    resolve = resolver_for(report, result.included)

    for reference in report.get("result") or ():
        if not isinstance(reference, Mapping):
            continue
        target = reference_target(reference)
        local = text(reference.get("reference")) or ""
        # Results are known by id: a contained one's ``#id`` names the id it carries.
        key = target[1] if target else local.removeprefix("#")
        if key in order:
            continue  # named twice: one result
        observation = resolve(reference)
        order.append(key)
        if observation is not None:
            if observation.get("resourceType") == "Observation" and _shown(observation):
                found.append(_result(observation, result.included))
        elif target is not None and target[0] == "Observation" and _RESOURCE_ID.fullmatch(key):
            missing_ids.append(key)
            missing += 1
        else:
            missing += 1  # a logical reference or another server's: cannot be read
    organisations = [
        p for p in _parties(report.get("performer"), resolve) if p.kind is PartyKind.ORGANISATION
    ]
    laboratory = organisations[0] if organisations else None
    return LabReport(
        id=strawberry.ID(report["id"]),
        test=code(report.get("code")),
        status=text(report.get("status")),
        effective_at=_effective(report),
        issued_at=FhirDateTime.parse(report.get("issued")),
        laboratory=Organization(
            name=laboratory.name, organization_number=laboratory.organization_number
        )
        if laboratory
        else None,
        performers=_parties(report.get("performer"), resolve),
        conclusion=text(report.get("conclusion")),
        results=found,
        missing_results=missing,
        _order=tuple(order),
        _missing_ids=tuple(dict.fromkeys(missing_ids)),
    )


def _reports(result: SearchResult) -> list[LabReport]:
    reports = [_report(r, result) for r in result.matches if is_lab_report(r) and _shown_report(r)]
    return newest_first(reports, "effective_at")


def _shown_report(report: Mapping[str, Any]) -> bool:
    return report.get("status") != "entered-in-error"


def _observations(result: SearchResult) -> list[LabResult]:
    """The laboratory Observations of a search, whatever else the server sent."""
    results = [
        _result(o, result.included) for o in result.matches if is_lab_observation(o) and _shown(o)
    ]
    return newest_first(results, "effective_at")


def _any_observations(result: SearchResult) -> list[LabResult]:
    """Observations read by id for a report that names them: the report says they are its
    results, whatever their category."""
    return [_result(o) for o in result.matches if _shown(o)]


def with_results(report: LabReport, found: Mapping[str, LabResult]) -> LabReport:
    """``report`` with those of its missing results that are in ``found`` (by id), in order."""
    extra = {i: found[i] for i in report._missing_ids if i in found}
    if not extra:
        return report
    by_key: dict[str, LabResult] = {str(r.id): r for r in report.results} | extra
    return dataclasses.replace(
        report,
        results=[by_key[key] for key in dict.fromkeys(report._order) if key in by_key],
        missing_results=report.missing_results - len(extra),
        _missing_ids=tuple(i for i in report._missing_ids if i not in extra),
    )


def unreported(reports: Iterable[LabReport], results: Sequence[LabResult]) -> list[LabResult]:
    """The results no report names."""
    named = {key for report in reports for key in report._order}
    return [r for r in results if str(r.id) not in named]


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    return (ids[i : i + IDS_PER_READ] for i in range(0, len(ids), IDS_PER_READ))


class LabResultsClient:
    """Typed reads from the laboratory results registry."""

    def __init__(self, fhir: FhirSource) -> None:
        self._fhir = fhir

    async def reports(self, nin: NationalIdentityNumber) -> Page[list[LabReport]]:
        """Every laboratory report with its results, newest first; results the server did not
        include are read by id."""
        page = await self._fhir.fetch(
            "DiagnosticReport",
            [
                ("category", LAB_REPORTS),
                ("_include", "DiagnosticReport:result"),
                # Names the laboratory or person a report gives only as a reference.
                ("_include", "DiagnosticReport:performer"),
            ],
            _reports,
            patient=nin,
            by="subject",
        )
        wanted = list(dict.fromkeys(i for r in page.items for i in r._missing_ids))
        if not wanted:
            return page
        found = await self._results_by_id(nin, wanted)
        return dataclasses.replace(page, items=[with_results(r, found) for r in page.items])

    async def _results_by_id(
        self, nin: NationalIdentityNumber, ids: Sequence[str]
    ) -> dict[str, LabResult]:
        """``Observation?_id=a,b,c`` (bound to the patient). A failure leaves them missing: the
        reports then say so and the section is PARTIAL, rather than failing every report."""
        found: dict[str, LabResult] = {}
        for chunk in _chunks(ids):
            try:
                page = await self._fhir.fetch(
                    "Observation",
                    [("_id", ",".join(chunk))],
                    _any_observations,
                    patient=nin,
                    by="subject",
                )
            except SourceError as error:
                log.warning("lab results named by reports could not be read: %s", error.code)
                continue
            found |= {str(r.id): r for r in page.items if str(r.id) in chunk}
        return found

    async def laboratory_results(self, nin: NationalIdentityNumber) -> Page[list[LabResult]]:
        """Every laboratory Observation, in a report or not, newest first."""
        return await self._fhir.fetch(
            "Observation",
            [("category", LAB_OBSERVATIONS), ("_include", "Observation:performer")],
            _observations,
            patient=nin,
            by="subject",
        )


def prefetch(
    ctx: Context, nin: NationalIdentityNumber
) -> tuple[asyncio.Future[Fetched[list[LabReport]]], asyncio.Future[Fetched[list[LabResult]]]]:
    """Start (or join) this request's two searches for the lab results section."""
    client = ctx.clients.lab_results
    return (
        ctx.fetches.search(
            SOURCE.value, "DiagnosticReport", nin.value, lambda: client.reports(nin)
        ),
        ctx.fetches.search(
            SOURCE.value, "Observation", nin.value, lambda: client.laboratory_results(nin)
        ),
    )


def combine(
    reports: Fetched[list[LabReport]], observations: Fetched[list[LabResult]]
) -> tuple[Fetched[list[LabReport]], Fetched[list[LabResult]]]:
    """Reports completed from the laboratory Observations, and the Observations no report
    names. Neither list is changed in place (they may be shared with other requests)."""
    if reports.outcome.error is not None or observations.outcome.error is not None:
        return reports, observations
    results = observations.value or []
    named = reports.value or []
    if any(r._missing_ids for r in named):
        found = {str(r.id): r for r in results}
        reports = Fetched([with_results(r, found) for r in named], reports.outcome)
    # Else the mapped list itself (shared by the requests a cached answer serves) is kept.
    return reports, Fetched(unreported(reports.value or [], results), observations.outcome)


def section_of(
    reports: Fetched[list[LabReport]], observations: Fetched[list[LabResult]]
) -> LabResultsSection:
    """The section from its two searches: reports completed from the laboratory Observations,
    the rest of those unreported. PARTIAL when a report names results that could not be read,
    UNAVAILABLE when the reports could not be read (the Observations alone say too little)."""
    reports, unreported_results = combine(reports, observations)
    entries = 0
    if reports.outcome.error is None:
        entries = len(reports.value or []) + len(unreported_results.value or [])
    fields = section_fields(SOURCE, [reports, unreported_results], entries)
    if fields["status"] is SectionStatus.PARTIAL and reports.outcome.error is not None:
        fields["status"] = SectionStatus.UNAVAILABLE
    if fields["status"] is SectionStatus.COMPLETE and any(
        r.missing_results for r in reports.value or []
    ):
        fields["status"] = SectionStatus.PARTIAL
    return LabResultsSection(**fields, _reports=reports, _unreported=unreported_results)


async def lab_results_section(ctx: Context, nin: NationalIdentityNumber) -> LabResultsSection:
    """The lab results section for ``nin``."""
    reports, observations = await all_of(*prefetch(ctx, nin))
    return section_of(reports, observations)
