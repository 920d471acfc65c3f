"""CSRF prevention as middleware, over real HTTP: what a browser could send without a preflight
is refused before authentication; what it could not send passes."""

from __future__ import annotations

import pytest

from tests.conftest import bearer
from tests.gateway.http.conftest import Guarded

BODY = b'{"query": "{ __typename }"}'


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ],
)
async def test_a_simple_post_is_refused_even_with_a_valid_token(
    guarded: Guarded, content_type: str
) -> None:
    headers = {**bearer(), "Content-Type": content_type}
    async with guarded.session.post(guarded.url, data=BODY, headers=headers) as response:
        assert response.status == 400
        assert response.headers["X-Request-ID"]
        body = await response.json(content_type=None)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CSRF_PREVENTED"]
    assert guarded.reached == []


async def test_csrf_is_checked_before_the_token(guarded: Guarded) -> None:
    # A page on another site learns nothing about tokens: it gets the CSRF refusal.
    headers = {"Content-Type": "text/plain"}
    async with guarded.session.post(guarded.url, data=BODY, headers=headers) as response:
        assert response.status == 400
        body = await response.json(content_type=None)
    assert body["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"


async def test_a_get_query_without_a_preflight_header_is_refused(guarded: Guarded) -> None:
    params = {"query": "{ __typename }"}
    async with guarded.session.get(guarded.url, params=params, headers=bearer()) as response:
        assert response.status == 400
        body = await response.json(content_type=None)
    assert body["errors"][0]["extensions"]["code"] == "CSRF_PREVENTED"


@pytest.mark.parametrize("header", ["apollo-require-preflight", "x-apollo-operation-name"])
async def test_a_preflight_header_lets_a_get_query_through(guarded: Guarded, header: str) -> None:
    params = {"query": "{ __typename }"}
    headers = {**bearer(), header: "anything"}
    async with guarded.session.get(guarded.url, params=params, headers=headers) as response:
        assert response.status == 200
    assert len(guarded.reached) == 1


async def test_a_json_post_passes(guarded: Guarded) -> None:
    headers = {**bearer(), "Content-Type": "application/json"}
    async with guarded.session.post(guarded.url, data=BODY, headers=headers) as response:
        assert response.status == 200
    assert len(guarded.reached) == 1


async def test_a_navigation_is_not_checked(guarded: Guarded) -> None:
    async with guarded.session.get(guarded.url, headers={"Accept": "text/html"}) as response:
        assert response.status == 200
