"""One request asks every registry at once, each search once, and nothing for bad input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from mocks.faults import BATCH_COUNT, Fault
from mocks.fixtures import fixture
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import GatewayServer

PATIENT = fixture("home-care-elderly").nin
DELAY_MS = 200
CLOCK_SLACK_S = 0.005
"""A search's start is a wall-clock time and its duration a monotonic one: allow their skew."""

EVERY_SECTION = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    demographics { status } criticalInformation { status } medications { status }
    medicationList { status } generalPractitioner { status } visitHistory { status }
    documents { status } labResults { status } ownRegistrations { status }
    sources { source resourceType fetchedAt durationMs }
  }
}
"""
Span = tuple[tuple[str, str], float, float]


def _spans(sources: list[dict[str, Any]]) -> list[Span]:
    """Each search as ((source, resource type), start, end), in seconds."""
    spans = []
    for search in sources:
        start = dt.datetime.fromisoformat(search["fetchedAt"]).timestamp()
        spans.append(
            (
                (search["source"].lower(), search["resourceType"]),
                start,
                start + search["durationMs"] / 1000,
            )
        )
    return spans


def _all_overlap(spans: list[Span]) -> bool:
    """Whether every one of ``spans`` started before the first of them ended."""
    return max(start for _, start, _ in spans) < min(end for _, _, end in spans)


async def test_summary_costs_the_privacy_check_plus_one_registry_delay_when_all_are_slow(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    for source in Source:
        await registries.set_fault(source, Fault(latency_ms=DELAY_MS))
    # One page per search, so the delay is paid once per search, not once per page.
    await gateway.graphql(summary_query(), {"nin": fixture("minimal").nin})  # warm connections

    body = await gateway.graphql(EVERY_SECTION, {"nin": fixture("minimal").nin})

    assert body.get("errors") is None
    searches = _spans(body["data"]["patient"]["sources"])
    assert len(searches) >= 12, "every search of every registry ran"
    assert all(end - start >= DELAY_MS / 1000 for _, start, end in searches)
    # Thirteen searches of 200 ms each. The privacy settings (Consent) are read before any
    # other registry hears the number; then all the rest at once: every one of them started
    # before the first of them ended. (Read from the searches' own start and duration, so a
    # slow machine cannot fail it, nor a sequential fan-out pass it.)
    privacy = [span for span in searches if span[0] == ("core_record", "Consent")]
    assert len(privacy) == 1
    others = [span for span in searches if span[0][0] != "core_record"]
    assert min(start for _, start, _ in others) >= privacy[0][2] - CLOCK_SLACK_S
    assert _all_overlap(others), "the fan-out is not concurrent"


async def test_each_search_runs_once_per_request_even_when_two_sections_need_it(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await gateway.graphql(summary_query(), {"nin": PATIENT})
    assert body.get("errors") is None
    core = registries.stats(Source.CORE_RECORD).by_resource_type
    # Condition and Flag feed both criticalInformation and ownRegistrations; Patient feeds
    # demographics, ownRegistrations and the existence check.
    for resource_type in ("Patient", "Condition", "Flag"):
        assert core[resource_type] == 1, resource_type


async def test_only_the_registries_the_query_selects_are_asked(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await gateway.graphql(
        "query($nin: NationalIdentityNumber!) { patient(nin: $nin) { medications { status } } }",
        {"nin": PATIENT},
    )
    assert body["data"]["patient"]["medications"]["status"] == "COMPLETE"
    assert registries.stats(Source.PRESCRIPTIONS).total > 0
    for source in (Source.GP_REGISTRY, Source.VISIT_HISTORY, Source.DOCUMENTS, Source.LAB_RESULTS):
        assert registries.stats(source).total == 0, source
    # The privacy settings and the existence check; no other core-record search.
    assert registries.stats(Source.CORE_RECORD).by_resource_type == {"Consent": 1, "Patient": 1}


@pytest.mark.parametrize(
    "bad",
    [
        "12834122056",  # one digit changed
        "21834122055",  # two digits transposed
        "1283412205",  # too short
        "128341220550",  # too long
        "1283412205X",  # a letter
        "",
        "31828510080",  # 31 February, with valid check digits
    ],
)
async def test_an_invalid_identity_number_is_refused_before_any_registry_is_asked(
    gateway: GatewayServer, registries: MockRegistries, bad: str
) -> None:
    body = await gateway.graphql(summary_query(), {"nin": bad})
    assert "data" not in body or body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    if bad:
        assert bad not in body["errors"][0]["message"], "the number is not echoed back"
    assert all(registries.stats(source).total == 0 for source in Source)


async def test_an_invalid_literal_identity_number_is_refused_too(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await gateway.graphql('{ patient(nin: "12834122056") { nin } }')
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]
    assert "12834122056" not in body["errors"][0]["message"], "the number is not echoed back"
    assert all(registries.stats(source).total == 0 for source in Source)


async def test_the_gateway_keeps_serving_after_bad_input(gateway: GatewayServer) -> None:
    await gateway.graphql(summary_query(), {"nin": "not a number"})
    body = await gateway.graphql(summary_query(), {"nin": PATIENT})
    assert body["data"]["patient"]["nin"] == PATIENT


FRAGMENT_QUERY = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    ...Meds ... on Patient { labResults { status } }
    sources { source resourceType fetchedAt durationMs }
  }
}
fragment Meds on Patient { medications { status } }
"""


async def test_registries_selected_through_fragments_are_asked_at_once_with_the_core_record(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    for source in Source:
        await registries.set_fault(source, Fault(latency_ms=DELAY_MS))
    nin = fixture("minimal").nin
    await gateway.graphql(FRAGMENT_QUERY, {"nin": nin})  # warm connections

    body = await gateway.graphql(FRAGMENT_QUERY, {"nin": nin})

    patient = body["data"]["patient"]
    assert (patient["medications"], patient["labResults"]) == (
        {"status": "COMPLETE"},
        {"status": "COMPLETE"},
    )
    # The privacy check, then the registries selected through fragments, all at once.
    searches = _spans(patient["sources"])
    privacy = next(span for span in searches if span[0] == ("core_record", "Consent"))
    others = [span for span in searches if span[0][0] != "core_record"]
    assert {span[0][0] for span in others} == {"prescriptions", "lab_results"}
    assert min(start for _, start, _ in others) >= privacy[2] - CLOCK_SLACK_S
    assert _all_overlap(others), "the fragments' registries were not asked at once"


async def test_two_patients_in_one_query_each_report_only_their_own_searches(
    gateway: GatewayServer, registries: MockRegistries
) -> None:
    body = await gateway.graphql(
        """query($a: NationalIdentityNumber!, $b: NationalIdentityNumber!) {
          a: patient(nin: $a) { nin medications { status } sources { resourceType entries } }
          b: patient(nin: $b) { nin sources { resourceType } }
        }""",
        {"a": PATIENT, "b": fixture("minimal").nin},
    )
    a, b = body["data"]["a"], body["data"]["b"]
    assert {s["resourceType"] for s in a["sources"]} == {
        "Consent",
        "Patient",
        "MedicationRequest",
        "MedicationDispense",
    }
    assert sorted(s["resourceType"] for s in b["sources"]) == ["Consent", "Patient"]
    # The two patients' searches may share batches (BATCH_COUNT): each search counts by its type.
    searched = registries.stats(Source.CORE_RECORD).by_resource_type
    assert {k: v for k, v in searched.items() if k != BATCH_COUNT} == {"Consent": 2, "Patient": 2}
