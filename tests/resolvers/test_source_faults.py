"""Each fault a registry can have, on each registry: the right sections say so, the rest is intact.

Schema-level (the real schema, real clients, real mock servers over HTTP).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from mocks.faults import Fault, FaultKind
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.clients import SourceClients
from resolvers.examples import SUMMARY_QUERY
from tests.conftest import SchemaRunner, settings_for, strip_timing

# A patient with entries in every registry, several pages of them at the test page size.
PATIENT = fixture("home-care-elderly").nin

SECTIONS: dict[Source, tuple[str, ...]] = {
    Source.PRESCRIPTIONS: ("medications",),
    Source.GP_REGISTRY: ("generalPractitioner",),
    Source.VISIT_HISTORY: ("visitHistory",),
    Source.DOCUMENTS: ("documents",),
    Source.LAB_RESULTS: ("labResults",),
    Source.CORE_RECORD: ("demographics", "criticalInformation", "ownRegistrations"),
}

EXPECTED_CODE = {
    FaultKind.HTTP_500: "SOURCE_UNAVAILABLE",
    FaultKind.HTTP_503: "SOURCE_UNAVAILABLE",
    FaultKind.CONNECTION_REFUSED: "SOURCE_UNAVAILABLE",
    FaultKind.HANG: "SOURCE_TIMEOUT",
    FaultKind.MALFORMED_JSON: "SOURCE_BAD_RESPONSE",
    FaultKind.NON_FHIR_BODY: "SOURCE_BAD_RESPONSE",
    FaultKind.HTML_ERROR_PAGE: "SOURCE_BAD_RESPONSE",
}

# The list fields of each section that carry its data: null when their search failed.
DATA_FIELDS = {
    "demographics": ("details",),
    "criticalInformation": (
        "allergies",
        "criticalConditions",
        "treatments",
        "implants",
        "warnings",
    ),
    "medications": ("prescriptions", "dispensings"),
    "generalPractitioner": ("regularGp",),
    "visitHistory": ("visits",),
    "documents": ("documents",),
    "labResults": ("reports",),
    "ownRegistrations": ("nextOfKin", "communicationNeeds", "selfReportedConditions"),
}


# The core record's privacy settings (Consent) are read before anything else; a fault there
# fails the whole summary closed (tested below). The matrix faults its other searches.
CORE_SECTION_TYPES = frozenset(
    {"Patient", "AllergyIntolerance", "Condition", "Procedure", "DeviceUseStatement", "Flag",
     "RelatedPerson"}
)  # fmt: skip


def _fault(source: Source, kind: FaultKind) -> Fault:
    if source is Source.CORE_RECORD:
        return Fault(kind, resource_types=CORE_SECTION_TYPES)
    return Fault(kind)


def _error_paths(body: dict[str, Any]) -> dict[tuple[str, ...], str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}


@pytest.mark.parametrize("kind", list(EXPECTED_CODE), ids=str)
@pytest.mark.parametrize("source", list(Source), ids=str)
async def test_a_failing_registry_marks_only_its_own_sections_unavailable(
    runner: SchemaRunner, registries: MockRegistries, source: Source, kind: FaultKind
) -> None:
    baseline = await runner.execute(SUMMARY_QUERY, {"nin": PATIENT})
    assert baseline["errors"] == []

    await registries.set_fault(source, _fault(source, kind))
    body = await runner.execute(SUMMARY_QUERY, {"nin": PATIENT})
    if source is Source.CORE_RECORD and kind is FaultKind.CONNECTION_REFUSED:
        # A refused connection takes the privacy settings down too: the summary fails closed.
        assert body["data"] == {"patient": None}
        assert _error_paths(body) == {("patient",): "SOURCE_UNAVAILABLE"}
        return
    patient = body["data"]["patient"]
    errors = _error_paths(body)
    assert errors, "a failing registry must be reported as an error"
    assert set(errors.values()) == {EXPECTED_CODE[kind]}

    for failing in SECTIONS[source]:
        section = patient[failing]
        # Every search of the source fails here, so no part of its sections may look empty.
        assert section["status"] == "UNAVAILABLE", failing
        assert section["emptyReason"] == "SOURCE_UNAVAILABLE", failing
        for data_field in DATA_FIELDS[failing]:
            assert section[data_field] is None, f"{failing}.{data_field} must be null"
            assert errors[("patient", failing, data_field)] == EXPECTED_CODE[kind]

    for other_source, others in SECTIONS.items():
        if other_source is source:
            continue
        for other in others:
            assert strip_timing(patient[other]) == strip_timing(baseline["data"]["patient"][other])
    assert all(path[1] in SECTIONS[source] for path in errors), "errors only at failing paths"

    failed = [s for s in patient["sources"] if s["status"] == "FAILED"]
    assert failed and {s["source"] for s in failed} == {source.name}
    assert {s["errorCode"] for s in failed} == {EXPECTED_CODE[kind]}


@pytest.mark.parametrize("kind", list(EXPECTED_CODE), ids=str)
async def test_unreadable_privacy_settings_fail_the_whole_summary_closed(
    runner: SchemaRunner, registries: MockRegistries, kind: FaultKind
) -> None:
    await registries.set_fault(
        Source.CORE_RECORD, Fault(kind, resource_types=frozenset({"Consent"}))
    )
    body = await runner.execute(SUMMARY_QUERY, {"nin": PATIENT})
    # Without the patient's restrictions and blocks nothing may be shown: not even the
    # registries that answered, because a block would have hidden them too.
    assert body["data"] == {"patient": None}
    assert _error_paths(body) == {("patient",): EXPECTED_CODE[kind]}
    for source in Source:
        if source is not Source.CORE_RECORD:
            assert registries.stats(source).total == 0, source
    asked = set(registries.stats(Source.CORE_RECORD).by_resource_type)
    assert asked <= {"Consent"}, "nothing but the privacy settings was asked for"


@pytest.mark.parametrize("source", list(Source), ids=str)
async def test_a_broken_next_link_fails_exactly_the_searches_that_have_a_second_page(
    runner: SchemaRunner, registries: MockRegistries, source: Source
) -> None:
    # One entry a page: every search with two or more matches has a next link to follow.
    settings = settings_for(registries, page_size=1)
    async with aiohttp.ClientSession() as session:
        paged = SchemaRunner(settings, SourceClients.build(settings, session), runner.audit_writer)
        baseline = await paged.execute(SUMMARY_QUERY, {"nin": PATIENT})
        await registries.set_fault(source, _fault(source, FaultKind.BROKEN_NEXT_LINK))
        body = await paged.execute(SUMMARY_QUERY, {"nin": PATIENT})

    before = {s["resourceType"]: s for s in baseline["data"]["patient"]["sources"]}
    outcomes = {
        s["resourceType"]: (s["status"], s["errorCode"])
        for s in body["data"]["patient"]["sources"]
        if s["source"] == source.name
    }
    expected = {
        resource_type: ("FAILED", "SOURCE_BAD_RESPONSE")
        if before[resource_type]["entries"] > 1
        else (before[resource_type]["status"], None)
        for resource_type in outcomes
    }
    assert outcomes == expected
    assert ("FAILED", "SOURCE_BAD_RESPONSE") in outcomes.values(), (
        "the fixture pages on every source"
    )
    others = [s for s in body["data"]["patient"]["sources"] if s["source"] != source.name]
    assert all(s["status"] != "FAILED" for s in others)


async def test_a_failure_on_a_later_page_fails_the_search_instead_of_showing_half_a_list(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    await registries.set_fault(
        Source.PRESCRIPTIONS, Fault(FaultKind.HTTP_500, later_pages_only=True)
    )
    body = await runner.execute(SUMMARY_QUERY, {"nin": PATIENT})
    medications = body["data"]["patient"]["medications"]
    assert medications["status"] == "UNAVAILABLE"
    assert medications["prescriptions"] is None
    assert registries.stats(Source.PRESCRIPTIONS).total >= 3, "first pages were read"


async def test_one_failing_search_of_a_source_makes_its_section_partial(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    await registries.set_fault(
        Source.PRESCRIPTIONS,
        Fault(FaultKind.HTTP_503, resource_types=frozenset({"MedicationDispense"})),
    )
    body = await runner.execute(SUMMARY_QUERY, {"nin": PATIENT})
    medications = body["data"]["patient"]["medications"]
    assert medications["status"] == "PARTIAL"
    assert medications["emptyReason"] is None
    assert medications["prescriptions"], "the prescriptions that did arrive are shown"
    assert medications["dispensings"] is None
    assert _error_paths(body) == {("patient", "medications", "dispensings"): "SOURCE_UNAVAILABLE"}


async def test_a_search_cut_at_the_page_cap_is_partial_and_says_truncated(
    runner: SchemaRunner, registries: MockRegistries
) -> None:
    settings = settings_for(registries, max_pages=2)
    async with aiohttp.ClientSession() as session:
        capped = SchemaRunner(settings, SourceClients.build(settings, session), runner.audit_writer)
        body = await capped.execute(SUMMARY_QUERY, {"nin": PATIENT})
    medications = body["data"]["patient"]["medications"]
    assert body["errors"] == []
    assert medications["status"] == "PARTIAL"
    assert len(medications["prescriptions"]) == 2 * 5
    searches = {s["resourceType"]: s["status"] for s in body["data"]["patient"]["sources"]}
    assert searches["MedicationRequest"] == "TRUNCATED"
