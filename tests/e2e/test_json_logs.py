"""The JSON log lines operators ship: one per request with its id, operation, organisation,
outcome and duration, and never an identity number, a name or a drug name.

Runs summaries of every fixture patient as several personas (granted, withheld, blocked,
reserved, restricted, a patient reading another's record), refusals (no token, a bad number)
and every kind of source fault through the real app, and reads the formatted output, which
also carries the fields bound per request (``test_logs.py`` reads the raw messages)."""

from __future__ import annotations

import io

import orjson

from mocks.faults import Fault, FaultKind
from mocks.fixtures import FIXTURES, fixture
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import GatewayServer


def _patient_data(population: Population) -> set[str]:
    """Every fixture's identity number, name (and its parts) and drug names."""
    words: set[str] = set()
    for patient in FIXTURES:
        words |= {patient.nin, patient.name, *patient.name.split()}
        record = population.record(patient.nin)
        assert record is not None
        for request in record.of_type("MedicationRequest"):
            words.add(request["medicationCodeableConcept"]["text"])
    return {word for word in words if len(word) > 3}


async def test_summaries_denials_and_faults_log_json_lines_without_patient_data(
    gateway: GatewayServer,
    registries: MockRegistries,
    population: Population,
    json_log: io.StringIO,
) -> None:
    sent = 0
    for persona in ("home-care-gp", "pharmacist", "blocked-doctor", "patient"):
        for patient in FIXTURES:
            await gateway.graphql(summary_query(), {"nin": patient.nin}, persona=persona)
            sent += 1
    await gateway.graphql(summary_query(), {"nin": "12834122056"})  # bad check digit
    await gateway.graphql(summary_query(), {"nin": FIXTURES[0].nin}, persona=None)  # no token
    sent += 2
    for source, kind in [
        (Source.PRESCRIPTIONS, FaultKind.HTTP_500),
        (Source.LAB_RESULTS, FaultKind.HANG),
        (Source.GP_REGISTRY, FaultKind.CONNECTION_REFUSED),
        (Source.VISIT_HISTORY, FaultKind.MALFORMED_JSON),
    ]:
        await registries.set_fault(source, Fault(kind))
    for key in ("home-care-elderly", "critical-allergies", "restricted-sections"):
        await gateway.graphql(summary_query(), {"nin": fixture(key).nin})
        sent += 1

    lines = [orjson.loads(line) for line in json_log.getvalue().splitlines()]
    requests = [line for line in lines if line["logger"] == "gateway.request"]
    assert len(requests) == sent, "one line per request"
    for line in requests:
        assert {"ts", "level", "request_id", "operation", "outcome", "duration_ms"} <= set(line)
    outcomes = {line["outcome"] for line in requests}
    assert {"ok", "partial", "rejected", "unauthenticated"} <= outcomes
    assert any(line["organisation"] for line in requests), "the caller's organisation"
    assert any("SOURCE_TIMEOUT" in line["codes"] for line in requests)
    faults = [line for line in lines if line["logger"] == "gateway.errors"]
    assert faults and all(line.get("request_id") for line in faults), (
        "lines logged during a request carry its id"
    )

    text = json_log.getvalue()
    leaked = sorted(word for word in _patient_data(population) if word in text)
    assert leaked == []
