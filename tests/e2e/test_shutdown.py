"""SIGTERM during load: the gateway stops accepting, finishes what is in flight, flushes the
access log; every request it answered with data has its access-log rows."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import orjson
import pytest

from gateway.audit.sqlite import SqliteAuditStore
from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.conftest import bearer, settings_for
from tests.process_support import gateway_env, gateway_process

CONNECTIONS = 12


async def _logged_request_ids(sqlite_file: Path) -> set[str]:
    """The request ids of every record in the access log."""
    store = SqliteAuditStore(sqlite_file, 5.0)
    await store.open()
    try:
        return {stored.event.request_id for stored in await store.scan(0, 1_000_000)}
    finally:
        await store.close()


async def _summary(
    session: aiohttp.ClientSession, url: str, nin: str, request_id: str
) -> tuple[str, int | None, bool]:
    """(request id, status or None when not answered, whether the answer held data)."""
    try:
        async with session.post(
            f"{url}/graphql",
            json={"query": summary_query(), "variables": {"nin": nin}},
            headers={**bearer(), "X-Request-ID": request_id},
        ) as response:
            body = await response.json()
            return request_id, response.status, bool(body.get("data", {}).get("patient"))
    except (aiohttp.ClientError, TimeoutError):
        return request_id, None, False


async def test_sigterm_during_load_answers_in_flight_requests_and_logs_every_answer(
    registries: MockRegistries,
) -> None:
    settings = settings_for(registries)
    sqlite_file = f"shutdown-{uuid.uuid4().hex}.sqlite3"
    env = gateway_env(
        settings,
        GATEWAY_AUDIT__SQLITE_FILE=sqlite_file,
        GATEWAY_OPS__SHUTDOWN_GRACE_S="15",
    )
    # Each registry answers after 400 ms, so the requests sent just before SIGTERM are in
    # flight when it arrives.
    for source in registries.sources:
        registries.set_latency(source, 400)
    async with gateway_process(env) as gateway, aiohttp.ClientSession() as session:
        requests = []
        for i in range(40):
            nin = FIXTURES[i % len(FIXTURES)].nin
            requests.append(
                asyncio.create_task(_summary(session, gateway.url, nin, f"shutdown-{i}"))
            )
            if i == 25:
                gateway.terminate()
            await asyncio.sleep(0.02)
        results = await asyncio.gather(*requests)
        status = await gateway.wait()
    answered = {rid for rid, code, data in results if code == 200 and data}
    assert status == 0, "".join(gateway.output)
    assert any("Application shutdown complete" in line for line in gateway.output)
    assert len(answered) >= 10, f"requests in flight at SIGTERM were answered: {results}"
    assert any(code is None for _, code, _ in results), "requests after SIGTERM were refused"
    assert any("Shutting down" in line for line in gateway.output)

    logged = await _logged_request_ids(settings.data_dir / sqlite_file)
    assert answered <= logged, f"answered without access-log rows: {sorted(answered - logged)}"


@dataclass
class _KeptAlive:
    """One HTTP/1.1 connection kept open between requests, spoken to byte by byte so the test
    sees exactly what the server does with it (a client pool would hide a reset by retrying)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    host: str

    async def summary(self, nin: str, request_id: str) -> tuple[int, dict[str, str], bool]:
        """(status, lower-cased headers, whether the answer held data)."""
        body = orjson.dumps({"query": summary_query(), "variables": {"nin": nin}})
        headers = {
            "Host": self.host,
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "X-Request-ID": request_id,
            **bearer(),
        }
        head = "POST /graphql HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line, *lines = (await self.reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
        answer = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines if line)
        }
        data = orjson.loads(await self.reader.readexactly(int(answer["content-length"])))
        return int(status_line.split()[1]), answer, bool((data.get("data") or {}).get("patient"))

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.mark.parametrize("workers", [1, 2])
async def test_sigterm_answers_requests_on_kept_alive_connections_with_connection_close(
    registries: MockRegistries, workers: int
) -> None:
    settings = settings_for(registries)
    sqlite_file = f"drain-{uuid.uuid4().hex}.sqlite3"
    env = gateway_env(
        settings, GATEWAY_AUDIT__SQLITE_FILE=sqlite_file, GATEWAY_OPS__SHUTDOWN_GRACE_S="15"
    )
    nin = FIXTURES[0].nin
    async with gateway_process(env, workers=workers) as gateway:
        host = gateway.url.removeprefix("http://")
        address, port = host.split(":")
        connections = [
            _KeptAlive(*await asyncio.open_connection(address, int(port)), host=host)
            for _ in range(CONNECTIONS)
        ]
        try:
            before = await asyncio.gather(
                *(c.summary(nin, f"before-{i}") for i, c in enumerate(connections))
            )
            assert all(code == 200 and data for code, _, data in before)
            assert all(headers.get("connection") != "close" for _, headers, _ in before)

            gateway.terminate()
            async with asyncio.timeout(10):
                while sum("Shutting down" in line for line in gateway.output) < workers:
                    assert gateway.process.returncode is None, "".join(gateway.output)
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # every process has closed its listening socket
            try:
                _, refused = await asyncio.open_connection(address, int(port))
            except ConnectionRefusedError:
                pass
            else:
                refused.close()
                raise AssertionError("a new connection was accepted during the drain")

            # Each connection was idle when the drain began; a request on it now is answered,
            # told to close, and then the server closes the connection.
            after = await asyncio.gather(
                *(c.summary(nin, f"after-{i}") for i, c in enumerate(connections))
            )
            assert [(code, headers.get("connection"), data) for code, headers, data in after] == [
                (200, "close", True)
            ] * CONNECTIONS
            assert [await c.reader.read() for c in connections] == [b""] * CONNECTIONS
        finally:
            for connection in connections:
                await connection.close()
        status = await gateway.wait()
    assert status == 0, "a drain after SIGTERM exits 0, with any number of workers"

    logged = await _logged_request_ids(settings.data_dir / sqlite_file)
    expected = {f"{when}-{i}" for when in ("before", "after") for i in range(CONNECTIONS)}
    assert expected <= logged, f"answered without access-log rows: {sorted(expected - logged)}"
