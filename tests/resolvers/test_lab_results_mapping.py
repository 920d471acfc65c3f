"""Lab results mapped from standard-shaped FHIR R4 (the HL7 R4 / US Core shapes of
tests/data/r4_edge_cases.json): only laboratory reports, unreported laboratory results, results
read by id when ``_include`` was not honoured (else PARTIAL), every value type, components,
person vs organisation, partial dates."""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.errors import SourceError, SourceUnavailable
from gateway.graphql.section import SectionStatus
from gateway.identity import parse
from gateway.upstream.fan_out import Fetched, Page, SearchOutcome
from gateway.upstream.fhir import SearchResult
from mocks import MockRegistries, Source, fixture
from mocks.generate_reports import SYSTEM_OBSERVATION_CATEGORY, covid_result, laboratory_report
from mocks.lab_results import SEARCHES
from mocks.record import RecordBuilder
from mocks.vocabulary import LABORATORIES
from resolvers.lab_results import (
    LAB_OBSERVATIONS,
    LAB_REPORTS,
    Interpretation,
    LabReport,
    LabResult,
    LabResultsClient,
    _observations,
    _reports,
    _result,
    is_lab_observation,
    is_lab_report,
    section_of,
)
from resolvers.parties import PartyKind
from tests.conftest import SchemaRunner

EDGE = Path(__file__).resolve().parents[1] / "data" / "r4_edge_cases.json"
NIN = parse("20863205485")
HOME_CARE = fixture("home-care-elderly").nin


def _edge() -> dict[str, dict[str, Any]]:
    bundle = json.loads(EDGE.read_text())
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


R = _edge()


def _included(*ids: str) -> dict[str, Any]:
    return {f"{R[i]['resourceType']}/{i}": R[i] for i in ids}


def _observation(**value: Any) -> dict[str, Any]:
    """An R4 laboratory Observation with ``value`` (``valueX=…`` and anything else)."""
    base = copy.deepcopy(R["a-obs-creatinine"])
    for key in [k for k in base if k.startswith("value")] + ["interpretation", "referenceRange"]:
        base.pop(key, None)
    base["id"] = "obs-x"
    base.update(value)
    return base


def _fetched(value: Any, error: SourceError | None = None) -> Fetched[Any]:
    outcome = SearchOutcome("lab_results", "X", dt.datetime.now(dt.UTC), 1.0, 1, False, 0, error)
    return Fetched(None if error else value, outcome)


# --- which reports, which results -------------------------------------------------------------


def test_only_laboratory_reports_are_lab_reports_whatever_the_server_answered() -> None:
    result = SearchResult(
        [R["a-dr-lab"], R["a-dr-note"]], _included("a-obs-hemoglobin", "a-obs-leukocytes")
    )
    reports = _reports(result)
    assert [r.id for r in reports] == ["a-dr-lab"]  # the cardiology progress note is not one
    (report,) = reports
    assert [r.id for r in report.results] == ["a-obs-hemoglobin", "a-obs-leukocytes"]
    assert report.missing_results == 0
    assert report.test.code == "58410-2"
    assert report.effective_at is not None
    assert report.effective_at.text == "2026-09-15T15:05:00+02:00"
    assert report.issued_at is not None and report.issued_at.text == "2026-09-15T16:10:00+02:00"


def test_a_laboratory_is_an_organisation_and_a_doctor_is_a_person_not_the_laboratory() -> None:
    by_doctor = copy.deepcopy(R["a-dr-note"])
    by_doctor["category"] = R["a-dr-lab"]["category"]
    lab, doctor = _reports(SearchResult([R["a-dr-lab"], by_doctor], {}))
    assert lab.laboratory is not None
    assert [p.kind for p in lab.performers] == [PartyKind.ORGANISATION]
    assert doctor.laboratory is None, "a Practitioner is not shown as the laboratory"
    (person,) = doctor.performers
    assert (person.kind, person.name) == (PartyKind.PERSON, "Henrik Strand")
    assert doctor.conclusion is not None and doctor.conclusion.startswith("New-onset")


