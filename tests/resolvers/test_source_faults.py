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
from resolvers.examples import summary_query
from tests.conftest import (
    RESILIENCE_ON,
    SchemaRunner,
    fresh_runner,
    settings_for,
    strip_timing,
)

# A patient with entries in every registry, several pages of them at the test page size.
PATIENT = fixture("home-care-elderly").nin

SECTIONS: dict[Source, tuple[str, ...]] = {
    Source.PRESCRIPTIONS: ("medications",),
    Source.GP_REGISTRY: ("generalPractitioner",),
    Source.VISIT_HISTORY: ("visitHistory",),
    Source.DOCUMENTS: ("documents",),
    Source.LAB_RESULTS: ("labResults",),
    # Not demographics: it reads only the core record's Patient, whose search failing fails the
    # whole summary closed (see CORE_SECTION_TYPES).
    Source.CORE_RECORD: ("criticalInformation", "ownRegistrations"),
}

# ownRegistrations also reads the core record's Patient (language, interpreter), which answers in
# the matrix: its other searches failing leave it PARTIAL, with their fields null.
_FAILED_STATUS = {"ownRegistrations": "PARTIAL"}

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
# Not Patient: the core record's Patient search finds the id its privacy settings are asked
# for by, so when it fails the whole summary fails closed (test_unreadable_privacy_settings_...).
CORE_SECTION_TYPES = frozenset(
    {"AllergyIntolerance", "Condition", "Procedure", "DeviceUseStatement", "Flag", "RelatedPerson"}
)


def _fault(source: Source, kind: FaultKind) -> Fault:
    if source is Source.CORE_RECORD:
        return Fault(kind, resource_types=CORE_SECTION_TYPES)
    return Fault(kind)


def _fails_closed(source: Source, kind: FaultKind, body: dict[str, Any]) -> bool:
    """A refused connection takes the core record's privacy settings down too: then the whole
    summary fails closed. Asserts that, and says whether it was the case."""
    if source is not Source.CORE_RECORD or kind is not FaultKind.CONNECTION_REFUSED:
        return False
    assert body["data"] == {"patient": None}
    assert _error_paths(body) == {("patient",): "SOURCE_UNAVAILABLE"}
    return True


def _error_paths(body: dict[str, Any]) -> dict[tuple[str, ...], str]:
    return {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}


@pytest.mark.parametrize("kind", list(EXPECTED_CODE), ids=str)
@pytest.mark.parametrize("source", list(Source), ids=str)
async def test_a_failing_registry_marks_only_its_own_sections_unavailable(
    runner: SchemaRunner, registries: MockRegistries, source: Source, kind: FaultKind
) -> None:
    baseline = await runner.execute(summary_query(), {"nin": PATIENT})
    assert baseline["errors"] == []

    await registries.set_fault(source, _fault(source, kind))
    body = await runner.execute(summary_query(), {"nin": PATIENT})
    if _fails_closed(source, kind, body):
        return
    patient = body["data"]["patient"]
    errors = _error_paths(body)
    assert errors, "a failing registry must be reported as an error"
    assert set(errors.values()) == {EXPECTED_CODE[kind]}

    for failing in SECTIONS[source]:
        section = patient[failing]
        # Every search of the source fails here, so no part of its sections may look empty.
        assert section["status"] == _FAILED_STATUS.get(failing, "UNAVAILABLE"), failing
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
@pytest.mark.parametrize("failing", ["Consent", "Patient"])
async def test_unreadable_privacy_settings_fail_the_whole_summary_closed(
    registries: MockRegistries, kind: FaultKind, failing: str
) -> None:
    # Patient: the search that finds the core record's id for the patient, which the privacy
    # settings are then asked for by (Consent?patient=Patient/<id>).
    await registries.set_fault(Source.CORE_RECORD, Fault(kind, resource_types=frozenset({failing})))
    # A fresh gateway: one that found the Patient id before would still know it.
    async with fresh_runner(settings_for(registries)) as runner:
        body = await runner.execute(summary_query(), {"nin": PATIENT})
    # Without the patient's restrictions and blocks nothing may be shown: not even the
    # registries that answered, because a block would have hidden them too.
    assert body["data"] == {"patient": None}
    assert _error_paths(body) == {("patient",): EXPECTED_CODE[kind]}
    for source in Source:
        if source is not Source.CORE_RECORD:
            assert registries.stats(source).total == 0, source
    asked = set(registries.stats(Source.CORE_RECORD).by_resource_type)
    # (metadata: the CapabilityStatement, which names no patient.)
    assert asked <= {"metadata", "Patient", "Consent"}, "nothing but the privacy settings"


def _without_provenance(value: Any) -> Any:
    """A section without what says how it was fetched (times, cache, staleness)."""
    if isinstance(value, dict):
        return {
            k: _without_provenance(v)
            for k, v in strip_timing(value).items()
            if k not in {"status", "fromCache", "staleAgeSeconds"}
        }
    return value


