"""Application logs never carry an identity number, a name or a health datum."""

from __future__ import annotations

import logging

import pytest

from mocks.faults import Fault, FaultKind
from mocks.fixtures import FIXTURES
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.conftest import GatewayServer


async def test_summaries_denials_and_faults_leave_no_patient_data_in_the_logs(
    gateway: GatewayServer,
    registries: MockRegistries,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        for fixture in FIXTURES:
            await gateway.graphql(summary_query(), {"nin": fixture.nin})
        await gateway.graphql(summary_query(), {"nin": "12834122056"})  # bad check digit
        for source, kind, types in [
            (Source.PRESCRIPTIONS, FaultKind.HTTP_500, frozenset()),
            # Not the privacy settings: that would stop every summary before the other faults.
            (Source.CORE_RECORD, FaultKind.MALFORMED_JSON, frozenset({"Flag", "Condition"})),
            (Source.LAB_RESULTS, FaultKind.HANG, frozenset()),
            (Source.GP_REGISTRY, FaultKind.CONNECTION_REFUSED, frozenset()),
        ]:
            await registries.set_fault(source, Fault(kind, resource_types=types))
        for fixture in FIXTURES[:3]:
            await gateway.graphql(summary_query(), {"nin": fixture.nin})

    logged = caplog.text
    assert "SOURCE_UNAVAILABLE" in logged, "the faults were logged, so the logs were captured"
    forbidden = {"12834122056"}
    for fixture in FIXTURES:
        forbidden |= {fixture.nin, fixture.name, *fixture.name.split()}
        record = population.record(fixture.nin)
        assert record is not None
        for request in record.of_type("MedicationRequest"):
            forbidden.add(request["medicationCodeableConcept"]["text"])
    leaked = sorted(word for word in forbidden if len(word) > 3 and word in logged)
    assert leaked == []
