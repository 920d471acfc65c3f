"""All six mock registries at once: for tests (``MockRegistries``) and the demo (``run_mocks``).

async with MockRegistries(Population(), ports=EPHEMERAL_PORTS) as mocks:
    url = mocks.base_urls[Source.PRESCRIPTIONS]
    await mocks.set_fault(Source.LAB_RESULTS, Fault(FaultKind.HTTP_503, retry_after_s=2))
    ...
    assert mocks.stats(Source.LAB_RESULTS).total == 1
    mocks.set_mode(Mode.STANDARD)                       # every registry a plain R4 server
    mocks.set_mode(Mode.WRONG_PATIENT, Source.DOCUMENTS)
    mocks.set_mode(ServerMode.of(Mode.STANDARD, ["date"]), Source.VISIT_HISTORY)
    mocks.reset_mode()                                  # all back to the dialect

``mode=`` at construction (one for all, or per registry) and ``run_mocks(mode=...)`` (the
``--mode`` option of ``summary-gateway mocks``) start them in a mode; see ``mocks/modes.py``.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType

from mocks.faults import NO_FAULT, Fault, RequestStats
from mocks.fixtures import FIXTURES
from mocks.modes import DIALECT, Mode, ServerMode
from mocks.population import Population
from mocks.server import MockServer
from mocks.sources import DEFAULT_HOST, DEFAULT_PORTS, Source

ModeLike = Mode | str | ServerMode
"""A server mode as the runner takes it: a ``Mode``, its name, or a ``ServerMode``."""

EPHEMERAL_PORTS: dict[Source, int] = dict.fromkeys(Source, 0)
"""Let the OS pick a free port for every registry (tests)."""


class MockRegistries:
    """The mock registries of ``sources`` (default: all six), serving one population."""

    def __init__(
        self,
        population: Population | None = None,
        *,
        sources: Iterable[Source] | None = None,
        host: str = DEFAULT_HOST,
        ports: Mapping[Source, int] | None = None,
        faults: Mapping[Source, Fault] | None = None,
        latency_ms: int | Mapping[Source, int] = 0,
        mode: ModeLike | Mapping[Source, ModeLike] = Mode.DIALECT,
    ) -> None:
        self.population = population if population is not None else Population()
        ports = DEFAULT_PORTS if ports is None else ports
        faults = faults or {}
        modes = mode if isinstance(mode, Mapping) else dict.fromkeys(Source, mode)
        self._servers = {
            source: MockServer(
                source,
                self.population,
                host,
                ports.get(source, DEFAULT_PORTS[source]),
                fault=faults.get(source, NO_FAULT),
                latency_ms=latency_ms if isinstance(latency_ms, int) else latency_ms.get(source, 0),
                mode=ServerMode.of(modes.get(source, Mode.DIALECT)),
            )
            for source in (Source if sources is None else sources)
        }

    async def __aenter__(self) -> MockRegistries:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start every registry; if one cannot bind its port, the others are stopped again."""
        try:
            for server in self._servers.values():
                await server.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every registry (safe to call twice)."""
        for server in self._servers.values():
            await server.stop()

    @property
    def sources(self) -> tuple[Source, ...]:
        """The registries running."""
        return tuple(self._servers)

    @property
    def base_urls(self) -> dict[Source, str]:
        """FHIR base URL per registry, e.g. ``http://127.0.0.1:8101/fhir``."""
        return {source: server.base_url for source, server in self._servers.items()}

    def server(self, source: Source) -> MockServer:
        """The server of ``source``, for finer control."""
        return self._servers[source]

    async def set_fault(self, source: Source, fault: Fault) -> None:
        """Switch ``source`` to ``fault`` (any kind, ``connection_refused`` included)."""
        await self._servers[source].set_fault(fault)

    async def clear_fault(self, source: Source | None = None) -> None:
        """Normal service again for ``source`` (None: every registry)."""
        for key in self._targets(source):
            await self._servers[key].clear_fault()

    def fault(self, source: Source) -> Fault:
        """The fault in force at ``source``."""
        return self._servers[source].fault

    def set_latency(self, source: Source, latency_ms: int) -> None:
        """Delay every response of ``source`` by ``latency_ms``, fault or not."""
        self._servers[source].set_latency(latency_ms)

    def set_mode(self, mode: ModeLike, source: Source | None = None) -> None:
        """Answer searches of ``source`` (None: every registry) as a server in ``mode`` does
        (a ``Mode``, its name, or a ``ServerMode`` with parameters it does not know)."""
        for key in self._targets(source):
            self._servers[key].set_mode(ServerMode.of(mode))

    def reset_mode(self, source: Source | None = None) -> None:
        """Back to the dialect for ``source`` (None: every registry)."""
        self.set_mode(DIALECT, source)

    def mode(self, source: Source) -> ServerMode:
        """The mode ``source`` answers in."""
        return self._servers[source].mode

    def stats(self, source: Source) -> RequestStats:
        """Requests ``source`` has received (admin requests excluded)."""
        return self._servers[source].stats()

    def reset_stats(self, source: Source | None = None) -> None:
        """Zero the request counters of ``source`` (None: every registry)."""
        for key in self._targets(source):
            self._servers[key].reset_stats()

    def _targets(self, source: Source | None) -> tuple[Source, ...]:
        return self.sources if source is None else (source,)


def run_mocks(
    host: str = DEFAULT_HOST,
    ports: Mapping[Source, int] | None = None,
    population_size: int = 1000,
    seed: int = 2026,
    latency_ms: int = 0,
    *,
    mode: ModeLike | Mapping[Source, ModeLike] = Mode.DIALECT,
    echo: Callable[[str], None] = print,
) -> None:
    """Serve all six registries until Ctrl-C or SIGTERM (``summary-gateway mocks``), in
    ``mode`` (one for all, or per registry; ``mocks/modes.py``).

    Prints each registry's base URL (and mode, unless dialect) and the fixture patients once
    listening.
    """
    asyncio.run(
        _serve(
            host,
            ports,
            population_size=population_size,
            seed=seed,
            latency_ms=latency_ms,
            mode=mode,
            echo=echo,
        )
    )


async def _serve(
    host: str,
    ports: Mapping[Source, int] | None,
    *,
    population_size: int,
    seed: int,
    latency_ms: int,
    mode: ModeLike | Mapping[Source, ModeLike],
    echo: Callable[[str], None],
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    population = Population(seed=seed, size=population_size)
    try:
        async with MockRegistries(
            population, host=host, ports=ports, latency_ms=latency_ms, mode=mode
        ) as mocks:
            echo(f"Mock registries (seed {seed}, {population_size} patients + fixtures):")
            for source, url in mocks.base_urls.items():
                echo(f"  {source.value:<14} {url}")
            changed = {s: mocks.mode(s) for s in mocks.sources if mocks.mode(s) != DIALECT}
            if changed:
                echo("Server modes (the others: dialect):")
                for source, changed_mode in changed.items():
                    echo(f"  {source.value:<14} {_describe(changed_mode)}")
            echo("Fixture patients:")
            for fx in FIXTURES:
                echo(f"  {fx.nin}  {fx.key:<20} {fx.name}")
            echo("Press Ctrl-C to stop.")
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def _describe(mode: ServerMode) -> str:
    unknown = ", ".join(sorted(mode.unknown_params))
    return mode.mode.value + (f" (not knowing {unknown})" if unknown else "")
