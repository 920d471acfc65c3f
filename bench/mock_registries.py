"""Mock registries in a process of their own: all six, or one (``--only``) as the harness runs them.

    python -m bench.mock_registries [--population N] [--seed S]           # all six, one process
    python -m bench.mock_registries --only core_record --port 8106 --memoise

prints one JSON line, ``{"source": base_url, …}``, once every registry it serves listens, then
serves until SIGTERM. The harness starts one process per registry (``--only``, each on a port of
its own, every one generating the same seeded population), so fourteen searches of a summary are
answered on both cores at once, not queued in one process. ``--memoise`` keeps the encoded
answers of reads until the next write (``mocks/memo.py``), so a repeated search costs a lookup:
the harness measures the gateway, not the mocks. Latency is set per registry while it runs,
through each registry's admin route (``PUT /_admin/latency``); the harness does that between
figures, and reads the request counters (``/_admin/stats``) around each run.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

import orjson

from mocks.population import Population
from mocks.server import MockServer
from mocks.sources import Source


async def _serve(sources: Sequence[Source], port: int, population: Population, memo: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    servers = [MockServer(source, population, port=port, memoise=memo) for source in sources]
    try:
        for server in servers:
            await server.start()
        urls = {server.source.value: server.base_url for server in servers}
        sys.stdout.write(orjson.dumps(urls).decode() + "\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        for server in servers:
            await server.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the registries until SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m bench.mock_registries", description=__doc__)
    parser.add_argument("--population", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--only", choices=[s.value for s in Source], help="serve this registry alone"
    )
    parser.add_argument("--port", type=int, default=0, help="with --only (default: any free one)")
    parser.add_argument("--memoise", action="store_true", help="answer repeated reads from a memo")
    args = parser.parse_args(argv)
    if args.port and args.only is None:
        parser.error("--port needs --only: six registries cannot share one port")
    sources = list(Source) if args.only is None else [Source(args.only)]
    import uvloop

    population = Population(seed=args.seed, size=args.population)
    uvloop.run(_serve(sources, args.port, population, args.memoise))


if __name__ == "__main__":
    main()
