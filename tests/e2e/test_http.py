"""The HTTP surface a new user meets first: GraphiQL from local assets, health, request ids."""

from __future__ import annotations

import re

from tests.conftest import GatewayServer

EXTERNAL_URL = re.compile(r"https?://", re.IGNORECASE)
# The inline SVG favicon declares its XML namespace; a browser never fetches a namespace.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


async def test_graphiql_page_loads_only_local_assets(gateway: GatewayServer) -> None:
    async with gateway.session.get(
        f"{gateway.url}/graphql", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 200
        page = await response.text()
    assert "graphiql" in page.lower()
    assert EXTERNAL_URL.findall(page.replace(SVG_NAMESPACE, "")) == []
    assets = re.findall(r'(?:src|href)="(/graphiql-assets/[^"]+)"', page)
    assert len(assets) == 7
    for asset in assets:
        async with gateway.session.get(f"{gateway.url}{asset}") as response:
            assert response.status == 200, asset
            assert len(await response.read()) > 100


async def test_healthz_answers(gateway: GatewayServer) -> None:
    async with gateway.session.get(f"{gateway.url}/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


async def test_a_safe_request_id_is_echoed_and_an_unsafe_one_replaced(
    gateway: GatewayServer,
) -> None:
    query = {"query": "{ __typename }"}
    async with gateway.session.post(
        f"{gateway.url}/graphql", json=query, headers={"X-Request-ID": "ehr-123.abc"}
    ) as response:
        assert response.headers["X-Request-ID"] == "ehr-123.abc"
    async with gateway.session.post(
        f"{gateway.url}/graphql", json=query, headers={"X-Request-ID": "bad id\twith spaces"}
    ) as response:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
