"""One mock registry served on a real TCP port, with faults that can close the port itself and a
server mode (``mocks/modes.py``) switched at run time."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from mocks import core_record, documents, gp_registry, lab_results, prescriptions, visit_history
from mocks.faults import NO_FAULT, Fault, FaultInjector, FaultKind, RequestStats
from mocks.memo import AnswerMemo
from mocks.modes import DIALECT, ServerMode
from mocks.population import Population
from mocks.sources import DEFAULT_HOST, Source, base_url

_AppFactory = Callable[[Population, FaultInjector | None], web.Application]
APP_FACTORIES: dict[Source, _AppFactory] = {
    Source.PRESCRIPTIONS: prescriptions.create_app,
    Source.GP_REGISTRY: gp_registry.create_app,
    Source.VISIT_HISTORY: visit_history.create_app,
    Source.DOCUMENTS: documents.create_app,
    Source.LAB_RESULTS: lab_results.create_app,
    Source.CORE_RECORD: core_record.create_app,
}
SHUTDOWN_TIMEOUT_S = 0.5


def create_app(
    source: Source, population: Population, injector: FaultInjector | None = None
) -> web.Application:
    """The aiohttp application of ``source`` (not yet listening anywhere)."""
    return APP_FACTORIES[source](population, injector)


class MockServer:
    """A registry listening on ``host:port`` (port 0 picks a free one at start).

    ``memoise`` keeps the encoded answers of reads until the next write (``mocks/memo.py``): for
    the benchmark, never for tests or the demo.
    """

    def __init__(
        self,
        source: Source,
        population: Population,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        fault: Fault = NO_FAULT,
        latency_ms: int = 0,
        mode: ServerMode = DIALECT,
        memoise: bool = False,
    ) -> None:
        self.source = source
        self.host = host
        self.port = port
        self.injector = FaultInjector(latency_ms=latency_ms, mode=mode)
        self._initial_fault = fault
        self._app = create_app(source, population, self.injector)
        self.memo = AnswerMemo(self.injector) if memoise else None
        if self.memo is not None:  # the innermost middleware: faults and counts apply first
            self._app.middlewares.append(self.memo.middleware)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    @property
    def base_url(self) -> str:
        """The FHIR base URL (``http://host:port/fhir``); the real port once started."""
        return base_url(self.host, self.port)

    @property
    def fault(self) -> Fault:
        """The fault in force."""
        return self.injector.fault

    async def start(self) -> None:
        """Bind the port and serve; then apply the fault given at construction."""
        # handler_cancellation: a hanging handler ends when its client disconnects.
        self._runner = web.AppRunner(
            self._app,
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            access_log=None,
        )
        await self._runner.setup()
        await self._open_site()
        await self.set_fault(self._initial_fault)

    async def stop(self) -> None:
        """Stop serving; requests left hanging are answered 503 so shutdown never waits long."""
        self.injector.shut_down()
        if self._runner is not None:
            await self._runner.cleanup()
        self._runner, self._site = None, None

    async def set_fault(self, fault: Fault) -> None:
        """Switch fault; ``connection_refused`` closes the port, leaving it reopens it.

        Before ``start`` this replaces the fault the server will start with.
        """
        if self._runner is None:
            self._initial_fault = fault
            return
        was_refusing = self.injector.fault.kind is FaultKind.CONNECTION_REFUSED
        refuse = fault.kind is FaultKind.CONNECTION_REFUSED
        self.injector.set_fault(fault)
        if refuse and not was_refusing:
            await self._close_site()
        elif was_refusing and not refuse:
            await self._open_site()

    async def clear_fault(self) -> None:
        """Back to normal service (reopening the port if it was closed)."""
        await self.set_fault(NO_FAULT)

    def set_latency(self, latency_ms: int) -> None:
        """Delay every response by ``latency_ms`` (0 turns it off), fault or not."""
        self.injector.set_latency(latency_ms)

    @property
    def mode(self) -> ServerMode:
        """How this registry answers searches (``mocks/modes.py``)."""
        return self.injector.mode

    def set_mode(self, mode: ServerMode) -> None:
        """Answer searches in ``mode`` from the next request on."""
        self.injector.set_mode(mode)

    def stats(self) -> RequestStats:
        """Requests received so far (admin requests excluded)."""
        return self.injector.stats()

    def reset_stats(self) -> None:
        """Zero the request counters."""
        self.injector.reset_stats()

    async def _open_site(self) -> None:
        if self._runner is None or self._site is not None:
            return
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._site, self.port = site, site.port

    async def _close_site(self) -> None:
        if self._runner is None or self._site is None:
            return
        await self._site.stop()
        self._site = None
        server = self._runner.server
        # Kept-alive connections would otherwise keep answering through the closed port.
        for connection in server.connections if server is not None else []:
            connection.force_close()
