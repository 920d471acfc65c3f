"""A hung Redis (it accepts connections and never answers): after a few failed round trips the
gateway stops asking it, serves from the registries at the speed it has with Redis well, says so
once in the log, in ``/readyz`` and in a metric, and uses Redis again once it answers.

Against the real Redis, behind a proxy that holds every byte while "hung" (no monkeypatching)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from gateway.settings import CacheSettings
from mocks.population import Population
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.audit_support import TcpProxy
from tests.conftest import RESILIENCE_ON, GatewayServer, serve, settings_for

SUMMARIES = 50


async def _summaries(gateway: GatewayServer, nins: list[str]) -> float:
    """Ask each patient's summary in turn; the seconds they took together."""
    began = time.perf_counter()
    for nin in nins:
        body = await gateway.graphql(summary_query(), {"nin": nin})
        assert body.get("data") is not None, body
    return time.perf_counter() - began


async def _ready(gateway: GatewayServer) -> tuple[int, dict[str, Any]]:
    async with gateway.anonymous.get(f"{gateway.url}/readyz") as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def _metric(gateway: GatewayServer, name: str) -> float:
    async with gateway.anonymous.get(f"{gateway.url}/metrics") as response:
        text = await response.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


async def test_a_hung_redis_is_skipped_at_once_reported_once_and_used_again_when_it_answers(
    registries: MockRegistries,
    redis_cache: CacheSettings,
    population: Population,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.cache")
    proxy = TcpProxy("127.0.0.1", 6379)
    await proxy.start()
    cache = redis_cache.model_copy(update={"redis_url": f"redis://127.0.0.1:{proxy.port}/0"})
    settings = settings_for(registries, cache=cache, **RESILIENCE_ON)
    nins = list(population.nins(0, 3 * SUMMARIES + 10))
    try:
        async with serve(settings) as gateway:
            # Redis well: every summary a miss (new patients), read from and written to Redis.
            with_redis_s = await _summaries(gateway, nins[:SUMMARIES])

            proxy.hold()
            # The failures that open the breaker, each waiting out the Redis timeout.
            await _summaries(gateway, nins[SUMMARIES : SUMMARIES + 10])
            asked_before = proxy.held_requests
            hung_s = await _summaries(gateway, nins[SUMMARIES + 10 : 2 * SUMMARIES + 10])
            asked_while_open = proxy.held_requests - asked_before
            status, hung_ready = await _ready(gateway)
            skipped = await _metric(gateway, "gateway_shared_cache_skipped_total")
            state = await _metric(gateway, "gateway_shared_cache_state")
            down_lines = [r for r in caplog.records if r.name == "gateway.cache"]

            proxy.release()
            ready = hung_ready
            # Recovery needs no restart: the next probe (breaker_reset_s) finds Redis back.
            deadline = time.monotonic() + settings.cache.breaker_reset_s + 10
            while ready.get("cache", {}).get("state") != "ok" and time.monotonic() < deadline:
                await _summaries(gateway, nins[-1:])
                status, ready = await _ready(gateway)
            recovered = ready.get("cache")
            await _summaries(gateway, nins[-2:-1])
            again = await gateway.graphql(summary_query(), {"nin": nins[-2]})
    finally:
        await proxy.cut()

    # While open, not one request reached Redis beyond the probes (one per breaker_reset_s).
    probes = hung_s / settings.cache.breaker_reset_s + 1
    assert asked_while_open <= probes, f"{asked_while_open} requests to a hung Redis"
    # Without Redis the summaries go as fast as with it (each one a miss either way); waiting
    # out the Redis timeout on each made them ten times slower and more.
    assert hung_s / with_redis_s < 3, f"{SUMMARIES} summaries: {with_redis_s:.2f} s, {hung_s:.2f} s"
    assert [(r.levelname, r.getMessage().split(":")[0]) for r in down_lines] == [
        ("WARNING", "the shared cache (Redis) stopped answering")
    ], "one line when Redis went down, none per search"
    assert status == 200, "a cache down is no reason to be unready"
    assert hung_ready.get("cache", {}).get("state") == "degraded", hung_ready
    assert skipped >= SUMMARIES, "lookups skipped while the breaker was open"
    assert state >= 1.0, "gateway_shared_cache_state: open (2) or half-open (1), not closed (0)"
    assert recovered == {"kind": "redis", "state": "ok", "breaker": "CLOSED"}
    back_lines = [r for r in caplog.records if r.name == "gateway.cache"][len(down_lines) :]
    assert [(r.levelname, r.getMessage()) for r in back_lines] == [
        ("INFO", "the shared cache (Redis) answers again")
    ]
    cached = [s for s in again["data"]["patient"]["sources"] if s["resourceType"] != "Consent"]
    assert cached and all(s["fromCache"] for s in cached), "Redis serves again"
