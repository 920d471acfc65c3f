"""Shared fixtures: real mock registries on ephemeral ports, and the real gateway served by uvicorn.

Nothing is monkeypatched: the gateway talks HTTP to the mock FHIR servers, and end-to-end tests
talk HTTP to the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
import uvicorn

from gateway.app import create_app
from gateway.context import Context
from gateway.schema import build_schema
from gateway.settings import Settings, SourceSettings, SourcesSettings
from mocks.population import Population
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.clients import SourceClients

# Short timeouts keep the hang cases quick; a small page size makes ordinary patients span
# several pages, so paging (and a broken next link) is exercised on every source.
TEST_TIMEOUT_S = 0.8
TEST_PAGE_SIZE = 5


@pytest.fixture(scope="session")
def population() -> Population:
    """The seeded synthetic population every mock serves."""
    return Population(seed=2026, size=300)


@pytest.fixture
async def registries(population: Population) -> AsyncIterator[MockRegistries]:
    """All six mock registries, on ephemeral ports, fresh (no faults, zero counts) per test."""
    mocks = MockRegistries(population, ports=dict.fromkeys(Source, 0))
    await mocks.start()
    try:
        yield mocks
    finally:
        await mocks.stop()


def settings_for(registries: MockRegistries, **source_overrides: Any) -> Settings:
    """Settings that point every source at the running mocks."""
    options: dict[str, Any] = {
        "timeout_s": TEST_TIMEOUT_S,
        "connect_timeout_s": TEST_TIMEOUT_S,
        "page_size": TEST_PAGE_SIZE,
        "max_pages": 100,
        **source_overrides,
    }
    sources = SourcesSettings(
        **{
            source.value: SourceSettings(base_url=url, **options)
            for source, url in registries.base_urls.items()
        }
    )
    return Settings(sources=sources, graphiql=True)


@pytest.fixture
def settings(registries: MockRegistries) -> Settings:
    """Gateway settings for the running mocks."""
    return settings_for(registries)


@dataclass
class SchemaRunner:
    """Executes documents against the schema directly, with a real context and real clients."""

    settings: Settings
    clients: SourceClients

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """``{"data": ..., "errors": [...formatted]}``, as the HTTP layer would return it."""
        schema = build_schema(self.settings.operation_cache_size)
        context = Context(request_id="test", settings=self.settings, clients=self.clients)
        result = await schema.execute(query, variable_values=variables, context_value=context)
        return {"data": result.data, "errors": [e.formatted for e in result.errors or []]}


@pytest.fixture
async def runner(settings: Settings) -> AsyncIterator[SchemaRunner]:
    """A schema-level runner over the mocks."""
    async with aiohttp.ClientSession() as session:
        yield SchemaRunner(settings, SourceClients.build(settings, session))


@dataclass
class GatewayServer:
    """The real app, served by uvicorn on an ephemeral port."""

    url: str
    session: aiohttp.ClientSession

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST a GraphQL request and return the decoded body."""
        async with self.session.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, headers=headers
        ) as response:
            body: dict[str, Any] = await response.json()
            return body


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[GatewayServer]:
    """Run ``create_app(settings)`` under uvicorn until the block ends."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            yield GatewayServer(f"http://127.0.0.1:{port}", session)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[GatewayServer]:
    """The gateway over HTTP, in front of the mocks."""
    async with serve(settings) as server:
        yield server


def strip_timing(value: Any) -> Any:
    """A response without what differs between two identical requests (times and durations)."""
    if isinstance(value, dict):
        return {
            k: strip_timing(v)
            for k, v in value.items()
            if k not in {"fetchedAt", "durationMs", "searches"}
        }
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value
