"""The independent FHIR server (tests/fhir_server_support.py), loaded with the edge cases."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

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
