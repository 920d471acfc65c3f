"""Two gateway processes behind one (imagined) load balancer: one Redis cache, one PostgreSQL
access log. Reads through both share cached answers, every answered request is on record, and
the access log's hash chain is one intact line afterwards."""

from __future__ import annotations

import asyncio
import re
import sys

import aiohttp

from gateway.audit.events import StoredEvent
from gateway.audit.postgres import PostgresAuditStore
from gateway.settings import CacheSettings
from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from mocks.sources import Source
from resolvers.examples import summary_query
from tests.audit_support import drop_schema, new_schema, require_postgres
from tests.conftest import bearer, settings_for
from tests.process_support import GatewayProcess, gateway_env, gateway_process


async def _summary(
    session: aiohttp.ClientSession, gateway: GatewayProcess, nin: str, request_id: str
) -> bool:
    async with session.post(
        f"{gateway.url}/graphql",
        json={"query": summary_query(), "variables": {"nin": nin}},
        headers={**bearer(), "X-Request-ID": request_id},
    ) as response:
        body = await response.json()
        return response.status == 200 and body["data"]["patient"] is not None


def _metric(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def _all_rows(dsn: str, schema: str) -> list[StoredEvent]:
    store = PostgresAuditStore(dsn, schema, 5.0)
    await store.open()
    try:
        return list(await store.scan(0, 1_000_000))
    finally:
        await store.close()


async def test_two_gateways_share_redis_and_postgres_and_leave_one_intact_chain(
    registries: MockRegistries, redis_cache: CacheSettings
) -> None:
    dsn = await require_postgres()
    schema = new_schema()
    settings = settings_for(registries)
    assert redis_cache.encryption_key is not None and redis_cache.redis_url is not None
    env = gateway_env(
        settings,
        GATEWAY_AUDIT__POSTGRES_DSN=dsn,
        GATEWAY_AUDIT__POSTGRES_SCHEMA=schema,
        GATEWAY_CACHE__REDIS_URL=redis_cache.redis_url,
        GATEWAY_CACHE__ENCRYPTION_KEY=redis_cache.encryption_key.get_secret_value(),
        GATEWAY_CACHE__NAMESPACE=redis_cache.namespace,
    )
    patients = [f.nin for f in FIXTURES[:6]]
    try:
        async with (
            gateway_process(env) as first,
            gateway_process(env) as second,
            aiohttp.ClientSession() as session,
        ):
            # The first instance warms the shared cache; the second reads the same patients.
            warm = [_summary(session, first, nin, f"first-{i}") for i, nin in enumerate(patients)]
            assert all(await asyncio.gather(*warm))
            asked = registries.stats(Source.PRESCRIPTIONS).total
            reads = [
                _summary(session, second, nin, f"second-{i}") for i, nin in enumerate(patients)
            ]
            assert all(await asyncio.gather(*reads))
            assert registries.stats(Source.PRESCRIPTIONS).total == asked, (
                "the second instance read the prescriptions the first cached in Redis"
            )
            # Then both at once, interleaved, as a load balancer would spread them.
            mixed = [
                _summary(session, (first, second)[i % 2], patients[i % 6], f"mixed-{i}")
                for i in range(24)
            ]
            assert all(await asyncio.gather(*mixed))
            async with session.get(f"{second.url}/metrics") as response:
                second_metrics = await response.text()
        hits = _metric(second_metrics, "gateway_cache_lookups_total", result="hit")
        print(f"\nsecond instance: {hits:.0f} cache hits")
        assert hits > 0

        verify_env = {**env}
        verify = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gateway.cli",
            "audit",
            "verify",
            env=verify_env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await verify.communicate())[0].decode()
        print(f"summary-gateway audit verify: {output.strip()} (exit {verify.returncode})")
        assert verify.returncode == 0, output
        found = re.search(r"access log intact: (\d+) records", output)
        assert found is not None
        rows = await _all_rows(dsn, schema)
        logged = {stored.event.request_id for stored in rows}
        sent = {f"{kind}-{i}" for kind in ("first", "second") for i in range(6)}
        sent |= {f"mixed-{i}" for i in range(24)}
        assert sent <= logged, f"answered without a record: {sorted(sent - logged)}"
        assert int(found.group(1)) == len(rows), "verify walked every record of both"
    finally:
        await drop_schema(dsn, schema)
