"""The same patients, the same summary: from the mocks (the registries' dialect) and from the
independent FHIR server loaded with the mock population exported as plain R4 (``mocks.export``:
references by id, no identity numbers inside references).

Agreeing with our own mocks proves little; agreeing with them *and* with a server we did not
write shows that the gateway reads standard R4, and that the mocks answer as such a server does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from mocks.export import chosen_records, export_records
from mocks.fixtures import FIXTURES, fixture
from mocks.population import Population
from resolvers.examples import summary_query
from tests.conftest import GatewayServer, serve, strip_provenance
from tests.fhir_server.conftest import independent_settings
from tests.fhir_server_support import independent_fhir_server

GENERATED = 12
"""Generated patients exported besides the fixtures (the population's first ones)."""


@pytest.fixture(scope="module")
async def exported_gateway(population: Population) -> AsyncIterator[GatewayServer]:
    """The gateway, every source on the independent server loaded with the export."""
    bundle = export_records(chosen_records(population, GENERATED, fixtures=True))
    async with (
        independent_fhir_server(bundle) as base,
        serve(independent_settings(base)) as server,
    ):
        yield server


# Beyond the whole summary: what the mapping of issue 15 added, so that it is compared too (in
# two documents: one would cost more than the limit).
RECORD_QUERY = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    criticalInformation {
      allergies { agentCodings { system code display } onset reaction }
      criticalConditions { description codings { systemName code } }
    }
    medications {
      prescriptions { medication { name codes { systemName code display } } validFrom }
      dispensings { dispensedBy { kind name hprNumber organizationNumber } }
    }
    ownRegistrations { nextOfKin { relationship relationshipCodings { systemName code } } }
  }
}"""
REPORTS_QUERY = """
query($nin: NationalIdentityNumber!) {
  patient(nin: $nin) {
    documents { documents { status docStatus replacedBy authors { kind name } } }
    labResults {
      reports { status performers { kind name } missingResults
        results { status components { value { value unit } } interpretationText } }
      unreportedResults { test { code } valueText }
    }
  }
}"""


# Reserved and blocked patients show nothing; the rest between them hold every section's shapes.
_COMPARED = [f.key for f in FIXTURES if f.key not in {"reserved"}]


@pytest.mark.parametrize(
    "query", [summary_query(), RECORD_QUERY, REPORTS_QUERY], ids=["summary", "record", "reports"]
)
@pytest.mark.parametrize("key", _COMPARED)
async def test_a_fixture_patients_summary_is_the_same_from_both_servers(
    gateway: GatewayServer, exported_gateway: GatewayServer, key: str, query: str
) -> None:
    nin = fixture(key).nin
    from_mocks = await gateway.graphql(query, {"nin": nin})
    from_server = await exported_gateway.graphql(query, {"nin": nin})
    assert from_mocks.get("errors") == from_server.get("errors")
    assert from_mocks["data"]["patient"] is not None
    assert strip_provenance(from_server["data"]) == strip_provenance(from_mocks["data"])


async def test_generated_patients_summaries_are_the_same_from_both_servers(
    gateway: GatewayServer, exported_gateway: GatewayServer, population: Population
) -> None:
    compared = 0
    for index in range(GENERATED):
        nin = population.nin(index)
        from_mocks = await gateway.graphql(summary_query(), {"nin": nin})
        from_server = await exported_gateway.graphql(summary_query(), {"nin": nin})
        assert from_mocks.get("errors") == from_server.get("errors"), index
        assert strip_provenance(from_server["data"]) == strip_provenance(from_mocks["data"]), index
        compared += from_mocks["data"]["patient"] is not None
    assert compared >= GENERATED - 1, "the generated patients have summaries to compare"
