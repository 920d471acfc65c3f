"""Small documents built to cost a worker a great deal, sent to a real gateway process: each is
refused before execution, quickly, while the same worker keeps answering its health checks."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from mocks.runner import MockRegistries
from tests.conftest import bearer, settings_for
from tests.gateway.graphql.test_limits import fan_out
from tests.process_support import gateway_env, gateway_process

# Far above a refusal's few milliseconds, far below the hours the fan-out took expanded.
PROMPTLY_S = 2.0


async def _timed_post(
    session: aiohttp.ClientSession, url: str, query: str
) -> tuple[float, int, dict[str, Any]]:
    started = time.monotonic()
    async with session.post(f"{url}/graphql", json={"query": query}, headers=bearer()) as response:
        body: dict[str, Any] = await response.json()
        return time.monotonic() - started, response.status, body


async def _timed_health(session: aiohttp.ClientSession, url: str) -> tuple[float, int]:
    started = time.monotonic()
    async with session.get(f"{url}/healthz") as response:
        await response.read()
        return time.monotonic() - started, response.status


async def test_a_fan_out_of_60_fragment_levels_is_refused_at_once_and_health_checks_answer(
    registries: MockRegistries,
) -> None:
    document = fan_out(60)
    assert len(document) < 2500, "a small request"
    timeout = aiohttp.ClientTimeout(total=15)
    env = gateway_env(settings_for(registries))
    async with (
        gateway_process(env) as gateway,
        aiohttp.ClientSession(timeout=timeout) as session,
    ):
        refused, health = await asyncio.gather(
            _timed_post(session, gateway.url, document), _timed_health(session, gateway.url)
        )
        # The worker is free again afterwards: a second health check answers too.
        after = await _timed_health(session, gateway.url)
    elapsed, status, body = refused
    assert status == 200, body
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["QUERY_TOO_COSTLY"]
    assert elapsed < PROMPTLY_S, f"refused after {elapsed:.2f} s"
    assert health[1] == 200 and health[0] < PROMPTLY_S, f"healthz after {health[0]:.2f} s"
    assert after[1] == 200