def test_performer_kind_from_an_identifier_or_an_included_resource() -> None:
    report = copy.deepcopy(R["a-dr-lab"])
    report["performer"] = [
        {"identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.4", "value": "9144901"}},
        {
            "identifier": {"system": "urn:oid:2.16.578.1.12.4.1.4.101", "value": "974589095"},
            "display": "Fürst Medisinsk Laboratorium",
        },
    ]
    (mapped,) = _reports(SearchResult([report], _included("a-obs-hemoglobin", "a-obs-leukocytes")))
    assert [(p.kind, p.hpr_number) for p in mapped.performers] == [
        (PartyKind.PERSON, "9144901"),
        (PartyKind.ORGANISATION, None),
    ]
    assert mapped.laboratory is not None
    assert mapped.laboratory.name == "Fürst Medisinsk Laboratorium"
    assert mapped.laboratory.organization_number == "974589095"


def test_an_included_performer_is_named_from_its_resource() -> None:
    included = _included("a-obs-hemoglobin", "a-obs-leukocytes", "org-lab", "prac-hosp")
    (report,) = _reports(SearchResult([R["a-dr-lab"]], included))
    (laboratory,) = report.performers
    assert laboratory.name == "Sørlandet sykehus HF, Avdeling for medisinsk biokjemi"
    assert laboratory.organization_number == "974631326"
    assert report.laboratory is not None
    assert report.laboratory.organization_number == "974631326"
    # A result's own performer, from the same answer.
    assert report.results[0].performers[0].organization_number == "974631326"
    (culture,) = _observations(SearchResult([R["a-obs-urine-culture"]], included))
    (doctor,) = culture.performers
    assert (doctor.kind, doctor.name, doctor.hpr_number) == (
        PartyKind.PERSON,
        "Henrik Strand",  # the reference's display wins
        "9144897",
    )


def test_entered_in_error_reports_and_results_are_not_shown() -> None:
    wrong_report = {**copy.deepcopy(R["a-dr-lab"]), "id": "dr-wrong", "status": "entered-in-error"}
    wrong_result = {**R["a-obs-leukocytes"], "status": "entered-in-error"}
    included = {**_included("a-obs-hemoglobin"), "Observation/a-obs-leukocytes": wrong_result}
    (report,) = _reports(SearchResult([R["a-dr-lab"], wrong_report], included))
    assert [r.id for r in report.results] == ["a-obs-hemoglobin"]
    assert report.missing_results == 0, "a retracted result is not a missing one"


def test_laboratory_observations_only_not_vital_signs() -> None:
    matches: list[Mapping[str, Any]] = [
        R[i] for i in R if R[i]["resourceType"] == "Observation" and i.startswith("a-")
    ]
    ids = {r.id for r in _observations(SearchResult(matches, {}))}
    assert "a-obs-blood-pressure" not in ids
    assert ids == {
        "a-obs-hemoglobin",
        "a-obs-leukocytes",
        "a-obs-creatinine",
        "a-obs-blood-group",
        "a-obs-urine-culture",
        "a-obs-hbsag",
    }


# --- results not included ----------------------------------------------------------------------


def test_results_not_included_are_counted_missing_and_make_the_section_partial() -> None:
    (report,) = _reports(SearchResult([R["a-dr-lab"]], {}))
    assert report.results == []
    assert report.missing_results == 2
    section = section_of(_fetched([report]), _fetched([]))
    assert section.status is SectionStatus.PARTIAL, "never COMPLETE with results: []"
    assert section.empty_reason is None


def test_results_not_included_are_taken_from_the_laboratory_observations_search() -> None:
    (report,) = _reports(SearchResult([R["a-dr-lab"]], {}))
    observations = _observations(
        SearchResult([R["a-obs-leukocytes"], R["a-obs-creatinine"], R["a-obs-hemoglobin"]], {})
    )
    section = section_of(_fetched([report]), _fetched(observations))
    assert section.status is SectionStatus.COMPLETE
    reports = section.reports()
    assert reports is not None
    (completed,) = reports
    # In the report's order, not the search's.
    assert [r.id for r in completed.results] == ["a-obs-hemoglobin", "a-obs-leukocytes"]
    assert completed.missing_results == 0
    assert report.missing_results == 2, "the mapped report (maybe shared) is not changed"
    unreported = section.unreported_results()
    assert unreported is not None
    assert [r.id for r in unreported] == ["a-obs-creatinine"]


