"""SIGTERM during load: the gateway stops accepting, finishes what is in flight, flushes the
access log; every request it answered with data has its access-log rows."""

from __future__ import annotations

import asyncio
import signal
import uuid

import aiohttp

from gateway.audit.sqlite import SqliteAuditStore
from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from resolvers.examples import SUMMARY_QUERY
from tests.conftest import bearer, settings_for
from tests.process_support import gateway_env, gateway_process


async def _summary(
    session: aiohttp.ClientSession, url: str, nin: str, request_id: str
) -> tuple[str, int | None, bool]:
    """(request id, status or None when not answered, whether the answer held data)."""
    try:
        async with session.post(
            f"{url}/graphql",
            json={"query": SUMMARY_QUERY, "variables": {"nin": nin}},
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
    # uvicorn ends a clean shutdown by re-raising the signal it caught, as a process killed by
    # SIGTERM would end; anything else (a crash, a non-zero exit) fails here.
    assert status in (0, -signal.SIGTERM), "".join(gateway.output)
    assert any("Application shutdown complete" in line for line in gateway.output)
    assert len(answered) >= 10, f"requests in flight at SIGTERM were answered: {results}"
    assert any(code is None for _, code, _ in results), "requests after SIGTERM were refused"
    assert any("Shutting down" in line for line in gateway.output)

    store = SqliteAuditStore(settings.data_dir / sqlite_file, 5.0)
    await store.open()
    try:
        logged = {stored.event.request_id for stored in await store.scan(0, 1_000_000)}
    finally:
        await store.close()
    assert answered <= logged, f"answered without access-log rows: {sorted(answered - logged)}"
