"""Starting and stopping the registries: in-process (MockRegistries) and as the demo (run_mocks)."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from mocks import (
    DEFAULT_PORTS,
    EPHEMERAL_PORTS,
    MockRegistries,
    Population,
    Source,
    default_base_url,
)
from tests.mocks.fhir_client import get_json

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_default_ports_and_base_urls() -> None:
    assert [DEFAULT_PORTS[s] for s in Source] == list(range(8101, 8107))
    assert [s.value for s in Source] == [
        "prescriptions",
        "gp_registry",
        "visit_history",
        "documents",
        "lab_results",
        "core_record",
    ]
    assert default_base_url(Source.PRESCRIPTIONS) == "http://127.0.0.1:8101/fhir"


async def test_a_subset_of_registries_can_run_alone(
    population: Population, session: aiohttp.ClientSession
) -> None:
    async with MockRegistries(
        population, sources=[Source.CORE_RECORD], ports=EPHEMERAL_PORTS
    ) as mocks:
        assert list(mocks.base_urls) == [Source.CORE_RECORD]
        status, _ = await get_json(session, mocks.base_urls[Source.CORE_RECORD] + "/metadata")
        assert status == 200


async def test_a_busy_port_fails_the_start_and_stops_the_registries_already_started(
    population: Population, session: aiohttp.ClientSession
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ports = {**EPHEMERAL_PORTS, Source.CORE_RECORD: busy.getsockname()[1]}
        mocks = MockRegistries(population, ports=ports)
        with pytest.raises(OSError):
            await mocks.start()
    started = mocks.base_urls[Source.PRESCRIPTIONS]
    with pytest.raises(aiohttp.ClientConnectorError):
        await get_json(session, started + "/metadata")


async def test_run_mocks_prints_the_urls_serves_and_stops_on_sigterm(
    session: aiohttp.ClientSession,
) -> None:
    code = (
        "from mocks import EPHEMERAL_PORTS, run_mocks; "
        "run_mocks(ports=EPHEMERAL_PORTS, population_size=100, seed=5)"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-u", "-c", code, cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            assert line, "run_mocks exited early"
            lines.append(line.decode().strip())
        urls = {
            parts[0]: parts[1]
            for parts in (line.split() for line in lines)
            if len(parts) == 2 and parts[1].startswith("http://")
        }
        assert set(urls) == {s.value for s in Source}
        status, statement = await get_json(session, urls["core_record"] + "/metadata")
        assert (status, statement["resourceType"]) == (200, "CapabilityStatement")
        assert any("home-care-elderly" in line for line in lines)
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
