"""The independent FHIR server (tests/fhir_server_support.py), loaded with the edge cases, and
the gateway pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from gateway.settings import AuthSettings, CacheSettings, Settings, SourceSettings, SourcesSettings
from mocks.sources import Source
from tests.conftest import _DATA_DIR, RESILIENCE_OFF, GatewayServer, serve
from tests.fhir_server_support import independent_fhir_server


@pytest.fixture(scope="module")
async def fhir_base() -> AsyncIterator[str]:
    """The base URL of the server, loaded with tests/data/r4_edge_cases.json, read-only."""
    async with independent_fhir_server() as base:
        yield base


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client."""
    async with aiohttp.ClientSession() as client:
        yield client


def independent_settings(base: str, **overrides: Any) -> Settings:
    """Settings with every source on the independent server ``base``, as an integrator sets
    them: nothing but the base URL (and the tests' short timeouts, no cache)."""
    options: dict[str, Any] = {"timeout_s": 5.0, **RESILIENCE_OFF, **overrides}
    sources = SourcesSettings(
        **{source.value: SourceSettings(base_url=base, **options) for source in Source}
    )
    return Settings(
        sources=sources,
        data_dir=_DATA_DIR[0],
        auth=AuthSettings(dev_issuer=True),
        cache=CacheSettings(),
    )


@pytest.fixture(scope="module")
async def independent_gateway(fhir_base: str) -> AsyncIterator[GatewayServer]:
    """The gateway with every source pointed at the independent server (edge cases loaded)."""
    async with serve(independent_settings(fhir_base)) as server:
        yield server
