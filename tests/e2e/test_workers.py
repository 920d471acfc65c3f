"""``summary-gateway serve --workers 2``: two processes on one port, whose /metrics (in either
worker) counts the requests of both, in a metrics directory emptied at start."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import orjson

from mocks.fixtures import FIXTURES
from mocks.runner import MockRegistries
from resolvers.examples import summary_query
from tests.conftest import bearer, settings_for
from tests.process_support import gateway_env, gateway_process

REQUESTS = 40


def _requests_total(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith('gateway_requests_total{operation="PatientSummary"')
    )


async def test_two_workers_serve_one_port_and_report_metrics_together(
    registries: MockRegistries, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left over from an earlier run")
    sqlite_file = "workers.sqlite3"
    env = gateway_env(
        settings_for(registries),
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
        GATEWAY_AUDIT__SQLITE_FILE=str(tmp_path / sqlite_file),
    )
    # A new connection per request, so the kernel hands them to both workers.
    connector = aiohttp.TCPConnector(force_close=True)
    async with (
        gateway_process(env, workers=2) as gateway,
        aiohttp.ClientSession(connector=connector, headers=bearer()) as session,
    ):

        async def summary(i: int) -> int:
            nin = FIXTURES[i % len(FIXTURES)].nin
            async with session.post(
                f"{gateway.url}/graphql",
                json={"query": summary_query(), "variables": {"nin": nin}},
            ) as response:
                await response.read()
                return response.status

        assert set(await asyncio.gather(*(summary(i) for i in range(REQUESTS)))) == {200}
        scrapes = []
        for _ in range(6):
            async with session.get(f"{gateway.url}/metrics") as response:
                scrapes.append(_requests_total(await response.text()))
        await asyncio.sleep(0.5)  # the last request lines reach the pipe
    assert scrapes == [REQUESTS] * len(scrapes), "every scrape counts both workers' requests"

    lines = [orjson.loads(line) for line in gateway.output if line.startswith("{")]
    workers = {line["pid"] for line in lines if line["logger"] == "gateway.request"}
    assert len(workers) == 2, f"both workers served requests: {workers}"
    assert not (metrics_dir / "counter_999999.db").exists(), "the directory was emptied at start"
    live = [p.name for p in metrics_dir.glob("gauge_live*")]
    assert live == [], f"each worker marked itself dead on exit: {live}"
    assert any(re.search(r"Started parent process", line) for line in gateway.output)
