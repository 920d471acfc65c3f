"""The six mock registries in a process of their own, on ephemeral ports.

``python -m bench.mock_registries --population N`` prints one JSON line, ``{"source": base_url,
…}``, once every registry listens, then serves until SIGTERM. Latency is set per registry while
it runs, through each registry's admin route (``PUT /_admin/latency``); the harness does that
between figures.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import orjson

from mocks.population import Population
from mocks.runner import EPHEMERAL_PORTS, MockRegistries


async def _serve(population_size: int, seed: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    population = Population(seed=seed, size=population_size)
    async with MockRegistries(population, ports=EPHEMERAL_PORTS) as mocks:
        urls = {source.value: url for source, url in mocks.base_urls.items()}
        sys.stdout.write(orjson.dumps(urls).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()


def main() -> None:
    """Serve the registries until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    import uvloop

    uvloop.run(_serve(args.population, args.seed))


if __name__ == "__main__":
    main()