class FakeFhir:
    """Answers ``fetch`` from canned resources and records what was asked."""

    def __init__(self, answers: dict[str, Sequence[dict[str, Any]] | SourceError]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, list[tuple[str, str]], str | None]] = []

    async def fetch(
        self,
        resource_type: str,
        params: Sequence[tuple[str, str]],
        build: Callable[[SearchResult], Any],
        *,
        patient: Any,
        by: str | None = None,
        **_: Any,
    ) -> Page[Any]:
        assert patient == NIN
        self.calls.append((resource_type, list(params), by))
        key = resource_type if resource_type != "Observation" else dict(params).get("_id", "cat")
        answer = self.answers[key]
        if isinstance(answer, SourceError):
            raise answer
        return Page(build(SearchResult(list(answer), {})))


async def test_results_not_included_are_read_by_id_bound_to_the_patient() -> None:
    fhir = FakeFhir(
        {
            "DiagnosticReport": [R["a-dr-lab"]],
            "a-obs-hemoglobin,a-obs-leukocytes": [R["a-obs-leukocytes"], R["a-obs-hemoglobin"]],
        }
    )
    page = await LabResultsClient(fhir).reports(NIN)  # type: ignore[arg-type]
    assert fhir.calls == [
        (
            "DiagnosticReport",
            [
                ("category", LAB_REPORTS),
                ("_include", "DiagnosticReport:result"),
                ("_include", "DiagnosticReport:performer"),
            ],
            "subject",
        ),
        ("Observation", [("_id", "a-obs-hemoglobin,a-obs-leukocytes")], "subject"),
    ]
    (report,) = page.items
    assert [r.id for r in report.results] == ["a-obs-hemoglobin", "a-obs-leukocytes"]
    assert report.missing_results == 0
    assert LAB_REPORTS == "http://terminology.hl7.org/CodeSystem/v2-0074|LAB"


async def test_a_failed_read_by_id_leaves_the_report_partial_not_failed() -> None:
    fhir = FakeFhir(
        {
            "DiagnosticReport": [R["a-dr-lab"]],
            "a-obs-hemoglobin,a-obs-leukocytes": SourceUnavailable("lab_results", "down"),
        }
    )
    page = await LabResultsClient(fhir).reports(NIN)  # type: ignore[arg-type]
    (report,) = page.items
    assert report.missing_results == 2
    assert section_of(_fetched(page.items), _fetched([])).status is SectionStatus.PARTIAL


async def test_the_laboratory_observations_search_names_its_category() -> None:
    fhir = FakeFhir({"cat": [R["a-obs-creatinine"], R["a-obs-blood-pressure"]]})
    page = await LabResultsClient(fhir).laboratory_results(NIN)  # type: ignore[arg-type]
    assert fhir.calls == [
        (
            "Observation",
            [("category", LAB_OBSERVATIONS), ("_include", "Observation:performer")],
            "subject",
        )
    ]
    assert LAB_OBSERVATIONS == (
        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
    )
    assert [r.id for r in page.items] == ["a-obs-creatinine"]


def test_without_the_reports_nothing_is_shown_and_the_section_is_unavailable() -> None:
    observations = _observations(SearchResult([R["a-obs-creatinine"]], {}))
    section = section_of(
        _fetched(None, SourceUnavailable("lab_results", "down")), _fetched(observations)
    )
    assert section.status is SectionStatus.UNAVAILABLE
    with pytest.raises(SourceUnavailable):
        section.unreported_results()


def test_a_failed_observations_search_makes_the_section_partial() -> None:
    reports = _reports(
        SearchResult([R["a-dr-lab"]], _included("a-obs-hemoglobin", "a-obs-leukocytes"))
    )
    section = section_of(_fetched(reports), _fetched(None, SourceUnavailable("lab_results", "x")))
    assert section.status is SectionStatus.PARTIAL
    assert section.reports() == reports


# --- values ---------------------------------------------------------------------------------


