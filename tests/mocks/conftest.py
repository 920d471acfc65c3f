"""Shared fixtures: one population for the whole run, real mock servers on ephemeral ports."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from mocks import EPHEMERAL_PORTS, MockRegistries, Population


@pytest.fixture(scope="session")
def population() -> Population:
    """The default demo population (seed 2026, 1,000 patients), shared: records are read-only."""
    return Population(cache_size=32)  # a small cache: see tests/conftest.py


@pytest.fixture
async def registries(population: Population) -> AsyncIterator[MockRegistries]:
    """All six registries, each on a free port."""
    async with MockRegistries(population, ports=EPHEMERAL_PORTS) as mocks:
        yield mocks


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp client."""
    async with aiohttp.ClientSession() as client:
        yield client
