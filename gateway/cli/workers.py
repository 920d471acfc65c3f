"""``summary-gateway serve --workers N``: several gateway processes on one port.

uvicorn's supervisor binds the port once and starts N worker processes that accept on it, each
with its own event loop (uvloop), HTTP parser (httptools), connections, cache client, breakers
and access-log writer. httptools and uvloop matter here: with asyncio and h11 one worker took
every keep-alive connection. Each worker builds its app from the environment
(``worker_app``), so every setting must come from ``GATEWAY_…`` variables, and every source
needs its URL (``gateway/cli/preflight.py``: the mock registries are not started once per worker).

Metrics: the parent empties the shared ``PROMETHEUS_MULTIPROC_DIR`` (a fresh temporary one when
unset) before the workers start; ``/metrics`` in any worker answers for all of them.
"""

from __future__ import annotations

import os

import uvicorn
from starlette.applications import Starlette

from gateway.http.drain import DrainingMultiprocess
from gateway.http.protocol import GatewayHttpProtocol
from gateway.ops.logs import configure_logging
from gateway.ops.metrics import MULTIPROC_ENV, prepare_multiprocess_dir
from gateway.settings import Settings


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """What every way of serving the gateway passes to uvicorn."""
    return {
        # httptools with a bound on the headers (uvicorn has none for it; the same bound is
        # h11's setting, should anyone serve with h11), draining its kept-alive connections on
        # SIGTERM instead of closing them under a request.
        "http": GatewayHttpProtocol,
        "h11_max_incomplete_event_size": settings.ops.max_header_bytes,
        "log_config": None,  # the root logger's JSON handler (gateway/ops/logs.py) serves
        # The access log would print GET query strings, which can hold an identity number:
        # application logs must never carry patient identifiers.
        "access_log": False,
        # SIGTERM: stop accepting, answer requests in flight and those still arriving on open
        # connections (gateway/http/drain.py; their access-log rows are written before they answer),
        # then the lifespan flushes and closes the access log.
        "timeout_graceful_shutdown": settings.ops.shutdown_grace_s,
    }


def worker_app() -> Starlette:
    """The app of one worker process, from the environment (uvicorn's ``factory``)."""
    from gateway.app import create_app

    settings = Settings()
    configure_logging(settings.log_level, settings.ops.log_format)
    return create_app(settings)


def run_workers(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve with ``workers`` processes until SIGTERM or SIGINT; return once every worker has
    drained (uvicorn's supervisor forwards the signal to each)."""
    prepare_multiprocess_dir(os.environ.get(MULTIPROC_ENV))
    if settings.auth.dev_issuer:
        # Made once here: workers that each found no key would each write one.
        from gateway.access.dev_issuer import DevIssuer

        DevIssuer(settings.data_dir)
    config = uvicorn.Config(
        "gateway.cli.workers:worker_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        lifespan="on",
        **uvicorn_options(settings),  # type: ignore[arg-type]
    )
    # What uvicorn.run does with workers > 1, with the supervisor that stops listening first.
    DrainingMultiprocess(config, sockets=[config.bind_socket()]).run()