def test_quantity_interpretation_and_reference_range() -> None:
    hemoglobin = _result(R["a-obs-hemoglobin"])
    assert hemoglobin.value is not None
    assert (hemoglobin.value.value, hemoglobin.value.unit) == (11.2, "g/dL")
    assert hemoglobin.value_text is None
    assert hemoglobin.interpretation is Interpretation.LOW
    assert hemoglobin.interpretation_text == "Low"
    assert hemoglobin.reference_range is not None
    assert hemoglobin.reference_range.text == "13.4-17.0 g/dL"  # the source's own text
    leukocytes = _result(R["a-obs-leukocytes"])
    assert leukocytes.interpretation is Interpretation.HIGH
    assert leukocytes.reference_range is not None
    assert leukocytes.reference_range.text == "3.5-10 10*9/L"  # made from low and high


def test_coded_string_and_boolean_values() -> None:
    blood_group = _result(R["a-obs-blood-group"])
    assert blood_group.value is None
    assert blood_group.value_text == "Blood group A Rh(D) positive"  # coding display, no text
    culture = _result(R["a-obs-urine-culture"])
    assert culture.value_text == "No growth after 2 days"
    assert culture.reference_range is not None and culture.reference_range.text == "No growth"
    assert [(p.kind, p.name) for p in culture.performers] == [(PartyKind.PERSON, "Henrik Strand")]
    hbsag = _result(R["a-obs-hbsag"])
    assert (hbsag.value_boolean, hbsag.value_text) == (False, "false")
    assert hbsag.interpretation is Interpretation.NEGATIVE
    assert [p.kind for p in hbsag.performers] == [PartyKind.ORGANISATION]
    coded = _result(_observation(valueCodeableConcept={"text": "Not detected", "coding": []}))
    assert coded.value_text == "Not detected"


def test_integer_range_ratio_period_and_datetime_values() -> None:
    integer = _result(_observation(valueInteger=3))
    assert integer.value is not None and (integer.value.value, integer.value.unit) == (3.0, None)
    assert integer.value_text == "3"
    ranged = _result(
        _observation(
            valueRange={"low": {"value": 0, "unit": "mg/L"}, "high": {"value": 5, "unit": "mg/L"}}
        )
    )
    assert ranged.value_text == "0-5 mg/L"
    assert ranged.value_range is not None and ranged.value_range.high is not None
    assert ranged.value_range.high.value == 5.0
    titre = _result(
        _observation(valueRatio={"numerator": {"value": 1}, "denominator": {"value": 128}})
    )
    assert titre.value_text == "1:128"
    assert titre.value_ratio is not None and titre.value_ratio.denominator is not None
    assert titre.value_ratio.denominator.value == 128.0
    period = _result(_observation(valuePeriod={"start": "2026-10-01", "end": "2026-10-05"}))
    assert period.value_text == "2026-10-01 - 2026-10-05"
    when = _result(_observation(valueDateTime="2010"))
    assert when.value_text == "2010"
    absent = _result(
        _observation(
            dataAbsentReason={
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                        "code": "not-performed",
                        "display": "Not Performed",
                    }
                ]
            }
        )
    )
    assert (absent.value, absent.value_text, absent.data_absent_reason) == (
        None,
        None,
        "Not Performed",
    )


def test_blood_pressure_components_each_with_code_value_and_judgement() -> None:
    pressure = _result(R["a-obs-blood-pressure"])
    assert pressure.value is None
    assert pressure.interpretation is Interpretation.HIGH
    systolic, diastolic = pressure.components
    assert systolic.test.code == "8480-6" and diastolic.test.code == "8462-4"
    assert systolic.value is not None and diastolic.value is not None
    assert (systolic.value.value, systolic.value.unit) == (152.0, "mmHg")
    assert (diastolic.value.value, diastolic.value.unit) == (88.0, "mmHg")
    assert (systolic.interpretation, diastolic.interpretation) == (
        Interpretation.HIGH,
        Interpretation.NORMAL,
    )
    assert systolic.reference_range is not None
    assert systolic.reference_range.text == "< 140 mmHg"
    no_text = copy.deepcopy(R["a-obs-blood-pressure"])
    del no_text["component"][1]["referenceRange"][0]["text"]
    (_, made) = _result(no_text).components
    assert made.reference_range is not None and made.reference_range.text == "<= 90 mmHg"


