"""The authentication middleware in front of the GraphQL view, over real HTTP: who gets through,
what it leaves in ``request.state``, and the exact 401 (and 400) it answers otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.access.tokens import PURPOSE_HEADER
from tests.conftest import bearer, token_for
from tests.gateway.http.conftest import Guarded

JSON_BODY = {"Content-Type": "application/json"}
QUERY = {"query": "{ __typename }"}


async def _post(guarded: Guarded, headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    async with guarded.session.post(guarded.url, json=QUERY, headers=headers) as response:
        return response.status, dict(response.headers), await response.json(content_type=None)


async def test_a_request_without_a_token_is_401_and_never_reaches_the_view(
    guarded: Guarded,
) -> None:
    status, headers, body = await _post(guarded, {})
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Bearer realm="summary-gateway", error="invalid_token"'
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Request-ID"]
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert "data" not in body
    assert guarded.reached == []


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "tampered"],
)
async def test_a_token_that_is_not_valid_is_401(guarded: Guarded, authorization: str) -> None:
    if authorization == "tampered":
        # A valid token with its signature changed (tokens are made once the run's data exists).
        authorization = f"Bearer {token_for()[:-4]}AAAA"
    status, headers, body = await _post(guarded, {"Authorization": authorization})
    assert status == 401
    assert "WWW-Authenticate" in headers
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # The token is never echoed.
    _, _, credential = authorization.partition(" ")
    assert not credential or credential not in body["errors"][0]["message"]
    assert guarded.reached == []


async def test_the_refusal_speaks_the_media_type_asked_for(guarded: Guarded) -> None:
    status, headers, _ = await _post(
        guarded, {"Accept": "application/graphql-response+json", "X-Request-ID": "req-7"}
    )
    assert status == 401
    assert headers["Content-Type"] == "application/graphql-response+json"
    assert headers["X-Request-ID"] == "req-7"


async def test_a_valid_token_reaches_the_view_with_the_actor_and_stated_purpose(
    guarded: Guarded,
) -> None:
    status, _, body = await _post(guarded, {**bearer(), PURPOSE_HEADER: "treat"})
    assert status == 200
    assert guarded.reached == [body]
    assert body["actor"]
    assert body["purpose"] == "TREAT"


async def test_a_purpose_not_understood_is_400_before_the_view(guarded: Guarded) -> None:
    status, _, body = await _post(guarded, {**bearer(), PURPOSE_HEADER: "curiosity"})
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert guarded.reached == []


async def test_a_browser_navigation_gets_through_without_a_token_and_without_an_actor(
    guarded: Guarded,
) -> None:
    accept = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    async with guarded.session.get(guarded.url, headers=accept) as response:
        assert response.status == 200
        assert await response.json() == {"method": "GET", "actor": None, "purpose": None}


@pytest.mark.parametrize(
    ("params", "accept"),
    [
        # Apollo's persisted-query GET: a hash alone, and */*.
        ({"extensions": '{"persistedQuery": {"version": 1}}'}, "*/*"),
        # A query in the URL is an operation, whatever the Accept.
        ({"query": "{ __typename }"}, "text/html"),
        # No query and no html: not a navigation either.
        ({}, "application/json"),
    ],
)
async def test_a_get_that_is_not_a_navigation_needs_a_token(
    guarded: Guarded, params: dict[str, str], accept: str
) -> None:
    headers = {"Accept": accept, "apollo-require-preflight": "true"}
    async with guarded.session.get(guarded.url, params=params, headers=headers) as response:
        assert response.status == 401
    assert guarded.reached == []