@pytest.mark.parametrize("kind", list(EXPECTED_CODE), ids=str)
@pytest.mark.parametrize("source", list(Source), ids=str)
async def test_with_caching_on_a_failing_registry_on_a_cold_cache_still_marks_only_its_sections(
    registries: MockRegistries, source: Source, kind: FaultKind
) -> None:
    # A breaker that stays closed: what is tested here is that no failure is cached.
    settings = settings_for(registries, **{**RESILIENCE_ON, "breaker_failure_threshold": 100})
    async with fresh_runner(settings) as runner:
        await registries.set_fault(source, _fault(source, kind))
        body = await runner.execute(summary_query(), {"nin": PATIENT})
        await registries.clear_fault(source)
        after = await runner.execute(summary_query(), {"nin": PATIENT})

    assert after["errors"] == []
    if _fails_closed(source, kind, body):
        return
    patient = body["data"]["patient"]
    errors = _error_paths(body)
    assert set(errors.values()) == {EXPECTED_CODE[kind]}
    assert all(path[1] in SECTIONS[source] for path in errors), "errors only at failing paths"
    for failing in SECTIONS[source]:
        assert patient[failing]["status"] == _FAILED_STATUS.get(failing, "UNAVAILABLE"), failing
        assert patient[failing]["emptyReason"] == "SOURCE_UNAVAILABLE", failing
        assert patient[failing]["staleAgeSeconds"] is None, "nothing was cached to serve"
        # The failure was not cached: once the registry is back, its sections are whole again.
        assert after["data"]["patient"][failing]["status"] == "COMPLETE", failing
        if failing not in _FAILED_STATUS:  # (its Patient search answered, and was cached)
            assert after["data"]["patient"][failing]["fromCache"] is False, failing
    for other_source, others in SECTIONS.items():
        if other_source is not source:
            for other in others:
                assert patient[other]["status"] == "COMPLETE", other
                # The second summary had the other registries' answers from the cache.
                assert after["data"]["patient"][other]["fromCache"] is True, other
                assert strip_timing(after["data"]["patient"][other]) == {
                    **strip_timing(patient[other]),
                    "fromCache": True,
                }


@pytest.mark.parametrize("kind", list(EXPECTED_CODE), ids=str)
@pytest.mark.parametrize("source", list(Source), ids=str)
async def test_a_failing_registry_with_a_cached_answer_is_served_stale_with_its_age(
    registries: MockRegistries, source: Source, kind: FaultKind
) -> None:
    # Nothing is fresh (TTL 0): every summary asks the registries, and keeps their answers.
    settings = settings_for(registries, **{**RESILIENCE_ON, "cache_ttl_s": 0})
    async with fresh_runner(settings) as runner:
        # A first summary opens the connections and reads each registry's CapabilityStatement
        # and Patient binding: one-time costs that, on a busy machine, could outlast the tests'
        # short timeout. Staleness is what is tested here, so the baseline is the second one.
        await runner.execute(summary_query(), {"nin": PATIENT})
        baseline = await runner.execute(summary_query(), {"nin": PATIENT})
        await registries.set_fault(source, _fault(source, kind))
        body = await runner.execute(summary_query(), {"nin": PATIENT})

    assert baseline["errors"] == []
    # The privacy settings are never cached, so nothing stale stands in for them.
    if _fails_closed(source, kind, body):
        return
    assert body["errors"] == [], "the stale copy stands in: no part is missing"
    patient = body["data"]["patient"]
    for failing in SECTIONS[source]:
        section = patient[failing]
        assert section["status"] == "STALE", failing
        assert section["fromCache"] is True
        assert 0 <= section["staleAgeSeconds"] < 60
        assert _without_provenance(section) == _without_provenance(
            baseline["data"]["patient"][failing]
        )
    for other_source, others in SECTIONS.items():
        if other_source is not source:
            for other in others:
                assert patient[other]["status"] == "COMPLETE", other
                assert patient[other]["staleAgeSeconds"] is None, other
    stale = {
        (s["source"], s["errorCode"], s["fromCache"])
        for s in patient["sources"]
        if s["status"] == "STALE"
    }
    assert stale == {(source.name, EXPECTED_CODE[kind], True)}
    assert all(s["status"] == "OK" for s in patient["sources"] if s["source"] != source.name)


@pytest.mark.parametrize("source", list(Source), ids=str)
async def test_a_broken_next_link_fails_exactly_the_searches_that_have_a_second_page(
    runner: SchemaRunner, registries: MockRegistries, source: Source
) -> None:
    # One entry a page: every search with two or more matches has a next link to follow.
    settings = settings_for(registries, page_size=1)
    async with aiohttp.ClientSession() as session:
        paged = SchemaRunner(settings, SourceClients.build(settings, session), runner.audit_writer)
        baseline = await paged.execute(summary_query(), {"nin": PATIENT})
        await registries.set_fault(source, _fault(source, FaultKind.BROKEN_NEXT_LINK))
        body = await paged.execute(summary_query(), {"nin": PATIENT})

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
    if source is not Source.GP_REGISTRY:  # its standard search: one Patient, with includes
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
    body = await runner.execute(summary_query(), {"nin": PATIENT})
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
    body = await runner.execute(summary_query(), {"nin": PATIENT})
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
        body = await capped.execute(summary_query(), {"nin": PATIENT})
    medications = body["data"]["patient"]["medications"]
    assert body["errors"] == []
    assert medications["status"] == "PARTIAL"
    assert len(medications["prescriptions"]) == 2 * 5
    searches = {s["resourceType"]: s["status"] for s in body["data"]["patient"]["sources"]}
    assert searches["MedicationRequest"] == "TRUNCATED"