def test_interpretation_words_come_from_text_else_display() -> None:
    worded = _result(
        _observation(interpretation=[{"coding": [{"code": "HH"}], "text": "Critical high"}])
    )
    assert (worded.interpretation, worded.interpretation_text) == (
        Interpretation.HIGH,
        "Critical high",
    )


# --- partial dates ---------------------------------------------------------------------------


def test_a_partial_date_never_fails_the_search() -> None:
    report = {**copy.deepcopy(R["a-dr-lab"]), "effectiveDateTime": "2010", "issued": None}
    observation = {**R["a-obs-hemoglobin"], "effectiveDateTime": "2010-03"}
    (mapped,) = _reports(SearchResult([report], {"Observation/a-obs-hemoglobin": observation}))
    assert mapped.effective_at is not None and mapped.effective_at.text == "2010"
    assert mapped.results[0].effective_at is not None
    assert mapped.results[0].effective_at.text == "2010-03"
    periodic = _observation(effectivePeriod={"start": "1999"})
    del periodic["effectiveDateTime"]
    period = _result(periodic)
    assert period.effective_at is not None and period.effective_at.text == "1999"


def test_reports_sort_newest_first_across_precisions() -> None:
    old = {**copy.deepcopy(R["a-dr-lab"]), "id": "old", "effectiveDateTime": "2010"}
    new = {**copy.deepcopy(R["a-dr-lab"]), "id": "new"}
    included = _included("a-obs-hemoglobin", "a-obs-leukocytes")
    assert [r.id for r in _reports(SearchResult([old, new], included))] == ["new", "old"]


# --- the mock registry ------------------------------------------------------------------------


def test_the_mock_registry_searches_reports_and_observations_by_category_and_id() -> None:
    reports, observations = SEARCHES
    assert reports.token_params["category"](R["a-dr-lab"]) == LAB_REPORTS
    assert reports.token_params["category"](R["a-dr-note"]) != LAB_REPORTS
    assert observations.token_params["category"](R["a-obs-creatinine"]) == LAB_OBSERVATIONS
    assert observations.token_params["category"](R["a-obs-blood-pressure"]) != LAB_OBSERVATIONS
    assert observations.token_params["_id"](R["a-obs-creatinine"]) == "a-obs-creatinine"


def test_the_mock_reports_results_carry_the_laboratory_category() -> None:
    builder = RecordBuilder("20863205485", "p1")
    lab = next(lab for lab in LABORATORIES if lab.msis)
    when = dt.datetime(2022, 1, 5, 10, tzinfo=dt.UTC)
    laboratory_report(
        builder, "94500-6", "SARS-CoV-2", lab, taken=when, results=[covid_result(True)]
    )
    record = builder.build()
    (report,) = record.of_type("DiagnosticReport")
    (observation,) = record.of_type("Observation")
    assert report["result"] == [{"reference": f"Observation/{observation['id']}"}]
    assert observation["category"][0]["coding"][0]["system"] == SYSTEM_OBSERVATION_CATEGORY
    assert observation["category"][0]["coding"][0]["code"] == "laboratory"
    # Mapped as the gateway maps them, both ways: the report with its result, and unreported none.
    (mapped,) = _reports(SearchResult([report], {f"Observation/{observation['id']}": observation}))
    assert isinstance(mapped, LabReport)
    results: list[LabResult] = _observations(SearchResult([observation], {}))
    assert [r.id for r in results] == [observation["id"]]
    assert mapped.results[0].is_covid19_test
    assert mapped.results[0].interpretation is Interpretation.POSITIVE


