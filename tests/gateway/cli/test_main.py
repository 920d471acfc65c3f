"""The console script, as a user runs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path

import aiohttp
import pytest

from gateway.cli.main import main
from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from mocks.sources import Source
from tests.conftest import bearer, settings_for


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port_run(length: int) -> int:
    """The first of ``length`` consecutive ports that are all free now."""
    for _ in range(50):
        base = _free_port()
        if all(_bindable(base + i) for i in range(length)):
            return base
    raise AssertionError(f"found no {length} consecutive free ports")


def test_fixtures_prints_every_fixture_patient_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fixtures"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["nin"] for row in rows] == [f.nin for f in FIXTURES]
    assert all({"key", "nin", "name", "tags", "description"} <= row.keys() for row in rows)


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert main(["export-schema", str(target)]) == 0
    sdl = target.read_text()
    assert "nin: NationalIdentityNumber!\n  ): Patient" in sdl
    assert sdl == (Path(__file__).resolve().parents[3] / "schema.graphql").read_text()


async def _wait_for_port(port: int, process: asyncio.subprocess.Process) -> None:
    for _ in range(200):
        if process.returncode is not None:
            raise AssertionError("the process exited early")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on {port}")


async def test_serve_with_every_source_configured_starts_no_mocks_and_answers(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_AUTH__DEV_ISSUER"] = "true"
    env["GATEWAY_DATA_DIR"] = str(settings.data_dir)
    for name, source in settings.sources.items():
        env[f"GATEWAY_SOURCES__{name.upper()}__BASE_URL"] = str(source.base_url)
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        await _wait_for_port(port, process)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"http://127.0.0.1:{port}/graphql",
                json={
                    "query": "query($n: NationalIdentityNumber!) { patient(nin: $n) { nin } }",
                    "variables": {"n": FIXTURES[0].nin},
                },
                headers=bearer(),
            ) as response,
        ):
            assert (await response.json())["data"]["patient"]["nin"] == FIXTURES[0].nin
    finally:
        process.send_signal(signal.SIGINT)
        output = (await process.communicate())[0].decode()
    assert f"http://127.0.0.1:{port}/graphql" in output
    assert "mock registries started" not in output
    assert registries.stats(Source.CORE_RECORD).total >= 1, "it used the configured registries"


async def test_mocks_command_serves_six_registries_on_consecutive_ports() -> None:
    base = _free_port_run(6)
    ports = [base + i for i in range(6)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        "mocks",
        "--base-port",
        str(base),
        "--population",
        "20",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        for port in ports:
            await _wait_for_port(port, process)
        async with aiohttp.ClientSession() as session:
            for port in ports:
                async with session.get(f"http://127.0.0.1:{port}/fhir/metadata") as response:
                    assert (await response.json())["resourceType"] == "CapabilityStatement"
    finally:
        process.send_signal(signal.SIGTERM)
        output = (await process.communicate())[0].decode()
    assert process.returncode == 0
    for source in Source:
        assert source.value in output
