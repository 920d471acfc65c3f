"""Persisted documents over HTTP: automatic persisted queries in the demo, and a gateway in the
production profile, where only registered documents run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.persisted import document_hash
from gateway.settings import AuthSettings, Settings
from mocks.runner import MockRegistries
from resolvers.examples import SUMMARY_QUERY, SUMMARY_QUERY_FILE
from tests.conftest import GatewayServer, dev_keys_published, serve, settings_for

NIN = "12834122055"
REGISTER_TREATMENT = (
    "mutation RegisterTreatment($nin: NationalIdentityNumber!, $input: OngoingTreatmentInput!) "
    "{ registerOngoingTreatment(nin: $nin, input: $input) { replayed } }"
)
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
async def production_gateway(
    shared_registries: MockRegistries, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayServer]:
    documents = tmp_path_factory.mktemp("trusted-documents")
    (documents / "summary.graphql").write_bytes(SUMMARY_QUERY_FILE.read_bytes())
    (documents / "register-treatment.graphql").write_text(REGISTER_TREATMENT)
    async with dev_keys_published() as issuer:
        settings = Settings(
            sources=settings_for(shared_registries).sources,
            profile="production",
            graphql={"trusted_documents_dir": documents},
            auth=AuthSettings(issuers=(issuer,)),
            data_dir=settings_for(shared_registries).data_dir,
        )
        async with serve(settings) as server:
            yield server


@pytest.fixture
def production(production_gateway: GatewayServer, registries: MockRegistries) -> GatewayServer:
    return production_gateway


async def request(server: GatewayServer, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with server.session.post(
        f"{server.url}/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE}
    ) as response:
        return response.status, await response.json(content_type=None)


def persisted(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(text)}}


async def test_a_registered_document_runs_by_its_hash(production: GatewayServer) -> None:
    status, body = await request(
        production, {"extensions": persisted(SUMMARY_QUERY), "variables": {"nin": NIN}}
    )
    assert status == 200
    assert "errors" not in body
    assert body["data"]["patient"]["nin"] == NIN


async def test_a_registered_document_without_its_variables_is_bad_user_input(
    production: GatewayServer,
) -> None:
    status, body = await request(production, {"extensions": persisted(SUMMARY_QUERY)})
    assert status == 400
    assert "data" not in body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "typo",
    [{"treatmen": "DIALYSIS"}, {"treatment": "DIALYSI"}],
    ids=["input-field", "enum-value"],
)
async def test_a_misspelt_variable_gets_no_suggestion_in_production(
    production: GatewayServer, registries: MockRegistries, typo: dict[str, str]
) -> None:
    variables = {"nin": NIN, "input": {"note": "Dialyse", "startedOn": "2026-10-01", **typo}}
    status, body = await request(
        production, {"extensions": persisted(REGISTER_TREATMENT), "variables": variables}
    )
    assert status == 400
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    assert [e["message"] for e in body["errors"] if "Did you mean" in e["message"]] == []
    assert len(registries.population.edits) == 0


async def test_an_unknown_hash_is_persisted_query_not_found(production: GatewayServer) -> None:
    status, body = await request(production, {"extensions": persisted("{ __typename }")})
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_arbitrary_query_is_refused(production: GatewayServer) -> None:
    query = f'{{ patient(nin: "{NIN}") {{ nin }} }}'
    status, body = await request(production, {"query": query})
    assert status == 400
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


async def test_graphiql_is_not_served(production: GatewayServer) -> None:
    async with production.session.get(
        f"{production.url}/graphql", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 404


async def test_automatic_persisted_queries_take_two_round_trips_then_one(
    gateway: GatewayServer,
) -> None:
    # A text no other test sends, so the shared gateway has not seen its hash yet.
    query = "query AutomaticallyPersisted { __typename }"
    hashed = {"extensions": persisted(query)}
    async with gateway.session.post(f"{gateway.url}/graphql", json=hashed) as response:
        assert response.status == 200  # application/json: a request error is still 200
        body = await response.json()
        assert body["errors"][0]["message"] == "PersistedQueryNotFound"
        assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    status, body = await request(gateway, {"query": query, **hashed})
    assert (status, body) == (200, {"data": {"__typename": "Query"}})
    status, body = await request(gateway, hashed)
    assert (status, body) == (200, {"data": {"__typename": "Query"}})
