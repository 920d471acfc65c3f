"""Persisted documents over HTTP: automatic persisted queries in the demo, and a gateway in the
production profile, where only registered documents run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.graphql.persisted import document_hash
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.conftest import REGISTER_TREATMENT, GatewayServer

NIN = "12834122055"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def request(server: GatewayServer, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with server.session.post(
        f"{server.url}/graphql", json=body, headers={"Accept": GRAPHQL_RESPONSE}
    ) as response:
        return response.status, await response.json(content_type=None)


def persisted(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_hash(text)}}


async def test_a_registered_document_runs_by_its_hash(production: GatewayServer) -> None:
    status, body = await request(
        production, {"extensions": persisted(summary_query()), "variables": {"nin": NIN}}
    )
    assert status == 200
    assert "errors" not in body
    assert body["data"]["patient"]["nin"] == NIN


async def test_a_registered_document_without_its_variables_is_bad_user_input(
    production: GatewayServer,
) -> None:
    status, body = await request(production, {"extensions": persisted(summary_query())})
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


# --- a hash alone over GET, as Apollo's persisted-query link sends it -------------------------

# What Apollo Client sends with `useGETForHashedQueries`: `Accept: */*` (its default) and
# `Content-Type: application/json` even on GET (which is what satisfies CSRF prevention).
APOLLO_GET_HEADERS = {"Accept": "*/*", "Content-Type": "application/json"}


def get_params(text: str, variables: dict[str, Any] | None = None) -> dict[str, str]:
    params = {"extensions": json.dumps(persisted(text))}
    if variables is not None:
        params["variables"] = json.dumps(variables)
    return params


async def test_a_registered_hash_over_get_runs_even_when_any_type_is_accepted(
    production: GatewayServer,
) -> None:
    async with production.session.get(
        f"{production.url}/graphql",
        params=get_params(summary_query(), {"nin": NIN}),
        headers=APOLLO_GET_HEADERS,
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body = await response.json()
    assert "errors" not in body
    assert body["data"]["patient"]["nin"] == NIN


async def test_an_unknown_hash_over_get_is_a_graphql_answer_not_the_graphiql_page(
    gateway: GatewayServer,
) -> None:
    # A text no other test sends, so the shared gateway has not seen its hash yet.
    query = "query AutomaticallyPersistedOverGet { __typename }"
    async with gateway.session.get(
        f"{gateway.url}/graphql", params=get_params(query), headers=APOLLO_GET_HEADERS
    ) as response:
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["errors"][0]["message"] == "PersistedQueryNotFound"
    assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    status, body = await request(gateway, {"query": query, "extensions": persisted(query)})
    assert (status, body) == (200, {"data": {"__typename": "Query"}})
    async with gateway.session.get(
        f"{gateway.url}/graphql", params=get_params(query), headers=APOLLO_GET_HEADERS
    ) as response:
        assert await response.json() == {"data": {"__typename": "Query"}}


async def test_only_a_browser_navigation_without_parameters_gets_the_graphiql_page(
    gateway: GatewayServer,
) -> None:
    url = f"{gateway.url}/graphql"
    navigation = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    async with gateway.anonymous.get(url, headers={"Accept": navigation}) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
    # Without text/html in Accept, a bare GET is no page: a GraphQL request without a query.
    async with gateway.anonymous.get(url, headers={"Accept": "*/*"}) as response:
        assert response.content_type == "application/json"
    # With GraphQL parameters, even a navigation is a GraphQL request (here refused by CSRF
    # prevention, since a navigation is never preflighted).
    async with gateway.session.get(
        url, params=get_params("{ __typename }"), headers={"Accept": navigation}
    ) as response:
        assert response.status == 400
        assert response.content_type == "application/json"
        body = await response.json()
    assert body["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"