async def test_the_mock_registry_answers_both_searches_and_a_read_by_id(
    registries: MockRegistries,
) -> None:
    base = registries.base_urls[Source.LAB_RESULTS]
    patient = ("subject:identifier", parse(HOME_CARE).fhir_token)

    async def get(path: str, *params: tuple[str, str]) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{base}/{path}", params=[patient, *params]) as response,
        ):
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json(content_type=None)
            return body

    def matches(bundle: dict[str, Any]) -> list[dict[str, Any]]:
        return [e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "match"]

    include = ("_include", "DiagnosticReport:result")
    reports = await get("DiagnosticReport", ("category", LAB_REPORTS), include, ("_count", "100"))
    assert reports["total"] > 0
    assert all(is_lab_report(r) for r in matches(reports))
    included = [e["resource"] for e in reports["entry"] if e["search"]["mode"] == "include"]
    assert included and all(is_lab_observation(o) for o in included)
    labs = await get("Observation", ("category", LAB_OBSERVATIONS), ("_count", "100"))
    assert labs["total"] > 0
    assert all(is_lab_observation(o) for o in matches(labs))
    vitals = await get("Observation", ("category", f"{SYSTEM_OBSERVATION_CATEGORY}|vital-signs"))
    assert vitals["total"] == 0
    wanted = [o["id"] for o in matches(labs)[:2]]
    by_id = await get("Observation", ("_id", ",".join(wanted)))
    assert sorted(o["id"] for o in matches(by_id)) == sorted(wanted)


def test_contained_absolute_and_repeated_result_references() -> None:
    report = copy.deepcopy(R["a-dr-lab"])
    contained = {**copy.deepcopy(R["a-obs-creatinine"]), "id": "c1"}
    report["contained"] = [contained]
    report["result"] = [
        {"reference": "#c1"},
        {"reference": "https://lab.example/fhir/Observation/a-obs-hemoglobin"},
        {"reference": "Observation/a-obs-hemoglobin"},
        {"reference": "Observation/a-obs-leukocytes"},
        {"identifier": {"system": "urn:example", "value": "unreadable"}},
    ]
    (mapped,) = _reports(SearchResult([report], _included("a-obs-hemoglobin")))
    assert [r.id for r in mapped.results] == ["c1", "a-obs-hemoglobin"]
    assert mapped.missing_results == 2  # leukocytes (readable by id) and a logical reference
    found = {"a-obs-leukocytes": _result(R["a-obs-leukocytes"])}
    section = section_of(_fetched([mapped]), _fetched(list(found.values())))
    reports = section.reports()
    assert reports is not None
    assert [r.id for r in reports[0].results] == ["c1", "a-obs-hemoglobin", "a-obs-leukocytes"]
    assert reports[0].missing_results == 1
    assert section.status is SectionStatus.PARTIAL, "a reference that cannot be read is missing"


LAB_QUERY = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    labResults {
      status emptyReason searches { resourceType status }
      reports {
        id status effectiveAt issuedAt missingResults
        laboratory { name organizationNumber }
        performers { kind name organizationNumber }
        results {
          id effectiveAt value { value unit } valueText interpretation interpretationText
          referenceRange { text } isCovid19Test components { test { code } }
        }
      }
      unreportedResults { id }
    }
    documents {
      status
      documents { id title status docStatus replacedBy date authors { kind name } author { name } }
    }
  }
}"""


async def test_the_section_through_the_schema_against_the_mock_registries(
    runner: SchemaRunner,
) -> None:
    body = await runner.execute(LAB_QUERY, {"nin": fixture("covid-tested").nin})
    assert body["errors"] == [], body["errors"]
    section = body["data"]["patient"]["labResults"]
    assert section["status"] == "COMPLETE"
    assert sorted(s["resourceType"] for s in section["searches"]) == [
        "DiagnosticReport",
        "Observation",
    ]
    reports = section["reports"]
    assert reports and all(r["missingResults"] == 0 and r["results"] for r in reports)
    assert all(r["laboratory"]["name"] for r in reports)
    assert {p["kind"] for r in reports for p in r["performers"]} == {"ORGANISATION"}
    covid = [x for r in reports for x in r["results"] if x["isCovid19Test"]]
    assert {x["interpretation"] for x in covid} >= {"POSITIVE", "NEGATIVE"}
    # Every mock Observation belongs to a report.
    assert section["unreportedResults"] == []
    documents = body["data"]["patient"]["documents"]
    assert documents["status"] == "COMPLETE"
    assert documents["documents"], "the fixture has a document"
    for document in documents["documents"]:
        assert document["status"] == "CURRENT" and document["title"]
        assert document["author"]["name"] == document["authors"][0]["name"]
        assert document["authors"][0]["kind"] == "ORGANISATION"
